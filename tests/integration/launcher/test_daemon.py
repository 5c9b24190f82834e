"""The private libvirt daemon runs unprivileged inside the VM's directory and leaves nothing behind.

Starts real `libvirtd` processes as the `virtnode` user (make install creates
it). The capabilities-cache test boots nothing: it starts a domain paused in
two daemons, one with an empty node cache and one with the cache the first
filled, and prints both start times.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from launcher import daemon as daemon_module
from launcher.daemon import PrivateDaemon
from launcher.errors import DaemonError
from launcher.virt import Hypervisor
from tests.guest.build import GuestImages
from tests.integration.launcher import domain_xml, guest_io_dir, make_vm_dir, remove_vm_dir, wait_until

REPO = Path(__file__).resolve().parents[3]
root_only = [pytest.mark.root, pytest.mark.qemu]


@pytest.fixture
def vm_dir() -> Iterator[Path]:
    path = make_vm_dir()
    yield path
    remove_vm_dir(path)


@pytest.fixture
def node_caps(tmp_path: Path) -> Path:
    return tmp_path / "qemu-capabilities"


def virtnode_ids() -> tuple[int, int]:
    entry = pwd.getpwnam("virtnode")
    return entry.pw_uid, entry.pw_gid


def leftovers(vm_dir: Path) -> list[psutil.Process]:
    """Processes whose command line or environment mentions the VM directory
    (libvirtd, QEMU, and helpers such as virtlogd that libvirt may spawn)."""
    found = []
    for process in psutil.process_iter(["cmdline", "environ"]):
        words = [*(process.info["cmdline"] or []), *(process.info["environ"] or {}).values()]
        if any(str(vm_dir) in word for word in words):
            found.append(process)
    return found


def running(pid: int) -> bool:
    """True while `pid` runs; a zombie waiting for init to reap it does not count."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def fake_libvirtd(vm_dir: Path, script: str) -> str:
    path = vm_dir / "fake-libvirtd"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return str(path)


@pytest.mark.root
@pytest.mark.qemu
def test_daemon_runs_as_virtnode_in_its_own_group_inside_the_vm_dir(vm_dir: Path) -> None:
    """libvirtd runs as virtnode, in its own process group, with XDG dirs 0700 under the VM dir."""
    daemon = PrivateDaemon(vm_dir)
    try:
        uri = daemon.start(timeout=30)
        assert uri == f"qemu+unix:///session?socket={vm_dir}/libvirt/run/libvirt/libvirt-sock"
        assert daemon.alive()
        process = psutil.Process(daemon.pid)
        uid, gid = virtnode_ids()
        assert process.uids().real == uid and process.uids().effective == uid
        assert process.gids().real == gid
        assert process.exe() == "/usr/sbin/libvirtd"
        assert process.ppid() == os.getpid()
        assert os.getpgid(daemon.pid) == daemon.pid != os.getpgid(0)
        status = Path(f"/proc/{daemon.pid}/status").read_text()
        groups = next(line for line in status.splitlines() if line.startswith("Groups:"))
        assert groups.split(":", 1)[1].split() == []  # no supplementary groups
        environment = process.environ()
        for key, sub in (("HOME", "home"), ("XDG_RUNTIME_DIR", "run"), ("XDG_CONFIG_HOME", "config"),
                         ("XDG_CACHE_HOME", "cache"), ("XDG_DATA_HOME", "data")):
            path = Path(environment[key])
            assert path == vm_dir / "libvirt" / sub
            assert path.stat().st_uid == uid and path.stat().st_mode & 0o777 == 0o700
        assert 'stdio_handler = "file"' in (vm_dir / "libvirt/config/libvirt/qemu.conf").read_text()
        assert [p.name() for p in leftovers(vm_dir)] == ["libvirtd"]  # no virtlogd
    finally:
        daemon.stop()
    assert not daemon.alive() and daemon.pid is None
    assert leftovers(vm_dir) == []


@pytest.mark.root
@pytest.mark.qemu
def test_a_daemon_that_dies_at_start_is_reported_with_its_log(vm_dir: Path) -> None:
    """A daemon that exits before serving its socket fails start() with its exit status and log tail."""
    daemon = PrivateDaemon(vm_dir, libvirtd=fake_libvirtd(vm_dir, "echo 'fake libvirtd: no way' >&2\nexit 3\n"))
    with pytest.raises(DaemonError, match=r"(?s)exited with status 3 .*fake libvirtd: no way"):
        daemon.start(timeout=10)
    assert not daemon.alive()


