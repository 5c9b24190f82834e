"""The VM controller's pure decisions: runStrategy, state change requests, backoff, printableStatus."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from controller import vm as vmc

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def make_vm(strategy: str | None = "Always", requests: list | None = None, start_failure: dict | None = None,
            **spec) -> dict:
    status = {}
    if requests:
        status["stateChangeRequests"] = requests
    if start_failure:
        status["startFailure"] = start_failure
    if strategy:
        spec["runStrategy"] = strategy
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": "vm1", "namespace": "default", "uid": "vm-uid", "generation": 3},
            "spec": {"template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"domain": {"devices": {}}}}, **spec},
            "status": status}


def make_vmi(phase: str = "Running", uid: str = "vmi-uid", ran: bool = False, conditions: list | None = None,
             deleting: bool = False) -> dict:
    status = {"phase": phase, "conditions": conditions or []}
    if ran:
        status["phaseTransitionTimestamps"] = [{"phase": "Running", "phaseTransitionTimestamp": "x"}]
    meta = {"name": "vm1", "namespace": "default", "uid": uid}
    if deleting:
        meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    return {"metadata": meta, "status": status}


@pytest.mark.parametrize(("spec", "expected"), [
    ({"runStrategy": "Manual"}, "Manual"), ({"running": True}, "Always"), ({"running": False}, "Halted"),
    ({}, "Halted")])
def test_run_strategy_and_legacy_running(spec, expected) -> None:
    """spec.running true/false means Always/Halted; runStrategy wins when set."""
    vm = make_vm(None, **spec)
    assert vmc.run_strategy(vm) == expected


@pytest.mark.parametrize(("strategy", "vmi", "action"), [
    ("Always", None, "create"),
    ("Always", make_vmi("Running"), None),
    ("Always", make_vmi("Succeeded", ran=True), "delete"),
    ("Always", make_vmi("Failed", ran=True), "delete"),
    ("Always", make_vmi("Failed", deleting=True), None),
    ("RerunOnFailure", None, "create"),
    ("RerunOnFailure", make_vmi("Failed", ran=True), "delete"),
    ("RerunOnFailure", make_vmi("Succeeded", ran=True), None),
    ("Manual", None, None),
    ("Manual", make_vmi("Succeeded"), None),
    ("Halted", None, None),
    ("Halted", make_vmi("Running"), "delete"),
    ("Halted", make_vmi("Running", deleting=True), None),
    ("Once", None, "create"),
    ("Once", make_vmi("Failed"), None),
    ("Once", make_vmi("Succeeded"), None),
])
def test_run_strategy_decisions(strategy, vmi, action) -> None:
    """Each runStrategy creates, deletes or leaves the VMI as KubeVirt's syncRunStrategy does."""
    assert vmc.decide(make_vm(strategy), vmi, NOW).action == action


@pytest.mark.parametrize("strategy", ["Always", "RerunOnFailure", "Manual"])
def test_stop_request_for_the_running_vmi_deletes_it(strategy) -> None:
    """A Stop request naming the VMI's uid stops it; one naming another uid does nothing."""
    vmi = make_vmi("Running")
    assert vmc.decide(make_vm(strategy, [{"action": "Stop", "uid": "vmi-uid"}]), vmi, NOW).action == "delete"
    assert vmc.decide(make_vm(strategy, [{"action": "Stop", "uid": "other"}]), vmi, NOW).action is None


def test_manual_start_request_creates_and_halted_start_switches_to_always() -> None:
    """Manual starts on a Start request; Halted turns the request into runStrategy Always."""
    assert vmc.decide(make_vm("Manual", [{"action": "Start"}]), None, NOW).action == "create"
    assert vmc.decide(make_vm("Halted", [{"action": "Start"}]), None, NOW).action == "set-always"


def test_restart_requests_are_trimmed_as_they_are_done() -> None:
    """[Stop uid, Start] loses Stop once that VMI is gone and Start once a new VMI runs."""
    restart = [{"action": "Stop", "uid": "old"}, {"action": "Start"}]
    assert vmc.trim_requests(restart, make_vmi("Running", uid="old")) == restart
    assert vmc.trim_requests(restart, None) == [{"action": "Start"}]
    assert vmc.trim_requests(restart, make_vmi("Scheduling", uid="new")) == []
    assert vmc.trim_requests([{"action": "Start"}], make_vmi("Failed")) == [{"action": "Start"}]


