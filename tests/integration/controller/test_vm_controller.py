"""The VM controller process turns VirtualMachines into VMIs per runStrategy, against a real API."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from kubernetes.client.rest import ApiException

from tests.integration.controller.conftest import (
    FAST_ELECTION, GROUP, VERSION, ControllerProcess, vm_manifest, wait_for)

NS = "default"


@pytest.fixture(scope="module", autouse=True)
def controller(api) -> Iterator[ControllerProcess]:
    proc = ControllerProcess(api, "solo", [*FAST_ELECTION, "--crashloop-base", "1", "--crashloop-cap", "8",
                                          "--scheduler", "off"])  # no Nodes here: VMIs stay unplaced
    yield proc
    assert proc.kill(15) == 0, proc.log()[-3000:]


def get_vm(custom, name: str) -> dict:
    return custom.get_namespaced_custom_object(GROUP, VERSION, NS, "virtualmachines", name)


def get_vmi(custom, name: str) -> dict | None:
    try:
        return custom.get_namespaced_custom_object(GROUP, VERSION, NS, "virtualmachineinstances", name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def create_vm(custom, name: str, strategy: str | None = "Always", **spec) -> dict:
    return custom.create_namespaced_custom_object(GROUP, VERSION, NS, "virtualmachines",
                                                  vm_manifest(name, strategy, **spec))


def set_vmi_phase(custom, name: str, phase: str, ready: bool = False, ran: bool = False) -> dict:
    """What the node's handler would write: phase, Ready condition, phase transition timestamps."""
    status: dict = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if ran or phase == "Running":
        status["phaseTransitionTimestamps"] = [{"phase": "Running",
                                                "phaseTransitionTimestamp": "2025-01-01T00:00:00Z"}]
    return custom.patch_namespaced_custom_object_status(GROUP, VERSION, NS, "virtualmachineinstances", name,
                                                        {"status": status})


def request(custom, name: str, *requests: dict) -> None:
    """What the start/stop/restart subresources write: status.stateChangeRequests."""
    custom.patch_namespaced_custom_object_status(GROUP, VERSION, NS, "virtualmachines", name,
                                                 {"status": {"stateChangeRequests": list(requests)}})


def vm_status(custom, name: str) -> dict:
    return get_vm(custom, name).get("status") or {}


def wait_status(custom, name: str, printable: str, timeout: float = 10.0) -> dict:
    return wait_for(lambda: (s := vm_status(custom, name)).get("printableStatus") == printable and s,
                    timeout, what=f"{name} {printable}")


def new_vmi(custom, name: str, old_uid: str | None, timeout: float = 10.0) -> dict:
    return wait_for(lambda: (v := get_vmi(custom, name)) and v["metadata"]["uid"] != old_uid and v,
                    timeout, what=f"a new VMI {name}")


