"""The accelerator a guest runs with: KVM when this host's KVM works, else TCG emulation.

Owns the node configuration's accelerator modes (`auto`, `kvm`, `emulation`,
like KubeVirt's `useEmulation`) and the probe of /dev/kvm. The launcher calls
`choose()` once before it converts the VMI, and writes the answer into the
domain (`<domain type='kvm'>` or `type='qemu'`). Never imports libvirt; the
probe only opens /dev/kvm, asks two ioctls and closes what it opened.

A working probe does not promise that guests run: nested KVM on some hosts
passes it and still stops guests with "KVM internal error" (launcher/virt.py
reports that, with the hint to use emulation).
"""

from __future__ import annotations

import fcntl
import logging
import os
from typing import Literal

from launcher.errors import InvalidRequestError, MissingResourceError

log = logging.getLogger(__name__)

Mode = Literal["auto", "kvm", "emulation"]
Accelerator = Literal["kvm", "tcg"]
MODES = ("auto", "kvm", "emulation")

DEV_KVM = "/dev/kvm"
KVM_API_VERSION = 12  # the only stable KVM API version there has ever been
KVM_GET_API_VERSION = 0xAE00  # _IO(KVMIO, 0x00)
KVM_CREATE_VM = 0xAE01  # _IO(KVMIO, 0x01)


def choose(mode: str, dev_kvm: str = DEV_KVM) -> Accelerator:
    """"kvm" or "tcg" for the configured `mode`; MissingResourceError when
    `mode` is "kvm" and KVM does not work here."""
    if mode not in MODES:
        raise InvalidRequestError(f"Unknown accelerator mode {mode!r}; expected one of {', '.join(MODES)}")
    if mode == "emulation":
        return "tcg"
    why_not = probe(dev_kvm)
    if why_not is None:
        return "kvm"
    if mode == "kvm":
        raise MissingResourceError(
            f"The accelerator mode is 'kvm' but KVM does not work on this host: {why_not}; "
            "use mode 'auto' or 'emulation' (KubeVirt's useEmulation) to run guests with TCG")
    log.warning("KVM is not usable (%s); guests run with TCG emulation, which is much slower", why_not)
    return "tcg"


def probe(dev_kvm: str = DEV_KVM) -> str | None:
    """None when `dev_kvm` opens read-write, speaks KVM API 12 and creates a VM;
    otherwise the reason, as a phrase."""
    try:
        fd = os.open(dev_kvm, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        return f"cannot open {dev_kvm} read-write: {exc.strerror}"
    try:
        try:
            # SAFETY: both ioctls take an integer argument (0) and no pointer.
            version = fcntl.ioctl(fd, KVM_GET_API_VERSION, 0)
        except OSError as exc:
            return f"{dev_kvm} does not answer KVM_GET_API_VERSION: {exc.strerror}"
        if version != KVM_API_VERSION:
            return f"{dev_kvm} speaks KVM API {version}, not {KVM_API_VERSION}"
        try:
            vm_fd = fcntl.ioctl(fd, KVM_CREATE_VM, 0)
        except OSError as exc:
            return f"KVM_CREATE_VM on {dev_kvm} fails: {exc.strerror}"
        os.close(vm_fd)
        return None
    finally:
        os.close(fd)
