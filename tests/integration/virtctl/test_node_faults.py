"""The embedded node end to end through virtctl: the lifecycle verbs on a real guest, and what
survives when a part of the node is killed (launcher, QEMU, handler, API)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.integration.handler.env import alive
from tests.integration.virtctl.embedded import EmbeddedNode
from tests.integration.waiting import wait_for

pytestmark = [pytest.mark.root, pytest.mark.netns, pytest.mark.qemu, pytest.mark.slow]


@pytest.fixture(scope="module")
def node(guest_images):
    n = EmbeddedNode(guest_images)
    yield n
    n.close()


def paused(node: EmbeddedNode, name: str) -> bool:
    conditions = (node.get("vmi", name).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Paused" and c["status"] == "True" for c in conditions)


def test_pause_unpause_restart_stop_start_delete(node: EmbeddedNode) -> None:
    node.apply_tiny("life")
    uid = node.running("life")
    qemu = node.booted(uid)

    node.ok("pause", "vmi", "life")
    wait_for(lambda: paused(node, "life"), 60, "the Paused condition")
    node.ok("unpause", "vmi", "life")
    wait_for(lambda: not paused(node, "life"), 60, "the Paused condition gone")
    _, client = node.launcher(uid)
    assert client.domain().status.qemu_pid == qemu  # pause and unpause keep the guest
    client.close()

    node.ok("restart", "life")
    uid = node.running("life", other_than=uid)
    node.booted(uid)

    node.ok("stop", "life")
    wait_for(lambda: not node.get("vmi", "life"), 120, "the VMI gone after stop")
    assert node.get("vm", "life")["spec"]["runStrategy"] == "Halted"
    node.ok("start", "life")
    uid = node.running("life")

    record, client = node.launcher(uid)
    client.close()
    node.ok("delete", "vm", "life")
    wait_for(lambda: not node.get("vmi", "life") and not node.get("vm", "life"), 120, "VM and VMI deleted")
    wait_for(lambda: not os.path.exists(record["directory"]), 60, "the launcher directory removed")


def test_killed_launcher_and_killed_qemu_fail_the_vmi_and_always_restarts_it(node: EmbeddedNode) -> None:
    node.apply_tiny("crashy")
    first = node.running("crashy")
    record, client = node.launcher(first)
    client.close()

    os.kill(record["pid"], signal.SIGKILL)
    second = node.running("crashy", other_than=first)
    events = node.ok("describe", "vmi", "crashy")  # the new VMI; the old one's story is in its events
    assert "crashy" in events
    stopped = [e for e in node.ok("get", "events", "-o", "yaml").split("\n- ") if first in e]
    assert any("LauncherExited" in e for e in stopped), stopped

    qemu = node.booted(second)
    os.kill(qemu, signal.SIGKILL)
    node.running("crashy", other_than=second)
    node.ok("delete", "vm", "crashy")
    wait_for(lambda: not node.get("vmi", "crashy"), 120, "the VMI deleted")


def test_five_guests_survive_a_killed_handler(node: EmbeddedNode) -> None:
    names = [f"five-{i}" for i in range(5)]
    for name in names:
        node.apply_tiny(name)
    uids = {name: node.running(name, timeout=300) for name in names}
    qemus = {name: node.booted(uids[name], timeout=300) for name in names}

    handler = node.component("handler")
    handler.kill()
    handler.wait(30)
    restarted = wait_for(lambda: (p := node.component("handler")).pid != handler.pid and p, 60,
                         "the supervisor restarting the handler")
    assert restarted.is_running()
    for name in names:
        assert node.vmi_state(name)[:2] == (uids[name], "Running"), name
        _, client = node.launcher(uids[name])
        assert client.domain().status.qemu_pid == qemus[name], name   # the same QEMU process
        client.close()
    # the new handler is in control: it acts on a request for one of them
    node.ok("pause", "vmi", names[0])
    wait_for(lambda: paused(node, names[0]), 60, "the new handler pausing a guest")
    node.ok("unpause", "vmi", names[0])
    wait_for(lambda: not paused(node, names[0]), 60, "the new handler resuming it")
    for name in names:
        assert node.vmi_state(name)[:2] == (uids[name], "Running"), name
    for name in names[1:]:
        node.ok("delete", "vm", name)
    wait_for(lambda: all(not node.get("vmi", n) for n in names[1:]), 180, "four VMIs deleted")


def test_guests_outlive_the_api_and_their_status_catches_up(node: EmbeddedNode) -> None:
    survivor, victim = "five-0", "lost"
    node.apply_tiny(victim)
    survivor_uid = node.running(survivor)
    victim_uid = node.running(victim)
    survivor_qemu = node.booted(survivor_uid)
    victim_qemu = node.booted(victim_uid)

    supervisor = node.supervisor()
    supervisor.suspend()   # so the API stays down until we say so
    try:
        api = node.component("apiserver")
        api.kill()
        wait_for(lambda: not alive(api.pid), 30, "the API process dead (a zombie: nobody reaps it now)")
        assert node.virtctl("get", "vmis", timeout=60).returncode != 0   # the API is really down
        os.kill(victim_qemu, signal.SIGKILL)   # a guest dies while nobody can write its status
        time.sleep(5)   # the handler sees it and cannot report it: it must keep trying
        _, client = node.launcher(survivor_uid)
        assert client.domain().status.qemu_pid == survivor_qemu   # the other guest is untouched
        client.close()
    finally:
        supervisor.resume()
    node.running(victim, other_than=victim_uid)   # Failed reached the API, then Always restarted it
    assert node.vmi_state(survivor)[:2] == (survivor_uid, "Running")
    for name in (survivor, victim):
        node.ok("delete", "vm", name)
    wait_for(lambda: not node.get("vmi", survivor) and not node.get("vmi", victim), 180, "VMIs deleted")
