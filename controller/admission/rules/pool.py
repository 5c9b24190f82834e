"""Rules on a VirtualMachinePool's spec: replicas, selector, template.

Owns what KubeVirt's pool admitter checks about the pool itself; the VM
template inside is checked by the VM-spec and VMI-spec rules. Called through
the rule table with a POOL_SPEC target.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from controller.admission.messages import invalid, quoted, required
from controller.admission.targets import Target
from protos.errors import FieldCause

_PERCENT = re.compile(r"(100|[1-9]?[0-9])%")


def replicas_not_negative(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    if spec.HasField("replicas") and spec.replicas < 0:
        yield invalid(t.at("replicas"), f"replicas {spec.replicas} is negative; use 0 or more")


def template_required(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    if not spec.HasField("virtual_machine_template") or \
            not spec.virtual_machine_template.HasField("spec"):
        yield required(t.at("virtualMachineTemplate.spec"),
                       "a pool needs a VirtualMachine template to stamp its VMs from")


def selector_required(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    sel = spec.selector
    if not spec.HasField("selector") or (not sel.match_labels and not sel.match_expressions):
        yield required(t.at("selector"), "set selector.matchLabels (or matchExpressions) "
                                         "matching the VM template's labels")


def _matches(selector, labels) -> bool:
    for key, value in selector.match_labels.items():
        if labels.get(key) != value:
            return False
    for req in selector.match_expressions:
        present = req.key in labels
        if req.operator == "In" and not (present and labels[req.key] in req.values):
            return False
        if req.operator == "NotIn" and present and labels[req.key] in req.values:
            return False
        if req.operator == "Exists" and not present:
            return False
        if req.operator == "DoesNotExist" and present:
            return False
    return True


def selector_matches_template(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    sel = spec.selector
    if not spec.HasField("virtual_machine_template") or \
            (not sel.match_labels and not sel.match_expressions):
        return
    labels = dict(spec.virtual_machine_template.metadata.labels)
    if not _matches(sel, labels):
        yield invalid(t.at("selector"),
                      "selector does not match the labels of virtualMachineTemplate.metadata; "
                      "every matchLabels entry and matchExpressions requirement must hold for "
                      "the template's labels")


def max_unavailable_value(t: Target) -> Iterator[FieldCause]:
    spec = t.msg
    if not spec.HasField("max_unavailable"):
        return
    mu = spec.max_unavailable
    if mu.WhichOneof("kind") == "int_val":
        if mu.int_val < 0:
            yield invalid(t.at("maxUnavailable"),
                          f"maxUnavailable {mu.int_val} is negative; use a count of 0 or more "
                          f"or a percentage like 25%")
    elif mu.WhichOneof("kind") == "str_val" and not _PERCENT.fullmatch(mu.str_val):
        yield invalid(t.at("maxUnavailable"),
                      f"maxUnavailable {quoted(mu.str_val)} is not valid; use a count of 0 or more or "
                      f"a percentage between 0% and 100%")
