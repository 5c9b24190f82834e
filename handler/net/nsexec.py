"""Programs and sysctls inside a named network namespace.

Owns the two ways the pod network acts inside a VMI's namespace without
netlink: `run()` starts a program (nft) whose child joins the namespace
with setns(2) before exec, and `write_sysctl()` writes a per-namespace sysctl
(net.ipv4.ip_forward) from a short-lived thread that joins the namespace and
ends (setns changes only the calling thread; no other thread of the handler is
ever moved). Called by handler/net/nft.py and handler/net/pod.py. The forked
child does only system calls on values prepared before the fork.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from handler.net import namespaces
from handler.net.errors import NamespaceError

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_libc.setns.argtypes = (ctypes.c_int, ctypes.c_int)


def _setns(path: bytes) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns: {os.strerror(err)}")
    finally:
        os.close(fd)


@dataclass(frozen=True)
class _Enter:
    """preexec_fn: join the namespace at `path` (bytes, computed before the fork)."""

    path: bytes

    def __call__(self) -> None:
        _setns(self.path)


def run(netns: str | None, argv: Sequence[str], stdin: str = "",
        timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    """Run `argv` in `netns` (None: the host namespace) and return what it did; the caller
    decides what a non-zero exit means. OSError when the program cannot be started."""
    enter = None
    if netns is not None:
        namespaces.require(netns)
        enter = _Enter(os.fsencode(namespaces.path_of(netns)))
    return subprocess.run(list(argv), input=stdin, capture_output=True, text=True, timeout=timeout,
                          preexec_fn=enter, close_fds=True)


def _sysctl_path(key: str) -> Path:
    return Path("/proc/sys") / key.replace(".", "/")


def write_sysctl(netns: str | None, key: str, value: str) -> None:
    """Write `value` to sysctl `key` (net.ipv4.ip_forward) as seen in `netns` (None: the host)."""
    path = _sysctl_path(key)
    if netns is None:
        _write(path, key, value, "the host namespace")
        return
    namespaces.require(netns)
    failure: list[Exception] = []

    def inside() -> None:
        try:
            _setns(os.fsencode(namespaces.path_of(netns)))
            _write(path, key, value, f"network namespace {netns}")
        except Exception as exc:  # handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=inside, name=f"sysctl-{netns}", daemon=True)
    thread.start()
    thread.join()
    if failure:
        if isinstance(failure[0], NamespaceError):
            raise failure[0]
        raise NamespaceError(f"Failed to enter network namespace {netns} to set {key}: "
                             f"{failure[0]}") from failure[0]


def read_sysctl(netns: str | None, key: str) -> str:
    """The value of sysctl `key` as seen in `netns` (None: the host)."""
    path = _sysctl_path(key)
    if netns is None:
        return path.read_text().strip()
    namespaces.require(netns)
    result: list[str] = []
    failure: list[Exception] = []

    def inside() -> None:
        try:
            _setns(os.fsencode(namespaces.path_of(netns)))
            result.append(path.read_text().strip())
        except Exception as exc:
            failure.append(exc)

    thread = threading.Thread(target=inside, name=f"sysctl-{netns}", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise NamespaceError(f"Failed to read {key} in network namespace {netns}: {failure[0]}") \
            from failure[0]
    return result[0]


def _write(path: Path, key: str, value: str, where: str) -> None:
    try:
        path.write_text(value)
    except OSError as exc:
        raise NamespaceError(f"Failed to set {key} = {value} in {where}: {exc.strerror}") from exc
