"""The node controller fails the VMIs of a node whose heartbeat stopped, against a real API."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from tests.integration.controller.conftest import FAST_ELECTION, GROUP, VERSION, ControllerProcess, wait_for

NS = "default"
TIMEOUT = 2.0  # heartbeats are whole seconds (RFC 3339), so a fresh one may look 1 s old


@pytest.fixture(scope="module", autouse=True)
def controller(api) -> Iterator[ControllerProcess]:
    proc = ControllerProcess(api, "nodes", [*FAST_ELECTION, "--scheduler", "off", "--node-timeout", str(TIMEOUT)])
    yield proc
    assert proc.kill(15) == 0, proc.log()[-3000:]


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def beat(nodes, name: str) -> None:
    """What the node's handler writes on every heartbeat."""
    nodes.patch_node(name, {"metadata": {"annotations": {"kubevirt.io/heartbeat": now()},
                                         "labels": {"kubevirt.io/schedulable": "true"}}})


def labels(nodes, name: str) -> dict:
    return nodes.read_node(name).metadata.labels or {}


def place_vmi(custom, name: str, node: str, phase: str) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, NS, "virtualmachineinstances", {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "metadata": {"name": name},
        "spec": {"domain": {"devices": {}, "resources": {"requests": {"memory": "128Mi"}}}}})
    custom.patch_namespaced_custom_object_status(GROUP, VERSION, NS, "virtualmachineinstances", name,
                                                 {"status": {"phase": phase, "nodeName": node}})


def vmi_status(custom, name: str) -> dict:
    return custom.get_namespaced_custom_object(GROUP, VERSION, NS, "virtualmachineinstances", name)["status"]


def test_silent_node_fails_its_vmis_and_recovers_when_it_beats_again(custom, core) -> None:
    """Heartbeats keep the node; silence past the timeout: unschedulable, VMIs Failed NodeUnresponsive."""
    nodes, _ = core
    nodes.create_node({"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": "n1", "labels": {"kubevirt.io/schedulable": "true"},
        "annotations": {"kubevirt.io/heartbeat": now()}}})
    place_vmi(custom, "on-n1", "n1", "Running")
    place_vmi(custom, "done-on-n1", "n1", "Succeeded")
    place_vmi(custom, "on-n2", "n2", "Running")

    stop = threading.Event()

    def keep_beating() -> None:
        while not stop.wait(0.3):
            beat(nodes, "n1")

    beater = threading.Thread(target=keep_beating)
    beater.start()
    try:
        time.sleep(TIMEOUT * 2)
        assert labels(nodes, "n1")["kubevirt.io/schedulable"] == "true"
        assert vmi_status(custom, "on-n1")["phase"] == "Running"
    finally:
        stop.set()
        beater.join()

    wait_for(lambda: labels(nodes, "n1")["kubevirt.io/schedulable"] == "false", timeout=TIMEOUT + 5,
             what="n1 unschedulable")
    status = wait_for(lambda: (s := vmi_status(custom, "on-n1"))["phase"] == "Failed" and s, what="VMI failed")
    assert status["reason"] == "NodeUnresponsive"
    assert vmi_status(custom, "done-on-n1")["phase"] == "Succeeded"
    assert vmi_status(custom, "on-n2")["phase"] == "Running"
    events, _ = core
    wait_for(lambda: "NodeUnresponsive" in [e.reason for e in events.list_namespaced_event(NS).items
                                            if e.involved_object.name == "on-n1"], what="event")

    nodes.patch_node("n1", {"metadata": {"annotations": {"kubevirt.io/heartbeat": now()}}})
    wait_for(lambda: labels(nodes, "n1")["kubevirt.io/schedulable"] == "true", what="n1 schedulable again")
    assert "virtnode.io/unschedulable-by" not in (nodes.read_node("n1").metadata.annotations or {})


def test_unschedulable_set_by_someone_else_stays(core) -> None:
    """A node made unschedulable by someone else is not made schedulable by its heartbeat."""
    nodes, _ = core
    nodes.create_node({"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": "cordoned", "labels": {"kubevirt.io/schedulable": "false"},
        "annotations": {"kubevirt.io/heartbeat": now()}}})
    time.sleep(1.0)
    nodes.patch_node("cordoned", {"metadata": {"annotations": {"kubevirt.io/heartbeat": now()}}})
    time.sleep(1.0)
    assert labels(nodes, "cordoned")["kubevirt.io/schedulable"] == "false"
