"""admit(): every problem at once, paths as written, the rule table documented."""

from __future__ import annotations

import re
from pathlib import Path

from controller.admission import RULES, ClusterConfig, admit, validate
from controller.errors import AdmissionError
from protos import codec
from protos.errors import FieldCause

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "admission.md"


def test_broken_vm_reports_every_problem_at_once() -> None:
    """The deliberately broken example yields one cause per mistake, each at its path."""
    text = (REPO / "examples/invalid/broken-vm.yaml").read_text()
    (obj,) = codec.load_documents(text, source="broken-vm.yaml")
    result = admit(obj, ClusterConfig())
    tpl = "spec.template.spec."
    expected = {
        ("vm-running-and-run-strategy", "spec.running"),
        ("disk-bus-value", f"{tpl}domain.devices.disks[0].disk.bus"),
        ("disk-name-duplicate", f"{tpl}domain.devices.disks[1].name"),
        ("interface-mac-format", f"{tpl}domain.devices.interfaces[0].macAddress"),
        ("memory-request-above-limit", f"{tpl}domain.resources.requests.memory"),
        ("volume-unused", f"{tpl}volumes[1].name"),
    }
    got = {(rule, c.field) for rule, c in zip(result.rules, result.causes)}
    assert expected <= got
    assert all(isinstance(c, FieldCause) for c in result.causes)


def test_validate_without_defaults_sees_the_object_as_written() -> None:
    """validate() does not default: a VMI with an empty machine type is still valid."""
    (obj,) = codec.load_documents((REPO / "examples/kubevirt/vmi-fedora.yaml").read_text())
    assert validate(obj, ClusterConfig()) == []


def test_admission_error_carries_every_cause() -> None:
    """AdmissionError names the object and keeps each cause for the API's Status."""
    causes = [FieldCause("spec.running", "no"), FieldCause("spec.x", "also no")]
    err = AdmissionError("VirtualMachine", "default", "vm1", causes)
    assert err.causes == causes
    assert str(err).startswith("VirtualMachine default/vm1 is invalid: spec.running: no")


def test_every_rule_is_documented_with_its_id() -> None:
    """docs/admission.md has a row for every rule id, and lists no id that does not exist."""
    text = DOC.read_text().split("\n## Rules\n", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", text, flags=re.M))
    assert documented == {r.id for r in RULES}