def test_crash_loop_backoff_doubles_up_to_the_cap() -> None:
    """Delay after n failed starts: base * 2**(n-1), at most cap (300 s by default)."""
    b = vmc.CrashLoopBackoff()
    assert [b.delay(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [10, 20, 40, 80, 160, 300, 300]
    assert vmc.CrashLoopBackoff(base=1, cap=5).delay(10) == 5


def test_a_vmi_that_never_ran_counts_one_start_failure() -> None:
    """A final VMI that never reached Running increments the count once per VMI uid."""
    b = vmc.CrashLoopBackoff(base=2, cap=300)
    vm = make_vm("Always")
    first = vmc.start_failure(vm, make_vmi("Failed", uid="a"), NOW, b)
    assert first["consecutiveFailCount"] == 1 and first["lastFailedVMIUID"] == "a"
    assert vmc.parse_time(first["retryAfterTimestamp"]) == NOW + timedelta(seconds=2)
    vm["status"]["startFailure"] = first
    assert vmc.start_failure(vm, make_vmi("Failed", uid="a"), NOW, b) == first
    second = vmc.start_failure(vm, make_vmi("Failed", uid="b"), NOW, b)
    assert second["consecutiveFailCount"] == 2
    assert vmc.parse_time(second["retryAfterTimestamp"]) == NOW + timedelta(seconds=4)
    vm["status"]["startFailure"] = second
    assert vmc.start_failure(vm, make_vmi("Running", uid="c"), NOW, b) is None
    assert vmc.start_failure(make_vm("Manual", start_failure=second), None, NOW, b) is None


def test_start_waits_for_the_backoff() -> None:
    """With retryAfter in the future the VMI is not created; the key is looked at again then."""
    failure = {"consecutiveFailCount": 2, "lastFailedVMIUID": "a",
               "retryAfterTimestamp": vmc.format_time(NOW + timedelta(seconds=7))}
    plan = vmc.decide(make_vm("Always", start_failure=failure), None, NOW)
    assert plan.action is None and plan.requeue_after == pytest.approx(7)
    assert vmc.decide(make_vm("Always", start_failure=failure), None, NOW + timedelta(seconds=8)).action == "create"
    assert vmc.printable_status(make_vm("Always", start_failure=failure), None) == "CrashLoopBackOff"


@pytest.mark.parametrize(("vm", "vmi", "pending", "expected"), [
    (make_vm("Halted"), None, None, "Stopped"),
    (make_vm("Always"), None, "create", "Starting"),
    (make_vm("Always"), make_vmi("Scheduling"), None, "Starting"),
    (make_vm("Always"), make_vmi("Running"), None, "Running"),
    (make_vm("Always"), make_vmi("Running", conditions=[{"type": "Paused", "status": "True"}]), None, "Paused"),
    (make_vm("Halted"), make_vmi("Running"), "delete", "Stopping"),
    (make_vm("Halted"), make_vmi("Running", deleting=True), None, "Stopping"),
    (make_vm("RerunOnFailure"), make_vmi("Succeeded", ran=True), None, "Stopped"),
    (make_vm("Always"), make_vmi("Pending", conditions=[
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]), None, "ErrorUnschedulable"),
    ({**make_vm("Always"), "metadata": {**make_vm()["metadata"], "deletionTimestamp": "t"}},
     make_vmi("Running"), None, "Terminating"),
])
def test_printable_status(vm, vmi, pending, expected) -> None:
    """printableStatus follows KubeVirt's precedence (Terminating first, Stopped last)."""
    assert vmc.printable_status(vm, vmi, pending) == expected


def test_status_mirrors_ready_and_paused_from_the_vmi() -> None:
    """ready, created and the Ready/Paused conditions come from the VMI; no VMI: VMINotExists."""
    vmi = make_vmi("Running", conditions=[{"type": "Ready", "status": "True"},
                                          {"type": "Paused", "status": "True", "reason": "PausedByUser"}])
    status = vmc.compute_status(make_vm("Always"), vmi, NOW)
    assert status["ready"] is True and status["created"] is True and status["printableStatus"] == "Paused"
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Ready"]["status"] == "True"
    assert conditions["Paused"]["reason"] == "PausedByUser"
    assert status["desiredGeneration"] == 3 and status["runStrategy"] == "Always"
    stopped = vmc.compute_status(make_vm("Halted"), None, NOW)
    assert stopped["ready"] is False and stopped["created"] is False
    assert [(c["type"], c["reason"]) for c in stopped["conditions"]] == [("Ready", "VMINotExists")]


def test_status_is_stable_when_nothing_changed() -> None:
    """Computing the status twice gives the same dict, so no write loops on our own updates."""
    vm = make_vm("Always")
    vmi = make_vmi("Running", conditions=[{"type": "Ready", "status": "True"}])
    vm["status"] = vmc.compute_status(vm, vmi, NOW)
    assert vmc.compute_status(vm, vmi, NOW + timedelta(minutes=5)) == vm["status"]


def test_vmi_from_vm_carries_template_labels_owner_and_generation() -> None:
    """The VMI is named after the VM, labelled kubevirt.io/vm, and controlled by the VM."""
    vmi = vmc.vmi_from_vm(make_vm("Always"))
    meta = vmi["metadata"]
    assert meta["name"] == "vm1" and meta["labels"] == {"app": "web", "kubevirt.io/vm": "vm1"}
    assert meta["ownerReferences"][0]["uid"] == "vm-uid" and meta["ownerReferences"][0]["controller"] is True
    assert meta["annotations"]["kubevirt.io/vm-generation"] == "3"
    again = vmc.vmi_from_vm(make_vm("Always"))
    assert vmi["spec"]["domain"]["firmware"]["uuid"] == again["spec"]["domain"]["firmware"]["uuid"]
    paused = vmc.vmi_from_vm(make_vm("Manual", [{"action": "Start", "data": {"paused": "true"}}]))
    assert paused["spec"]["startStrategy"] == "Paused"
