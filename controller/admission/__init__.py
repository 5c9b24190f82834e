"""Admission: KubeVirt-style defaulting and validation of virtnode's API objects.

Owns what happens to an object between decoding and storing it: `default`
fills in KubeVirt's defaults on a copy, `validate` reports every problem as a
FieldCause at the path the user wrote, and `admit` does both (validating the
defaulted copy). The embedded API server calls `admit` on every create and
update; `virtctl validate` calls it offline. Rules live in `rules/`, one module
per area, registered in the single table `rules.RULES`. Never decodes
documents (protos.codec does) and never talks to a cluster or a node.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import Message

from controller.admission.config import ClusterConfig
from controller.admission.defaults import default, firmware_uuid
from controller.admission.rules import BY_ID, RULES, Finding, Rule, run
from controller.admission.targets import targets
from protos.errors import FieldCause

__all__ = ["ClusterConfig", "AdmissionResult", "admit", "default", "validate", "findings",
           "firmware_uuid", "RULES", "BY_ID", "Rule", "Finding"]


@dataclass(frozen=True)
class AdmissionResult:
    """The defaulted object and every cause found (empty when it is valid)."""

    obj: Message
    causes: list[FieldCause] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.causes


def findings(obj: Message, config: ClusterConfig, operation: str = "CREATE") -> list[Finding]:
    """Every (rule id, cause) that the rules find in obj as given (not defaulted).

    `operation` is "CREATE" or "UPDATE", as in a Kubernetes AdmissionReview."""
    return run(targets(obj, config), operation)


def validate(obj: Message, config: ClusterConfig) -> list[FieldCause]:
    """Every problem in obj as given, all at once; empty when valid."""
    return [f.cause for f in findings(obj, config)]


def admit(obj: Message, config: ClusterConfig, operation: str = "CREATE") -> AdmissionResult:
    """Defaults a copy of obj, then validates the copy; obj itself is not changed."""
    defaulted = default(obj, config)
    found = findings(defaulted, config, operation)
    return AdmissionResult(defaulted, [f.cause for f in found], [f.rule for f in found])