def stays_absent(custom, name: str, seconds: float = 1.5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if get_vmi(custom, name) is not None:
            return False
        time.sleep(0.1)
    return True


def test_always_creates_an_owned_vmi_and_mirrors_its_status(custom, core) -> None:
    """Always: a VMI named like the VM, labelled and owned by it; Running/Ready show on the VM."""
    vm = create_vm(custom, "always")
    vmi = new_vmi(custom, "always", None)
    meta = vmi["metadata"]
    assert meta["labels"] == {"app": "always", "kubevirt.io/vm": "always"}
    assert meta["ownerReferences"][0]["uid"] == vm["metadata"]["uid"]
    assert meta["ownerReferences"][0]["controller"] is True
    status = wait_for(lambda: (s := vm_status(custom, "always")).get("created") and s, what="created")
    assert status["printableStatus"] == "Starting" and status["ready"] is False
    set_vmi_phase(custom, "always", "Running", ready=True)
    status = wait_status(custom, "always", "Running")
    assert status["ready"] is True
    assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True"
    assert status["desiredGeneration"] == status["observedGeneration"] == 1
    events, _ = core
    reasons = [e.reason for e in events.list_namespaced_event(NS).items if e.involved_object.name == "always"]
    assert reasons == ["SuccessfulCreate"]


def test_always_replaces_a_vmi_that_ended(custom) -> None:
    """Always: a VMI that ran and then Succeeded or Failed is deleted and a new one created at once."""
    create_vm(custom, "always-restart")
    first = new_vmi(custom, "always-restart", None)
    set_vmi_phase(custom, "always-restart", "Running", ready=True)
    wait_status(custom, "always-restart", "Running")
    set_vmi_phase(custom, "always-restart", "Succeeded", ran=True)
    second = new_vmi(custom, "always-restart", first["metadata"]["uid"], timeout=5)
    set_vmi_phase(custom, "always-restart", "Failed", ran=True)
    new_vmi(custom, "always-restart", second["metadata"]["uid"], timeout=5)
    assert "startFailure" not in vm_status(custom, "always-restart")


def test_rerun_on_failure_restarts_only_after_failure(custom) -> None:
    """RerunOnFailure: Failed → a new VMI; Succeeded → the VM stays Stopped."""
    create_vm(custom, "rerun", "RerunOnFailure")
    first = new_vmi(custom, "rerun", None)
    set_vmi_phase(custom, "rerun", "Failed", ran=True)
    second = new_vmi(custom, "rerun", first["metadata"]["uid"])
    set_vmi_phase(custom, "rerun", "Succeeded", ran=True)
    status = wait_status(custom, "rerun", "Stopped")
    assert status["ready"] is False
    time.sleep(1.0)
    assert get_vmi(custom, "rerun")["metadata"]["uid"] == second["metadata"]["uid"]


def test_halted_runs_nothing_and_a_start_request_switches_to_always(custom) -> None:
    """Halted: no VMI, printableStatus Stopped; a Start request makes the runStrategy Always."""
    create_vm(custom, "halted", "Halted")
    status = wait_status(custom, "halted", "Stopped")
    assert status["created"] is False
    assert stays_absent(custom, "halted")
    request(custom, "halted", {"action": "Start"})
    new_vmi(custom, "halted", None)
    assert get_vm(custom, "halted")["spec"]["runStrategy"] == "Always"
    wait_for(lambda: "stateChangeRequests" not in vm_status(custom, "halted"), what="request cleared")


def test_changing_to_halted_stops_the_vmi(custom) -> None:
    """Always → Halted deletes the running VMI (the handler owns the grace period)."""
    create_vm(custom, "to-halted")
    new_vmi(custom, "to-halted", None)
    custom.patch_namespaced_custom_object(GROUP, VERSION, NS, "virtualmachines", "to-halted",
                                          {"spec": {"runStrategy": "Halted"}})
    wait_for(lambda: get_vmi(custom, "to-halted") is None, what="VMI deleted")
    wait_status(custom, "to-halted", "Stopped")


def test_legacy_running_true_is_always(custom) -> None:
    """spec.running: true behaves as runStrategy Always."""
    create_vm(custom, "legacy", None, running=True)
    new_vmi(custom, "legacy", None)


def test_manual_acts_only_on_requests(custom) -> None:
    """Manual: nothing until Start; Stop with the VMI's uid stops; [Stop, Start] restarts."""
    create_vm(custom, "manual", "Manual")
    wait_status(custom, "manual", "Stopped")
    assert stays_absent(custom, "manual", 1.0)
    request(custom, "manual", {"action": "Start"})
    first = new_vmi(custom, "manual", None)
    wait_for(lambda: "stateChangeRequests" not in vm_status(custom, "manual"), what="start cleared")
    set_vmi_phase(custom, "manual", "Running", ready=True)
    wait_status(custom, "manual", "Running")
    request(custom, "manual", {"action": "Stop", "uid": first["metadata"]["uid"]},
            {"action": "Start"})
    second = new_vmi(custom, "manual", first["metadata"]["uid"])
    wait_for(lambda: "stateChangeRequests" not in vm_status(custom, "manual"), what="restart cleared")
    request(custom, "manual", {"action": "Stop", "uid": second["metadata"]["uid"]})
    wait_for(lambda: get_vmi(custom, "manual") is None, what="VMI stopped")
    status = wait_status(custom, "manual", "Stopped")
    wait_for(lambda: "stateChangeRequests" not in vm_status(custom, "manual"), what="stop cleared")
    assert status["created"] is False
    assert stays_absent(custom, "manual", 1.0)


def test_restart_request_on_always(custom) -> None:
    """Always: a Stop request naming the VMI replaces it with a new one (virtctl restart)."""
    create_vm(custom, "restart")
    first = new_vmi(custom, "restart", None)
    request(custom, "restart", {"action": "Stop", "uid": first["metadata"]["uid"]}, {"action": "Start"})
    new_vmi(custom, "restart", first["metadata"]["uid"])
    wait_for(lambda: "stateChangeRequests" not in vm_status(custom, "restart"), what="requests cleared")


@pytest.mark.parametrize("phase", ["Failed", "Succeeded"])
def test_once_never_runs_again(custom, phase) -> None:
    """Once: one VMI; after it ends, whatever the phase, no other one."""
    name = f"once-{phase.lower()}"
    create_vm(custom, name, "Once")
    first = new_vmi(custom, name, None)
    set_vmi_phase(custom, name, phase, ran=True)
    wait_status(custom, name, "Stopped")
    time.sleep(1.0)
    assert get_vmi(custom, name)["metadata"]["uid"] == first["metadata"]["uid"]


def test_crash_loop_backoff_grows(custom) -> None:
    """Always with VMIs that fail before running: each restart waits longer (base 1 s, doubling)."""
    create_vm(custom, "crashy")
    vmi = new_vmi(custom, "crashy", None)
    waits = []
    for attempt in (1, 2, 3):
        failed_at = time.monotonic()
        set_vmi_phase(custom, "crashy", "Failed")
        status = wait_for(lambda: (s := vm_status(custom, "crashy")).get("startFailure", {}).get(
            "consecutiveFailCount") == attempt and s, timeout=5, what=f"failure {attempt} counted")
        assert status["printableStatus"] == "CrashLoopBackOff"
        assert status["startFailure"]["lastFailedVMIUID"] == vmi["metadata"]["uid"]
        vmi = new_vmi(custom, "crashy", vmi["metadata"]["uid"], timeout=10)
        waits.append(time.monotonic() - failed_at)
    assert 0.9 <= waits[0] < 2.0, waits
    assert 1.9 <= waits[1] < 3.0, waits
    assert 3.9 <= waits[2] < 5.0, waits
    set_vmi_phase(custom, "crashy", "Running", ready=True)
    status = wait_status(custom, "crashy", "Running")
    wait_for(lambda: "startFailure" not in vm_status(custom, "crashy"), what="startFailure cleared")


def test_deleting_the_vm_deletes_its_vmi(custom) -> None:
    """The VMI goes with its VM through the ownerReference (cascading delete)."""
    create_vm(custom, "doomed")
    new_vmi(custom, "doomed", None)
    custom.delete_namespaced_custom_object(GROUP, VERSION, NS, "virtualmachines", "doomed")
    wait_for(lambda: get_vmi(custom, "doomed") is None, what="VMI deleted with its VM")
