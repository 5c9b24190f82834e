"""Rules on a VMI's scheduling constraints: node selector, affinity,
tolerations and topology spread.

Owns the Kubernetes pod-spec validation that a VMI's launcher pod would
otherwise fail at creation, reported up front at the VMI's own paths. Called
through the rule table with a VMI_SPEC target.
"""

from __future__ import annotations

from collections.abc import Iterator

from controller.admission import syntax
from controller.admission.messages import invalid, not_supported
from controller.admission.targets import Target
from protos.errors import FieldCause

TOLERATION_OPERATORS = ("Equal", "Exists")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
NODE_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
LABEL_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
WHEN_UNSATISFIABLE = ("DoNotSchedule", "ScheduleAnyway")


def _node_requirements(t: Target):
    """(path, requirement) for every node selector requirement in affinity."""
    na = t.msg.affinity.node_affinity
    base = "affinity.nodeAffinity"
    req = na.required_during_scheduling_ignored_during_execution
    for i, term in enumerate(req.node_selector_terms):
        p = f"{base}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[{i}]"
        for j, r in enumerate(term.match_expressions):
            yield t.at(f"{p}.matchExpressions[{j}]"), r
        for j, r in enumerate(term.match_fields):
            yield t.at(f"{p}.matchFields[{j}]"), r
    for i, pref in enumerate(na.preferred_during_scheduling_ignored_during_execution):
        p = f"{base}.preferredDuringSchedulingIgnoredDuringExecution[{i}].preference"
        for j, r in enumerate(pref.preference.match_expressions):
            yield t.at(f"{p}.matchExpressions[{j}]"), r
        for j, r in enumerate(pref.preference.match_fields):
            yield t.at(f"{p}.matchFields[{j}]"), r


def _label_requirements(t: Target):
    """(path, requirement) for every label selector requirement in pod (anti-)affinity
    and topology spread constraints."""
    aff = t.msg.affinity
    for name, json in (("pod_affinity", "podAffinity"), ("pod_anti_affinity", "podAntiAffinity")):
        pa = getattr(aff, name)
        terms = [(f"affinity.{json}.requiredDuringSchedulingIgnoredDuringExecution[{i}]", term)
                 for i, term in enumerate(pa.required_during_scheduling_ignored_during_execution)]
        terms += [(f"affinity.{json}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
                   f".podAffinityTerm", w.pod_affinity_term)
                  for i, w in enumerate(pa.preferred_during_scheduling_ignored_during_execution)]
        for p, term in terms:
            for sel, sj in ((term.label_selector, "labelSelector"),
                            (term.namespace_selector, "namespaceSelector")):
                for j, r in enumerate(sel.match_expressions):
                    yield t.at(f"{p}.{sj}.matchExpressions[{j}]"), r
    for i, tsc in enumerate(t.msg.topology_spread_constraints):
        for j, r in enumerate(tsc.label_selector.match_expressions):
            yield t.at(f"topologySpreadConstraints[{i}].labelSelector.matchExpressions[{j}]"), r


def toleration_operator(t: Target) -> Iterator[FieldCause]:
    for i, tol in enumerate(t.msg.tolerations):
        path = t.at(f"tolerations[{i}]")
        if tol.operator and tol.operator not in TOLERATION_OPERATORS:
            yield not_supported(f"{path}.operator", "toleration operator", tol.operator,
                                TOLERATION_OPERATORS)
        elif tol.operator == "Exists" and tol.value:
            yield invalid(f"{path}.value", "a toleration with operator Exists matches any value; "
                                           "leave value empty or use operator Equal")
        elif tol.operator != "Exists" and not tol.key:
            yield invalid(f"{path}.key", "an empty key matches every taint only with operator "
                                         "Exists; set a key or use operator Exists")


def toleration_effect(t: Target) -> Iterator[FieldCause]:
    for i, tol in enumerate(t.msg.tolerations):
        if tol.effect and tol.effect not in TAINT_EFFECTS:
            yield not_supported(t.at(f"tolerations[{i}].effect"), "taint effect", tol.effect,
                                TAINT_EFFECTS + ("'' (all effects)",))


def node_selector_labels(t: Target) -> Iterator[FieldCause]:
    for key, value in sorted(t.msg.node_selector.items()):
        problem = syntax.qualified_name(key) or syntax.label_value(value)
        if problem:
            yield invalid(t.at(f"nodeSelector[{key}]"), problem)


def affinity_operator(t: Target) -> Iterator[FieldCause]:
    for path, r in _node_requirements(t):
        if r.operator not in NODE_OPERATORS:
            yield not_supported(f"{path}.operator", "node selector operator", r.operator,
                                NODE_OPERATORS)
    for path, r in _label_requirements(t):
        if r.operator not in LABEL_OPERATORS:
            yield not_supported(f"{path}.operator", "label selector operator", r.operator,
                                LABEL_OPERATORS)


def affinity_values(t: Target) -> Iterator[FieldCause]:
    for path, r in list(_node_requirements(t)) + list(_label_requirements(t)):
        n = len(r.values)
        if r.operator in ("In", "NotIn") and n == 0:
            yield invalid(f"{path}.values", f"operator {r.operator} needs at least one value")
        elif r.operator in ("Exists", "DoesNotExist") and n:
            yield invalid(f"{path}.values", f"operator {r.operator} takes no values; remove them")
        elif r.operator in ("Gt", "Lt") and (n != 1 or not r.values[0].lstrip("-").isdigit()):
            yield invalid(f"{path}.values", f"operator {r.operator} needs exactly one integer value")


def topology_spread_value(t: Target) -> Iterator[FieldCause]:
    for i, tsc in enumerate(t.msg.topology_spread_constraints):
        path = t.at(f"topologySpreadConstraints[{i}]")
        if tsc.when_unsatisfiable not in WHEN_UNSATISFIABLE:
            yield not_supported(f"{path}.whenUnsatisfiable", "whenUnsatisfiable",
                                tsc.when_unsatisfiable, WHEN_UNSATISFIABLE)
        if tsc.max_skew < 1:
            yield invalid(f"{path}.maxSkew", f"maxSkew {tsc.max_skew} is not valid; use 1 or more")
        if not tsc.topology_key:
            yield invalid(f"{path}.topologyKey", "required: a topology key, like "
                                                 "kubernetes.io/hostname")
