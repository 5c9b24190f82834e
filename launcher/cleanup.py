"""Cleaning up after a launcher that died: every process of one VM directory.

Owns finding and killing what a dead launcher leaves behind. libvirt
daemonizes QEMU, so a launcher killed outright (SIGKILL, OOM) takes its
private libvirt daemon with it (parent-death signal) but not the guest; the
handler calls clean_up() for a launcher it finds dead, before it removes the
VM's directory. A process belongs to the VM when its command line names a
path inside the VM's directory (QEMU's sockets, pid file and logs live there)
or when its XDG_RUNTIME_DIR is inside it (the private libvirt daemon).
In embedded mode the VM's cgroup is a second net under this one.
"""

from __future__ import annotations

import logging
from pathlib import Path

import psutil

log = logging.getLogger(__name__)


def processes_of(vm_dir: Path | str) -> list[psutil.Process]:
    """Every live process that belongs to the VM whose directory is `vm_dir`."""
    if not str(vm_dir) or not Path(vm_dir).is_absolute():
        raise ValueError(f"A VM directory must be an absolute path, not {str(vm_dir)!r}")
    root = str(Path(vm_dir).resolve())
    inside = root + "/"
    found = []
    for process in psutil.process_iter(["cmdline", "environ"]):
        try:
            cmdline = process.info["cmdline"] or []
            environ = process.info["environ"] or {}
        except (psutil.Error, KeyError):
            continue
        if any(inside in arg for arg in cmdline) or \
                environ.get("XDG_RUNTIME_DIR", "").startswith(inside):
            found.append(process)
    return found


def clean_up(vm_dir: Path | str, timeout: float = 10.0) -> list[int]:
    """Kills (SIGKILL) every process of the VM and waits for them; returns their pids.

    Raises TimeoutError naming the pids that outlived `timeout`.
    """
    victims = processes_of(vm_dir)
    for process in victims:
        try:
            log.warning("killing pid %d (%s) left behind by the launcher of %s",
                        process.pid, process.name(), vm_dir)
            process.kill()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(victims, timeout=timeout)
    if alive:
        raise TimeoutError(f"Processes of {vm_dir} outlived SIGKILL for {timeout:g} s: "
                           + ", ".join(str(p.pid) for p in alive))
    return [p.pid for p in victims]
