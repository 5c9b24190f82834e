"""How a launcher's domain status becomes the VMI's phase (KubeVirt's mapping)."""

from __future__ import annotations

import pytest

from handler.vmi import phase_of, status_patch
from protos.launcher.v1 import domain_pb2

S = domain_pb2


@pytest.mark.parametrize(("state", "reason", "phase"), [
    (S.DOMAIN_STATE_NOSTATE, "", "Scheduled"),
    (S.DOMAIN_STATE_SHUTOFF, "unknown", "Scheduled"),  # defined, not started yet: not a failure
    (S.DOMAIN_STATE_RUNNING, "booted", "Running"),
    (S.DOMAIN_STATE_PAUSED, "user", "Running"),
    (S.DOMAIN_STATE_SHUTOFF, "shutdown", "Succeeded"),  # the guest powered itself off
    (S.DOMAIN_STATE_SHUTOFF, "destroyed", "Failed"),
    (S.DOMAIN_STATE_SHUTOFF, "crashed", "Failed"),
    (S.DOMAIN_STATE_CRASHED, "panicked", "Failed"),
])
def test_domain_state_to_phase(state, reason, phase) -> None:
    assert phase_of(domain_pb2.DomainStatus(state=state, reason=reason))[0] == phase


def test_status_patch_sets_ready_and_paused_and_keeps_transition_times() -> None:
    running = status_patch({}, domain_pb2.DomainStatus(state=S.DOMAIN_STATE_RUNNING))
    assert running["phase"] == "Running"
    assert {c["type"]: c["status"] for c in running["conditions"]} == {"Ready": "True"}
    vmi = {"status": running}
    paused = status_patch(vmi, domain_pb2.DomainStatus(state=S.DOMAIN_STATE_PAUSED, paused_by_user=True))
    conditions = {c["type"]: c for c in paused["conditions"]}
    assert conditions["Ready"]["status"] == "False" and conditions["Paused"]["reason"] == "PausedByUser"
    assert "phaseTransitionTimestamps" not in paused  # still Running: no new transition
    failed = status_patch(vmi, domain_pb2.DomainStatus(state=S.DOMAIN_STATE_SHUTOFF, reason="destroyed",
                                                       failure="KVM internal error"))
    assert failed["phase"] == "Failed" and failed["reason"] == "KVM internal error"
