"""The per-VMI sandbox on the real kernel: netns, cgroups (v1 or v2, whichever the host has), processes.

No QEMU. Each test makes its own sandbox under tmp_path with a fresh uid, and
destroys it in teardown whatever happened.
"""

from __future__ import annotations

import os
import pwd
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pyroute2 import NetNS, netns

from handler.sandbox import Limits, Sandbox
from handler.sandbox import devices
from handler.sandbox.errors import SandboxNotFoundError, SandboxRunError

pytestmark = [pytest.mark.root, pytest.mark.netns]

GUEST = 128 << 20
OVERHEAD = 64 << 20
IFF_UP = 0x1


def wait_for(predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
    """Poll `predicate` every 10 ms until true or `timeout` seconds passed."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def is_gone(pid: int) -> bool:
    """True when `pid` no longer runs (no /proc entry, or a zombie waiting for its reaper)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return text.rsplit(")", 1)[1].split()[0] in ("Z", "X")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    box = Sandbox(f"test-{uuid.uuid4()}", tmp_path / "vms")
    box.create(Limits.for_guest(GUEST, OVERHEAD, cpu_shares=512, cpu_quota_us=50_000))
    yield box
    box.destroy()


def test_create_makes_directory_netns_and_cgroup(sandbox: Sandbox) -> None:
    """create() leaves a 0711 root directory, a netns with lo up and a cgroup holding guest + overhead."""
    info = os.stat(sandbox.dir)
    assert stat.S_IMODE(info.st_mode) == 0o711 and (info.st_uid, info.st_gid) == (0, 0)
    assert sandbox.netns in netns.listnetns()
    with NetNS(sandbox.netns) as ns:
        (lo,) = ns.get_links(ns.link_lookup(ifname="lo")[0])
        assert lo["flags"] & IFF_UP
    assert all(d.is_dir() for d in sandbox.cgroup.dirs)
    assert sandbox.cgroup.memory_limit() == GUEST + OVERHEAD
    assert sandbox.exists()


def test_create_twice_is_fine(sandbox: Sandbox) -> None:
    """A second create() keeps what exists and rewrites the limits."""
    sandbox.create(Limits.for_guest(GUEST * 2, OVERHEAD))
    assert sandbox.cgroup.memory_limit() == 2 * GUEST + OVERHEAD


def test_run_puts_the_process_in_cgroup_netns_and_own_mounts(sandbox: Sandbox, tmp_path: Path) -> None:
    """run() starts the process inside the cgroup and the netns, with a private tmpfs runtime dir."""
    runtime = sandbox.dir / "run"
    child = sandbox.run(["sleep", "60"], runtime_dir=runtime)
    assert wait_for(lambda: child.pid in sandbox.processes())
    assert os.stat(f"/proc/{child.pid}/ns/net").st_ino == os.stat(sandbox.netns_path).st_ino
    assert os.stat(f"/proc/{child.pid}/ns/mnt").st_ino != os.stat("/proc/self/ns/mnt").st_ino
    assert os.getsid(child.pid) == child.pid
    assert f"{sandbox.vmi_uid}" in Path(f"/proc/{child.pid}/cgroup").read_text()
    theirs = Path(f"/proc/{child.pid}/mountinfo").read_text()
    assert f" {runtime} " in theirs and " - tmpfs " in theirs
    assert f" {runtime} " not in Path("/proc/self/mountinfo").read_text()


def test_destroy_kills_children_and_grandchildren(sandbox: Sandbox) -> None:
    """destroy() kills every process in the cgroup, including ones the launcher forked."""
    child = sandbox.run(["sh", "-c", "sleep 60 & sleep 60 & (sleep 60 &) ; wait"])
    assert wait_for(lambda: len(sandbox.processes()) >= 4)
    pids = sandbox.processes()
    assert child.pid in pids
    sandbox.destroy()
    assert wait_for(lambda: all(is_gone(pid) for pid in pids))
    assert child.poll() is not None


def test_destroy_twice_leaves_nothing(sandbox: Sandbox) -> None:
    """After destroy() (twice) no netns, cgroup directory or sandbox directory remains."""
    sandbox.run(["sleep", "60"])
    sandbox.destroy()
    sandbox.destroy()
    assert sandbox.netns not in netns.listnetns()
    assert not any(d.exists() for d in sandbox.cgroup.dirs)
    assert not sandbox.dir.exists()
    assert not sandbox.exists()


def test_adopt_finds_a_sandbox_left_by_a_previous_handler(sandbox: Sandbox) -> None:
    """A sandbox outlives its Python object; a new Sandbox for the same uid adopts it with its processes."""
    child = sandbox.run(["sleep", "60"])
    uid, root = sandbox.vmi_uid, sandbox.dir.parent
    assert wait_for(lambda: child.pid in sandbox.processes())
    adopted = Sandbox(uid, root).adopt()
    assert child.pid in adopted.processes()
    assert adopted.netns_path == sandbox.netns_path
    adopted.destroy()
    assert wait_for(lambda: is_gone(child.pid))
    child.wait(timeout=1)


def test_adopt_without_sandbox_raises(tmp_path: Path) -> None:
    """adopt() of a uid that has no sandbox raises SandboxNotFoundError naming what is missing."""
    with pytest.raises(SandboxNotFoundError, match="network namespace"):
        Sandbox(f"test-{uuid.uuid4()}", tmp_path).adopt()


def _can_open_as(user: pwd.struct_passwd, path: Path) -> bool:
    """Fork, drop to `user` (no supplementary groups) and try to open `path` read-write."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            os.close(os.open(path, os.O_RDWR))
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def test_grant_devices_lets_only_the_launcher_user_open_tun() -> None:
    """After grant_devices, `virtnode` opens /dev/net/tun; owner, group and other users are unchanged."""
    user = pwd.getpwnam("virtnode")
    nobody = pwd.getpwnam("nobody")
    tun = Path("/dev/net/tun")
    was_granted = devices.has_grant(user.pw_uid, tun)
    before = os.stat(tun)
    try:
        assert tun in devices.grant_devices(user.pw_uid)
        assert devices.grant_devices(user.pw_uid)  # twice is fine
        assert _can_open_as(user, tun)
        assert not _can_open_as(nobody, tun)
        after = os.stat(tun)
        assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
        assert stat.S_IMODE(after.st_mode) & 0o007 == 0
    finally:
        if not was_granted:
            devices.revoke_devices(user.pw_uid)
    if not was_granted:
        assert not _can_open_as(user, tun)
        assert stat.S_IMODE(os.stat(tun).st_mode) == stat.S_IMODE(before.st_mode)


def test_run_before_create_raises(tmp_path: Path) -> None:
    """run() on a sandbox that was never created raises SandboxRunError instead of running on the host."""
    with pytest.raises(SandboxRunError, match="not created"):
        Sandbox(f"test-{uuid.uuid4()}", tmp_path).run(["true"])


def test_run_failure_in_the_child_is_a_sandbox_error(sandbox: Sandbox) -> None:
    """A child that cannot join the sandbox (one cgroup directory vanished) never execs: SandboxRunError."""
    sandbox.cgroup.dirs[-1].rmdir()
    marker = sandbox.dir / "ran"
    with pytest.raises(SandboxRunError, match="preexec"):
        sandbox.run(["touch", str(marker)])
    assert not marker.exists()
