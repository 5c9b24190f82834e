"""The handler turns a VMI assigned to its node into a running guest, survives its own restart,
and leaves nothing behind when the VMI is deleted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from handler.sandbox import netns_name
from tests.integration.handler.env import HandlerNode, gone
from tests.integration.waiting import wait_for

pytestmark = [pytest.mark.root, pytest.mark.netns, pytest.mark.qemu, pytest.mark.slow]


def test_vmi_runs_survives_a_handler_restart_and_is_cleaned_up(guest_images) -> None:
    node = HandlerNode(guest_images)
    try:
        node.start_handler()
        uid = node.create_vmi("tiny")
        running = node.wait_phase("tiny", "Running")
        ready = {c["type"]: c["status"] for c in running["status"]["conditions"]}
        assert ready["Ready"] == "True"
        qemu_pid = node.booted(uid)
        assert qemu_pid > 0
        record = node.record(uid)
        # the launcher runs in the VMI's own network namespace
        assert os.stat(f"/proc/{record.pid}/ns/net").st_ino == os.stat(f"/run/netns/{netns_name(uid)}").st_ino

        # stop the handler's loops (not its launchers), start a new handler: it adopts
        node.stop_handler()
        handler = node.start_handler()
        launcher = node.launcher(uid)
        assert launcher.domain().status.qemu_pid == qemu_pid  # the same guest
        launcher.close()
        assert node.phase("tiny") == "Running"

        node.delete_vmi("tiny")
        wait_for(lambda: gone(record.directory), 90, "every process and the directory of the VM gone")
        wait_for(lambda: not handler.registry.records(), 30, "the launcher record removed")
        assert not (node.config.state_dir / "sandboxes" / uid).exists()
        assert not Path(f"/run/netns/{netns_name(uid)}").exists()
        reasons = [e[1] for e in node.events("tiny")]
        assert {"Created", "Started", "ShuttingDown"} <= set(reasons), reasons
    finally:
        node.close()
