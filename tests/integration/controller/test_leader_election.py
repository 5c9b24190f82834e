"""Two controller processes against one API: one leads through the Lease, the other takes over."""

from __future__ import annotations

import signal
import time

from tests.integration.controller.conftest import FAST_ELECTION, GROUP, VERSION, ControllerProcess, vm_manifest, wait_for

LEASE_NS, LEASE = "kube-system", "virtnode-controller"


def holder(core) -> str:
    _, coordination = core
    try:
        return coordination.read_namespaced_lease(LEASE, LEASE_NS).spec.holder_identity or ""
    except Exception:  # noqa: BLE001 - no lease yet
        return ""


def creations(core, name: str) -> list[str]:
    """The identity that recorded each SuccessfulCreate for `name`."""
    events, _ = core
    return [e.source.host for e in events.list_namespaced_event("default").items
            if e.involved_object.name == name and e.reason == "SuccessfulCreate"]


def test_one_leader_acts_and_a_standby_takes_over_after_sigkill(api, custom, core) -> None:
    """Only the Lease holder acts; SIGKILL of it hands over within leaseDuration + retryPeriod."""
    a = ControllerProcess(api, "ctl-a", FAST_ELECTION)
    b = ControllerProcess(api, "ctl-b", FAST_ELECTION)
    try:
        leader = wait_for(lambda: holder(core), 10, what="a lease holder")
        procs = {"ctl-a": a, "ctl-b": b}
        standby = "ctl-b" if leader == "ctl-a" else "ctl-a"
        custom.create_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", vm_manifest("le-1"))
        vmi = wait_for(lambda: custom.get_namespaced_custom_object(
            GROUP, VERSION, "default", "virtualmachineinstances", "le-1"), what="VMI le-1")
        time.sleep(1.0)  # give a wrongly active standby the chance to act
        assert creations(core, "le-1") == [leader]
        assert "became the leader" not in procs[standby].log()

        killed_at = time.monotonic()
        procs[leader].kill(signal.SIGKILL)
        wait_for(lambda: holder(core) == standby, 10, what="takeover")
        took = time.monotonic() - killed_at
        assert took < 3 + 0.5 + 1.5, f"takeover took {took:.1f} s"

        custom.create_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachines", vm_manifest("le-2"))
        wait_for(lambda: creations(core, "le-2") == [standby], what="the new leader acts")
        again = custom.get_namespaced_custom_object(GROUP, VERSION, "default", "virtualmachineinstances", "le-1")
        assert again["metadata"]["uid"] == vmi["metadata"]["uid"]
        assert creations(core, "le-1") == [leader]

        assert procs[standby].kill(signal.SIGTERM) == 0
        assert holder(core) == ""  # released on the way out
    finally:
        for proc in (a, b):
            proc.kill(signal.SIGKILL)


def test_sigterm_releases_the_lease_for_a_quick_handover(api, core) -> None:
    """A leader stopped with SIGTERM releases the Lease, so the standby leads within a retry period or two."""
    a = ControllerProcess(api, "term-a", FAST_ELECTION)
    wait_for(lambda: holder(core) == "term-a", 10, what="term-a leads")
    b = ControllerProcess(api, "term-b", FAST_ELECTION)
    try:
        time.sleep(1.5)  # term-b is up and campaigning
        assert holder(core) == "term-a"
        stopped_at = time.monotonic()
        assert a.kill(signal.SIGTERM) == 0
        wait_for(lambda: holder(core) == "term-b", 5, what="term-b leads")
        assert time.monotonic() - stopped_at < 2.5
    finally:
        for proc in (a, b):
            proc.kill(signal.SIGKILL)
