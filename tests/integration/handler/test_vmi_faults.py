"""What the handler does when the parts under it fail: a launcher that is killed, one that stops
answering (Unknown, then Failed after the grace period, never at once), a QEMU that is killed."""

from __future__ import annotations

import os
import signal

import pytest

from tests.integration.handler.env import HandlerNode, alive, gone
from tests.integration.waiting import wait_for

pytestmark = [pytest.mark.root, pytest.mark.netns, pytest.mark.qemu, pytest.mark.slow]


def ready(vmi: dict) -> dict:
    return next(c for c in vmi["status"]["conditions"] if c["type"] == "Ready")


def test_silent_launcher_makes_the_vmi_unknown_and_back_then_a_killed_qemu_fails_it(guest_images) -> None:
    node = HandlerNode(guest_images, unreachable_after=3, unreachable_grace=600, ping_period=1)
    try:
        node.start_handler()
        uid = node.create_vmi("quiet")
        node.wait_phase("quiet", "Running")
        qemu = node.booted(uid)
        record = node.record(uid)

        os.kill(record.pid, signal.SIGSTOP)  # alive, but answers nothing
        unknown = node.wait_phase("quiet", "Unknown", 60)
        assert ready(unknown)["reason"] == "LauncherUnreachable"
        assert "has not answered" in ready(unknown)["message"]
        assert alive(qemu), "the guest must be left alone while its launcher is silent"
        assert ("Warning", "LauncherUnreachable") in [e[:2] for e in node.events("quiet")]

        os.kill(record.pid, signal.SIGCONT)
        running = node.wait_phase("quiet", "Running", 60)
        assert ready(running)["status"] == "True"
        client = node.launcher(uid)
        assert client.domain().status.qemu_pid == qemu  # the same guest, never restarted
        client.close()

        os.kill(qemu, signal.SIGKILL)
        failed = node.wait_phase("quiet", "Failed", 60)
        assert failed["status"]["reason"]
        wait_for(lambda: gone(record.directory), 60, "the VMI's processes and directory gone")
        reasons = [e[:2] for e in node.events("quiet")]
        assert ("Normal", "Started") in reasons and ("Warning", "Stopped") in reasons
        phases = [t["phase"] for t in failed["status"]["phaseTransitionTimestamps"]]
        assert phases[-4:] == ["Running", "Unknown", "Running", "Failed"]
    finally:
        node.close()


def test_killed_launcher_fails_its_vmi_and_a_silent_one_fails_only_after_the_grace(guest_images) -> None:
    node = HandlerNode(guest_images, unreachable_after=2, unreachable_grace=12, ping_period=1)
    try:
        node.start_handler()
        killed, silent = node.create_vmi("killed"), node.create_vmi("silent")
        for name in ("killed", "silent"):
            node.wait_phase(name, "Running")
        records = {uid: node.record(uid) for uid in (killed, silent)}

        os.kill(records[killed].pid, signal.SIGKILL)
        failed = node.wait_phase("killed", "Failed", 30)
        assert failed["status"]["reason"] == "LauncherExited"
        assert f"pid {records[killed].pid}" in ready(failed)["message"]
        wait_for(lambda: gone(records[killed].directory), 60, "the killed launcher's QEMU and files gone")

        os.kill(records[silent].pid, signal.SIGSTOP)
        node.wait_phase("silent", "Unknown", 30)
        failed = node.wait_phase("silent", "Failed", 60)
        assert failed["status"]["reason"] == "LauncherUnresponsive"
        assert "grace period 12 s" in ready(failed)["message"]
        wait_for(lambda: gone(records[silent].directory), 60, "the silent launcher and its guest killed")
        # the record goes last, after the sandbox
        wait_for(lambda: not node.handler.registry.records(), 30, "no launcher record left")
    finally:
        node.close()


def test_a_launcher_someone_else_started_is_adopted_through_its_socket(guest_images) -> None:
    """Kubernetes mode: kubelet starts the launcher (here: the test does), it serves
    <socket dir>/<vmi uid>.sock; the handler adopts it instead of starting its own, runs the
    VMI on it, and on delete stops it without touching processes it does not own."""
    import subprocess
    import sys

    from tests.integration.launcher.process import REPO

    node = HandlerNode(guest_images)
    launcher = None
    try:
        socket_dir = node.work / "sockets"
        socket_dir.mkdir()
        node.config.socket_dir = socket_dir
        node_dir = node.work / "pod"
        node_dir.mkdir()
        os.chmod(node_dir, 0o755)
        uid = node.create_vmi("adopted")
        launcher = subprocess.Popen(
            [sys.executable, "-m", "launcher", "--vmi-uid", uid, "--namespace", "default", "--name",
             "adopted", "--dir", str(node_dir), "--socket", str(socket_dir / f"{uid}.sock"),
             "--accelerator", "emulation", "--caps-cache", str(node.work / "caps")],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for(lambda: (socket_dir / f"{uid}.sock").exists(), 60, "the launcher's socket")
        node.start_handler()
        node.wait_phase("adopted", "Running", 120)
        record = node.record(uid)
        assert record.pid == launcher.pid and record.directory == ""
        assert not (node.config.state_dir / "sandboxes" / uid).exists()   # no launcher of ours
        node.booted(uid)

        node.delete_vmi("adopted")
        assert launcher.wait(90) == 0   # Terminate: the guest shut down, the launcher exited
        wait_for(lambda: not node.handler.registry.records(), 30, "the record removed")
    finally:
        if launcher is not None and launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
        node.close()