@pytest.mark.root
@pytest.mark.qemu
def test_a_daemon_that_never_serves_times_out_and_is_killed(vm_dir: Path) -> None:
    """start() gives up after its timeout, says so, and leaves no process."""
    daemon = PrivateDaemon(vm_dir, libvirtd=fake_libvirtd(vm_dir, "echo 'fake libvirtd: hanging'\nexec sleep 600\n"))
    started = time.monotonic()
    with pytest.raises(DaemonError, match=r"(?s)did not serve .* within 1 s.*fake libvirtd: hanging"):
        daemon.start(timeout=1)
    assert time.monotonic() - started < 10
    assert not daemon.alive()
    assert leftovers(vm_dir) == []


@pytest.mark.root
@pytest.mark.qemu
def test_a_killed_launcher_takes_its_daemon_with_it(vm_dir: Path) -> None:
    """The daemon dies with the process that started it (parent-death signal)."""
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from launcher.daemon import PrivateDaemon
            daemon = PrivateDaemon({str(vm_dir)!r})
            daemon.start(timeout=30)
            print(daemon.pid, flush=True)
            time.sleep(600)
        """)],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line.strip().isdigit(), f"the child did not start a daemon: {line!r}"
        pid = int(line)
        assert psutil.pid_exists(pid)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        wait_until(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE,
                   5, f"libvirtd {pid} to die with its parent")
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    wait_until(lambda: leftovers(vm_dir) == [], 5, "no process in the VM directory")


@pytest.mark.root
@pytest.mark.qemu
def test_the_node_capabilities_cache_spares_the_qemu_probe(
        vm_dir: Path, node_caps: Path, guest_images: GuestImages) -> None:
    """A daemon seeded from the node's capabilities cache starts its first domain without
    probing QEMU; the first daemon fills the cache, the second does not rewrite it."""
    uid, gid = virtnode_ids()
    timings = {}
    for run in ("empty node cache", "seeded node cache"):
        run_dir = vm_dir / run.split()[0]
        run_dir.mkdir(mode=0o711)
        daemon = PrivateDaemon(run_dir, caps_cache=node_caps)
        hypervisor = None
        try:
            io = guest_io_dir(run_dir, guest_images, uid, gid)
            uri = daemon.start(timeout=30)
            if run == "seeded node cache":
                seeded = list(daemon.paths.capabilities.iterdir())
                assert [p.name for p in seeded] == [p.name for p in node_caps.iterdir()]
                assert all(p.stat().st_uid == uid for p in seeded)
            hypervisor = Hypervisor.connect(uri, "caps", paths=daemon.paths)
            started = time.monotonic()
            hypervisor.define(domain_xml("caps", io, guest_images))
            hypervisor.start(paused=True)
            timings[run] = time.monotonic() - started
            assert hypervisor.state() == ("paused", "starting_up") or hypervisor.state()[0] == "paused"
            pids = [daemon.pid, hypervisor.qemu_pid()]
            assert all(pids)
            wrote = daemon.save_capabilities()
            assert wrote == (run == "empty node cache")
            assert any(p.suffix == ".xml" for p in node_caps.iterdir())
        finally:
            if hypervisor is not None:
                hypervisor.close()
            daemon.stop()  # QEMU still runs: stop() kills it too
        assert leftovers(run_dir) == []
        assert not any(running(pid) for pid in pids)
    print(f"\nfirst domain start (define + start paused): {timings['empty node cache']:.2f} s with an empty "
          f"node capabilities cache, {timings['seeded node cache']:.2f} s with a seeded one")


def test_a_missing_daemon_user_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the virtnode user the daemon refuses to start and says how to fix it."""
    monkeypatch.setattr(daemon_module, "DEFAULT_USER", "virtnode-no-such-user")
    with pytest.raises(DaemonError, match="does not exist; run 'make install' as root"):
        PrivateDaemon(tmp_path)


def test_a_daemon_never_runs_as_root(tmp_path: Path) -> None:
    """uid 0 is refused."""
    with pytest.raises(DaemonError, match="must not run as root"):
        PrivateDaemon(tmp_path, uid=0)


def test_a_vm_dir_too_deep_for_unix_sockets_is_refused(tmp_path: Path) -> None:
    """A VM directory whose sockets would pass 107 bytes fails before anything starts."""
    deep = tmp_path / ("d" * 60)
    with pytest.raises(DaemonError, match="too deep for libvirt's unix sockets"):
        PrivateDaemon(deep, uid=65534, gid=65534).start()
