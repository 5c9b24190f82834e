"""The launcher process end to end: gRPC in, a real TCG guest under a private libvirt daemon out.

One launcher serves the module's tests in order (boot, console, boot log,
guest agent, pause/resume, graceful shutdown, a guest that ignores ACPI,
bad requests, terminate); two more check crash-only behaviour (daemon killed)
and cleanup after the launcher itself is killed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import psutil
import pytest

from protos.launcher.v1 import cmd_pb2, domain_pb2, notify_pb2, notify_pb2_grpc
from tests.integration.launcher.process import BOOT_TIMEOUT, LauncherProcess, make_vmi, short_dir

pytestmark = [pytest.mark.root, pytest.mark.qemu, pytest.mark.slow]



class Watcher:
    """Collects the Notify stream in a thread."""

    def __init__(self, launcher: LauncherProcess) -> None:
        self.events: list[notify_pb2.Event] = []
        self._stub = notify_pb2_grpc.NotifyStub(launcher.channel)
        self._call = self._stub.Watch(notify_pb2.WatchRequest(vmi_uid=launcher.uid))
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for event in self._call:
                self.events.append(event)
        except grpc.RpcError:
            pass

    def wait_for(self, reason: str, timeout: float = 60) -> notify_pb2.Event:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events:
                if event.reason == reason:
                    return event
            time.sleep(0.1)
        raise AssertionError(f"no {reason} event within {timeout} s; saw "
                             f"{[(e.reason, e.detail) for e in self.events]}")

    def cancel(self) -> None:
        self._call.cancel()


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    path = short_dir("vnl-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def launcher(guest_images, workdir: Path) -> Iterator[LauncherProcess]:
    proc = LauncherProcess(workdir / "vm", guest_images, workdir / "caps")
    yield proc
    proc.close()


def read_console_until(path: Path, marker: bytes | re.Pattern[bytes], timeout: float) -> bytes:
    """Reads the console until `marker` (bytes, or a pattern to search for) has arrived."""
    deadline = time.monotonic() + timeout
    seen = b""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(path))
        s.settimeout(1)
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                break
            seen += chunk
            if (marker.search(seen) if isinstance(marker, re.Pattern) else marker in seen):
                return seen
    raise AssertionError(f"{marker!r} not seen on the console within {timeout} s; got {seen[-2000:]!r}")


def log_end(launcher: LauncherProcess) -> int:
    reply = launcher.cmd.ReadBootLog(cmd_pb2.ReadBootLogRequest(vmi_uid=launcher.uid, offset=0,
                                                                limit=1), timeout=10)
    offset = reply.next_offset
    while True:
        reply = launcher.cmd.ReadBootLog(cmd_pb2.ReadBootLogRequest(
            vmi_uid=launcher.uid, offset=offset), timeout=10)
        if not reply.data:
            return offset
        offset = reply.next_offset


def wait_boot_log(launcher: LauncherProcess, marker: bytes, since: int, timeout: float) -> bytes:
    """Polls the replayed boot log from `since` until `marker` shows up."""
    deadline = time.monotonic() + timeout
    seen, offset = b"", since
    while time.monotonic() < deadline:
        reply = launcher.cmd.ReadBootLog(cmd_pb2.ReadBootLogRequest(
            vmi_uid=launcher.uid, offset=offset), timeout=10)
        seen += reply.data
        offset = reply.next_offset
        if marker in seen:
            return seen
        if not reply.data:
            time.sleep(0.5)
    raise AssertionError(f"{marker!r} not in the boot log within {timeout} s; got {seen[-2000:]!r}")


def test_handshake_names_the_vmi_and_the_accelerator(launcher: LauncherProcess) -> None:
    reply = launcher.wait_ready()
    assert reply.version == 1
    assert reply.vmi_uid == launcher.uid
    assert reply.accelerator == "tcg"
    assert reply.pid == launcher.proc.pid
    assert reply.libvirt_version.startswith("9.") and reply.qemu_version.startswith("7.")


def test_sync_boots_the_guest_and_is_idempotent(launcher: LauncherProcess) -> None:
    watcher = Watcher(launcher)
    first = launcher.sync()
    assert first.defined and first.started
    assert first.status.state == domain_pb2.DOMAIN_STATE_RUNNING
    assert first.status.qemu_pid > 0
    again = launcher.sync()
    assert not again.defined and not again.started
    assert again.status.qemu_pid == first.status.qemu_pid
    assert watcher.events[0].type == notify_pb2.EVENT_TYPE_ADDED  # the snapshot comes first
    watcher.wait_for("Started")
    watcher.cancel()


def test_console_shows_the_boot_marker(launcher: LauncherProcess) -> None:
    # the console arrives in chunks: wait for the end of the marker's line, not just its first word
    seen = read_console_until(launcher.vm_dir / "console.sock", re.compile(rb"VIRTNODE-GUEST-READY[^\n]*\n"),
                              BOOT_TIMEOUT)
    assert re.search(rb"VIRTNODE-GUEST-READY uptime=\d+\.\d+\r?\n", seen), seen[-500:]


def test_boot_log_replays_what_the_guest_printed(launcher: LauncherProcess) -> None:
    reply = launcher.cmd.ReadBootLog(cmd_pb2.ReadBootLogRequest(vmi_uid=launcher.uid), timeout=10)
    text = reply.data
    next_offset = reply.next_offset
    while len(reply.data) == 64 * 1024:  # page through it
        reply = launcher.cmd.ReadBootLog(cmd_pb2.ReadBootLogRequest(
            vmi_uid=launcher.uid, offset=next_offset), timeout=10)
        text += reply.data
        next_offset = reply.next_offset
    assert b"Linux version" in text  # the kernel's first lines were kept
    assert b"VIRTNODE-GUEST-READY" in text


def test_guest_agent_answers_guest_info(launcher: LauncherProcess) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            info = launcher.cmd.GuestInfo(cmd_pb2.GuestInfoRequest(vmi_uid=launcher.uid), timeout=30)
            break
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.UNAVAILABLE, e.details()
            assert time.monotonic() < deadline, f"agent never answered: {e.details()}"
            time.sleep(1)
    assert info.hostname
    assert info.os.id == "virtnode-guest"
    assert info.os.kernel_release.startswith("6.")
    status = launcher.cmd.GetDomain(cmd_pb2.GetDomainRequest(vmi_uid=launcher.uid), timeout=10).status
    assert status.agent_connected


def test_stats_count_cpu_time(launcher: LauncherProcess) -> None:
    stats = launcher.cmd.GetStats(cmd_pb2.GetStatsRequest(vmi_uid=launcher.uid), timeout=10)
    assert stats.cpu.cpu_time_ns > 0
    assert stats.memory.actual_kib == 256 * 1024


def test_pause_and_unpause(launcher: LauncherProcess) -> None:
    paused = launcher.cmd.Pause(cmd_pb2.PauseRequest(vmi_uid=launcher.uid), timeout=10).status
    assert paused.state == domain_pb2.DOMAIN_STATE_PAUSED and paused.paused_by_user
    # Sync must not resume a guest the user paused
    assert launcher.sync().status.state == domain_pb2.DOMAIN_STATE_PAUSED
    resumed = launcher.cmd.Unpause(cmd_pb2.UnpauseRequest(vmi_uid=launcher.uid), timeout=10).status
    assert resumed.state == domain_pb2.DOMAIN_STATE_RUNNING and not resumed.paused_by_user


def test_graceful_shutdown_within_the_grace_period(launcher: LauncherProcess) -> None:
    wait_boot_log(launcher, b"VIRTNODE-ACPI-READY", 0, BOOT_TIMEOUT)
    reply = launcher.cmd.Shutdown(cmd_pb2.ShutdownRequest(
        vmi_uid=launcher.uid, grace_period_seconds=60, wait=True), timeout=120)
    assert not reply.forced
    assert reply.status.state == domain_pb2.DOMAIN_STATE_SHUTOFF


def test_guest_that_ignores_acpi_is_destroyed_after_the_grace_period(launcher: LauncherProcess) -> None:
    # acpi=off: the guest never sees the power button
    vmi = make_vmi(launcher.uid, args="console=ttyS0,115200 panic=-1 acpi=off")
    since = log_end(launcher)
    reply = launcher.sync(vmi)
    assert reply.defined and reply.started
    wait_boot_log(launcher, b"VIRTNODE-GUEST-READY", since, BOOT_TIMEOUT)
    started = time.monotonic()
    shut = launcher.cmd.Shutdown(cmd_pb2.ShutdownRequest(
        vmi_uid=launcher.uid, grace_period_seconds=3, wait=True), timeout=60)
    assert shut.forced
    assert shut.status.state == domain_pb2.DOMAIN_STATE_SHUTOFF
    assert time.monotonic() - started >= 3


def test_bad_requests_get_clear_grpc_errors_and_define_nothing(launcher: LauncherProcess) -> None:
    before = launcher.cmd.GetDomain(cmd_pb2.GetDomainRequest(vmi_uid=launcher.uid), timeout=10).domain_xml

    with pytest.raises(grpc.RpcError) as wrong:
        launcher.cmd.Ping(cmd_pb2.PingRequest(vmi_uid="someone-else"), timeout=10)
    assert wrong.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert launcher.uid in wrong.value.details()

    vmi = make_vmi(launcher.uid)
    disk = vmi.spec.domain.devices.disks.add(name="data")
    disk.disk.bus = "ide"
    vmi.spec.volumes.add(name="data").empty_disk.capacity.value = "1Gi"
    options = launcher.options()
    options.disks["data"].path = str(launcher.kernel)
    with pytest.raises(grpc.RpcError) as bad_bus:
        launcher.sync(vmi, options)
    assert bad_bus.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "spec.domain.devices.disks[0].disk.bus" in bad_bus.value.details()

    options = launcher.options()
    options.kernel_boot.kernel = "/nonexistent/vmlinuz"
    with pytest.raises(grpc.RpcError) as missing:
        launcher.sync(make_vmi(launcher.uid), options)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert "/nonexistent/vmlinuz" in missing.value.details()

    after = launcher.cmd.GetDomain(cmd_pb2.GetDomainRequest(vmi_uid=launcher.uid), timeout=10)
    assert after.domain_xml == before  # nothing was redefined
    assert after.status.state == domain_pb2.DOMAIN_STATE_SHUTOFF  # nothing was started


def test_terminate_stops_everything_and_exits_zero(launcher: LauncherProcess) -> None:
    since = log_end(launcher)
    launcher.sync()
    wait_boot_log(launcher, b"VIRTNODE-ACPI-READY", since, BOOT_TIMEOUT)
    assert launcher.related_processes()  # libvirtd and QEMU are running now
    reply = launcher.cmd.Terminate(cmd_pb2.TerminateRequest(
        vmi_uid=launcher.uid, grace_period_seconds=60), timeout=120)
    assert not reply.forced
    assert launcher.proc.wait(30) == 0, launcher.log()
    assert launcher.related_processes() == []
    assert not launcher.socket.exists()


@pytest.fixture
def booted(guest_images) -> Iterator[LauncherProcess]:
    """A launcher of its own with its guest started, for tests that break it."""
    work = short_dir("vnx-")
    proc = LauncherProcess(work / "vm", guest_images, work / "caps")
    try:
        proc.wait_ready()
        proc.sync()
        yield proc
    finally:
        proc.close()
        shutil.rmtree(work, ignore_errors=True)


def test_losing_the_libvirt_daemon_makes_the_launcher_exit_nonzero(booted: LauncherProcess) -> None:
    proc = booted
    daemons = [p for p in proc.related_processes() if p.name() == "libvirtd"]
    assert len(daemons) == 1
    daemons[0].kill()
    assert proc.proc.wait(30) == 3, proc.log()
    assert "lost the connection to the private libvirt daemon" in proc.log()
    psutil.wait_procs(proc.related_processes(), timeout=10)
    assert proc.related_processes() == []  # it took QEMU down with it


def test_a_killed_launcher_leaves_nothing_once_cleaned_up(booted: LauncherProcess) -> None:
    from launcher.cleanup import clean_up

    proc = booted
    os.kill(proc.proc.pid, signal.SIGKILL)
    proc.proc.wait(10)
    killed = clean_up(proc.vm_dir, timeout=20)  # what the handler does for a dead launcher
    assert killed  # QEMU, daemonized by libvirt, outlived the launcher until now
    assert proc.related_processes() == []
