"""The embedded scheduler places VMIs on Nodes, or says why not, against a real API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.controller.conftest import (
    FAST_ELECTION, GROUP, VERSION, ControllerProcess, vm_manifest, wait_for)

NS = "default"


@pytest.fixture(scope="module", autouse=True)
def controller(api) -> Iterator[ControllerProcess]:
    proc = ControllerProcess(api, "sched", [*FAST_ELECTION, "--use-emulation"])
    yield proc
    assert proc.kill(15) == 0, proc.log()[-3000:]


def node(name: str, memory: str = "4Gi", labels: dict | None = None, taints: list | None = None) -> dict:
    """A ready, schedulable Node as the node's handler would register it."""
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubevirt.io/schedulable": "true", **(labels or {})}},
            "spec": {"taints": taints or []},
            "status": {"allocatable": {"cpu": "4", "memory": memory, "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def vmi_manifest(name: str, memory: str = "128Mi", **spec) -> dict:
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "metadata": {"name": name},
            "spec": {"domain": {"devices": {}, "resources": {"requests": {"memory": memory}}}, **spec}}


def get_vmi(custom, name: str) -> dict:
    return custom.get_namespaced_custom_object(GROUP, VERSION, NS, "virtualmachineinstances", name)


def reasons(core, name: str) -> list[str]:
    events, _ = core
    return [e.reason for e in events.list_namespaced_event(NS).items if e.involved_object.name == name]


def test_places_a_vmi_on_the_only_fitting_node(custom, core) -> None:
    """Of a tainted node, a node with the wrong label and a fitting one, the VMI lands on the last."""
    nodes, _ = core
    nodes.create_node(node("tainted", labels={"zone": "a"},
                           taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]))
    nodes.create_node(node("elsewhere", labels={"zone": "b"}))
    nodes.create_node(node("small", memory="1Gi", labels={"zone": "a"}))
    custom.create_namespaced_custom_object(GROUP, VERSION, NS, "virtualmachineinstances",
                                           vmi_manifest("fits", nodeSelector={"zone": "a"}))
    vmi = wait_for(lambda: (v := get_vmi(custom, "fits")).get("status", {}).get("nodeName") and v,
                   what="fits scheduled")
    assert vmi["status"]["nodeName"] == "small"
    assert vmi["status"]["phase"] == "Scheduled"
    wait_for(lambda: "Scheduled" in reasons(core, "fits"), what="Scheduled event")
    # the handler of that node finds its VMIs by this label
    wait_for(lambda: (get_vmi(custom, "fits")["metadata"].get("labels") or {}).get(
        "kubevirt.io/nodeName") == "small", what="kubevirt.io/nodeName label")


def test_unschedulable_vmi_is_reported_then_placed_on_a_new_node(custom, core) -> None:
    """Nothing fits: PodScheduled=False, VM ErrorUnschedulable, FailedScheduling; a new node takes it."""
    big = vm_manifest("big")
    big["spec"]["template"]["spec"]["domain"]["resources"]["requests"]["memory"] = "2Gi"
    big["spec"]["template"]["spec"]["nodeSelector"] = {"zone": "a"}
    custom.create_namespaced_custom_object(GROUP, VERSION, NS, "virtualmachines", big)

    def unschedulable():
        vmi = get_vmi(custom, "big")
        cond = [c for c in vmi.get("status", {}).get("conditions") or [] if c["type"] == "PodScheduled"]
        return cond and cond[0]["status"] == "False" and vmi

    vmi = wait_for(unschedulable, what="big unschedulable")
    cond = next(c for c in vmi["status"]["conditions"] if c["type"] == "PodScheduled")
    assert cond["reason"] == "Unschedulable"
    assert cond["message"] == ("0/3 nodes are available: 1 Insufficient memory, 1 node(s) didn't match "
                               "Pod's node affinity/selector, 1 node(s) had untolerated taint {dedicated: db}.")
    assert vmi["status"]["phase"] == "Pending" and not vmi["status"].get("nodeName")
    wait_for(lambda: custom.get_namespaced_custom_object(GROUP, VERSION, NS, "virtualmachines", "big")
             .get("status", {}).get("printableStatus") == "ErrorUnschedulable", what="ErrorUnschedulable")
    wait_for(lambda: "FailedScheduling" in reasons(core, "big"), what="FailedScheduling event")

    nodes, _ = core
    nodes.create_node(node("roomy", memory="16Gi", labels={"zone": "a"}))
    vmi = wait_for(lambda: (v := get_vmi(custom, "big")).get("status", {}).get("nodeName") and v,
                   what="big scheduled on the new node")
    assert vmi["status"]["nodeName"] == "roomy"
    assert not any(c["type"] == "PodScheduled" for c in vmi["status"].get("conditions") or [])
    wait_for(lambda: custom.get_namespaced_custom_object(GROUP, VERSION, NS, "virtualmachines", "big")
             .get("status", {}).get("printableStatus") == "Starting", what="Starting")
