"""What a process does between fork and exec to be inside a sandbox.

Owns `Entry`, the `preexec_fn` that Sandbox.run hands to subprocess.Popen: it
writes the child's pid into every cgroup.procs of the VM, gives the child a
private mount namespace (`/` made recursively slave, so host mounts still
propagate in but nothing the child mounts leaks out) with an optional tmpfs
runtime directory, and joins the network namespace with setns(2) through libc
(os.setns is Python 3.12+). Called only by handler/sandbox/sandbox.py. Runs in
the forked child of a possibly multi-threaded parent, so it does only system
calls on values computed before the fork: no imports, no logging, no locks.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_REC = 0x4000
MS_SLAVE = 1 << 19

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
_libc.setns.argtypes = (ctypes.c_int, ctypes.c_int)
_libc.unshare.argtypes = (ctypes.c_int,)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def setns(fd: int, nstype: int) -> None:
    _check(_libc.setns(fd, nstype), "setns")


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def mount(source: bytes, target: bytes, fstype: bytes | None, flags: int, data: bytes | None) -> None:
    _check(_libc.mount(source, target, fstype, flags, data), f"mount {target.decode()}")


@dataclass(frozen=True)
class Entry:
    """The child-side steps into a sandbox; every path is bytes, prepared before the fork."""

    procs_files: tuple[bytes, ...]
    netns_path: bytes
    private_mounts: bool = True
    runtime_dir: bytes | None = None
    runtime_options: bytes = b"mode=0755"

    def __call__(self) -> None:
        pid = str(os.getpid()).encode()
        for procs in self.procs_files:
            fd = os.open(procs, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)
        if self.private_mounts:
            unshare(CLONE_NEWNS)
            mount(b"none", b"/", None, MS_REC | MS_SLAVE, None)
            if self.runtime_dir is not None:
                mount(b"tmpfs", self.runtime_dir, b"tmpfs", MS_NOSUID | MS_NODEV, self.runtime_options)
        fd = os.open(self.netns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            setns(fd, CLONE_NEWNET)
        finally:
            os.close(fd)
