"""Integration tests of the launcher's libvirt layer, and what they share.

The helpers make a VM directory that the unprivileged daemon user can reach
(pytest's own tmp root is private to root), render the test guest's domain XML
(TCG, direct kernel boot, serial console to a file, a guest-agent channel) and
wait, bounded, for conditions.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tests.guest.build import GuestImages

T = TypeVar("T")


def make_vm_dir() -> Path:
    """A fresh, short VM directory under /tmp that other users may traverse (0711)."""
    path = Path(tempfile.mkdtemp(prefix="vn-", dir="/tmp"))
    os.chmod(path, 0o711)
    return path


def remove_vm_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def guest_io_dir(vm_dir: Path, images: GuestImages, uid: int, gid: int) -> Path:
    """`<vm_dir>/io`, owned by the daemon user: QEMU writes the serial log and binds
    the agent socket there; the kernel and initrd are copied in so QEMU can read them."""
    io = vm_dir / "io"
    io.mkdir(mode=0o700, exist_ok=True)
    for source in (images.kernel, images.initrd):
        shutil.copyfile(source, io / source.name)
    for path in (io, *io.iterdir()):
        os.chown(path, uid, gid)
    return io


def domain_xml(name: str, io: Path, images: GuestImages, memory_mib: int = 256) -> str:
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>{memory_mib}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{io / images.kernel.name}</kernel>
    <initrd>{io / images.initrd.name}</initrd>
    <cmdline>{images.cmdline}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='file'><source path='{io / "serial.log"}'/><target port='0'/></serial>
    <channel type='unix'>
      <source mode='bind' path='{io / "agent.sock"}'/>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <memballoon model='virtio'><stats period='2'/></memballoon>
  </devices>
</domain>
"""


def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """The first truthy value of `condition()` within `timeout` seconds; AssertionError naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def wait_for_text(path: Path, marker: str, timeout: float) -> str:
    """The first line of `path` holding `marker`, within `timeout` seconds."""

    def find() -> str | None:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return None
        return next((line for line in text.splitlines() if marker in line), None)

    try:
        return wait_until(find, timeout, f"{marker!r} in {path}")
    except AssertionError as exc:
        tail = path.read_text(errors="replace")[-2000:] if path.exists() else "(no file)"
        raise AssertionError(f"{exc}; the file ends:\n{tail}") from None
