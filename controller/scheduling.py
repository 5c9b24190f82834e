"""Where a VMI runs: the embedded scheduler's predicates, scoring and failure message.

Owns the decision `schedule(vmi, nodes, placed) -> Decision` that the VMI
controller makes in embedded mode (on a real cluster kube-scheduler places
the launcher pod and this module is not used). It filters nodes the way
kube-scheduler's default plugins do for a KubeVirt launcher pod, scores the
survivors and, when none is left, words the failure as kube-scheduler's
FitError does, so `virtctl describe` reads like `kubectl describe`. Pure: VMI
and Node dicts in Kubernetes JSON form in, a Decision out; it never talks to
the API and never mutates its input.

Filters, in kube-scheduler's order; a node is counted under the first one it
fails (resources list every resource that is short):

1. NodeUnschedulable: `spec.unschedulable` unless the VMI tolerates
   `node.kubernetes.io/unschedulable:NoSchedule` -> "node(s) were unschedulable".
2. Ready: the node's Ready condition is True -> "node(s) were not ready" (on a
   cluster the node lifecycle controller taints such a node instead).
3. TaintToleration: every NoSchedule/NoExecute taint tolerated ->
   "node(s) had untolerated taint {key: value}" (the first one).
4. NodeAffinity: `kubevirt.io/schedulable=true` (the selector KubeVirt puts on
   every launcher pod), spec.nodeSelector, required node affinity ->
   "node(s) didn't match Pod's node affinity/selector".
5. NodeResourcesFit: allocatable minus what placed VMIs request covers this
   VMI's cpu, memory (with overhead), pods and extended resources ->
   "Too many pods", "Insufficient cpu", "Insufficient memory", "Insufficient <name>".

Score, best first: the sum of matching preferred node-affinity weights
(higher), the number of untolerated PreferNoSchedule taints (fewer), the
fraction of memory allocated once the VMI is placed (lower), the node name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from controller import overhead
from controller.overhead import DEFAULT_CONFIG, ResourceConfig
from protos import quantity

__all__ = ["Decision", "schedule", "SCHEDULABLE_LABEL", "UNSCHEDULABLE_TAINT"]

SCHEDULABLE_LABEL = "kubevirt.io/schedulable"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"

REASON_UNSCHEDULABLE = "Unschedulable"
REASON_SCHEDULED = "Scheduled"

MSG_UNSCHEDULABLE = "node(s) were unschedulable"
MSG_NOT_READY = "node(s) were not ready"
MSG_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
MSG_TOO_MANY_PODS = "Too many pods"
MSG_NO_NODES = "no nodes available to schedule pods"  # kube-scheduler's ErrNoNodesAvailable

_FINAL_PHASES = ("Succeeded", "Failed")


@dataclass(frozen=True)
class Decision:
    """Where the VMI goes (`node`), or why it goes nowhere (`node` None, reason Unschedulable)."""

    node: str | None
    reason: str
    message: str

    @property
    def scheduled(self) -> bool:
        return self.node is not None

    def condition(self) -> dict | None:
        """The VMI condition this decision implies: PodScheduled=False when unschedulable.

        None when scheduled: KubeVirt copies only the False condition onto the VMI.
        """
        if self.scheduled:
            return None
        return {"type": "PodScheduled", "status": "False", "reason": self.reason,
                "message": self.message}


def schedule(vmi: dict, nodes: list[dict], placed: list[dict],
             config: ResourceConfig = DEFAULT_CONFIG) -> Decision:
    """The node `vmi` should run on, given the nodes and the VMIs already placed on them.

    `placed` are VMIs with status.nodeName set; finished ones (Succeeded,
    Failed) and `vmi` itself are ignored, so callers may pass every VMI.
    """
    spec = vmi.get("spec") or {}
    tolerations = spec.get("tolerations") or []
    cpu, memory = overhead.vmi_requests(vmi, config)
    extended = overhead.extended_requests(vmi, config)
    used = _usage(vmi, placed, config)

    failures: Counter[str] = Counter()
    fitting: list[tuple[tuple, str]] = []
    for node in nodes:
        name = (node.get("metadata") or {}).get("name", "")
        reasons = _filter(node, spec, tolerations, cpu, memory, extended,
                          used.get(name, _Usage()))
        if reasons:
            failures.update(reasons)
            continue
        fitting.append((_score(node, spec, tolerations, memory, used.get(name, _Usage())), name))

    if fitting:
        node = min(fitting)[1]
        meta = vmi.get("metadata") or {}
        who = f"{meta.get('namespace') or 'default'}/{meta.get('name', '')}"
        return Decision(node, REASON_SCHEDULED, f"Successfully assigned {who} to {node}")
    return Decision(None, REASON_UNSCHEDULABLE, fit_error(len(nodes), failures))


def fit_error(total: int, failures: Counter[str]) -> str:
    """kube-scheduler's FitError text: `0/N nodes are available: <count reason>, ... .`"""
    if total == 0:
        return MSG_NO_NODES
    parts = sorted(f"{count} {reason}" for reason, count in failures.items())
    detail = (" " + ", ".join(parts)) if parts else ""
    return f"0/{total} nodes are available:{detail}."


# --- usage of already-placed VMIs ---------------------------------------------------------

@dataclass
class _Usage:
    cpu: int = 0
    memory: int = 0
    pods: int = 0
    extended: Counter[str] | None = None


def _same(a: dict, b: dict) -> bool:
    ma, mb = a.get("metadata") or {}, b.get("metadata") or {}
    if ma.get("uid") and mb.get("uid"):
        return ma["uid"] == mb["uid"]
    return (ma.get("namespace"), ma.get("name")) == (mb.get("namespace"), mb.get("name"))


def _usage(vmi: dict, placed: Iterable[dict], config: ResourceConfig) -> dict[str, _Usage]:
    out: dict[str, _Usage] = {}
    for other in placed:
        status = other.get("status") or {}
        node = status.get("nodeName")
        if not node or status.get("phase") in _FINAL_PHASES or _same(vmi, other):
            continue
        use = out.setdefault(node, _Usage(extended=Counter()))
        cpu, memory = overhead.vmi_requests(other, config)
        use.cpu += cpu
        use.memory += memory
        use.pods += 1
        use.extended.update(overhead.extended_requests(other, config))
    return out


# --- filters -------------------------------------------------------------------------------

def _filter(node: dict, spec: dict, tolerations: list[dict], cpu: int, memory: int,
            extended: dict[str, int], used: _Usage) -> list[str]:
    """Why `node` cannot take the VMI (empty when it can): the first failing filter's reasons."""
    node_spec = node.get("spec") or {}
    if node_spec.get("unschedulable") and not _tolerated(
            {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"}, tolerations):
        return [MSG_UNSCHEDULABLE]
    if not _ready(node):
        return [MSG_NOT_READY]
    for taint in node_spec.get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerated(taint, tolerations):
            return [f"node(s) had untolerated taint {{{taint.get('key', '')}: "
                    f"{taint.get('value', '')}}}"]
    if not _affinity_matches(node, spec):
        return [MSG_AFFINITY]
    return _insufficient(node, cpu, memory, extended, used)


def _ready(node: dict) -> bool:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def _tolerated(taint: dict, tolerations: list[dict]) -> bool:
    return any(_tolerates(t, taint) for t in tolerations)


def _tolerates(toleration: dict, taint: dict) -> bool:
    """Kubernetes' Toleration.ToleratesTaint."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def _labels(node: dict) -> dict[str, str]:
    return (node.get("metadata") or {}).get("labels") or {}


def _affinity_matches(node: dict, spec: dict) -> bool:
    labels = _labels(node)
    if labels.get(SCHEDULABLE_LABEL) != "true":
        return False
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required is None:
        return True
    return any(_term_matches(term, node) for term in required.get("nodeSelectorTerms") or [])


def _term_matches(term: dict, node: dict) -> bool:
    """One NodeSelectorTerm: every expression and field requirement holds; an empty term matches nothing."""
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False
    labels = _labels(node)
    if not all(_requirement_holds(r, labels) for r in expressions):
        return False
    name = {"metadata.name": (node.get("metadata") or {}).get("name", "")}
    return all(r.get("key") == "metadata.name" and r.get("operator") in ("In", "NotIn")
               and _requirement_holds(r, name) for r in fields)


def _requirement_holds(req: dict, labels: dict[str, str]) -> bool:
    """A NodeSelectorRequirement against a label map (Kubernetes' semantics; unknown operator: False)."""
    key, operator, values = req.get("key", ""), req.get("operator"), req.get("values") or []
    present = key in labels
    value = labels.get(key)
    if operator == "In":
        return present and value in values
    if operator == "NotIn":
        return not present or value not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt"):
        if not present or len(values) != 1:
            return False
        try:
            have, want = int(value), int(values[0])
        except ValueError:
            return False
        return have > want if operator == "Gt" else have < want
    return False


def _allocatable(node: dict) -> dict:
    status = node.get("status") or {}
    return status.get("allocatable") or status.get("capacity") or {}


def _insufficient(node: dict, cpu: int, memory: int, extended: dict[str, int],
                  used: _Usage) -> list[str]:
    alloc = _allocatable(node)
    reasons = []
    if "pods" in alloc and used.pods + 1 > quantity.to_bytes(alloc["pods"]):
        reasons.append(MSG_TOO_MANY_PODS)
    if cpu > 0 and cpu > _millis(alloc, "cpu") - used.cpu:
        reasons.append("Insufficient cpu")
    if memory > 0 and memory > _count(alloc, "memory") - used.memory:
        reasons.append("Insufficient memory")
    taken = used.extended or Counter()
    for name in sorted(extended):
        if extended[name] > 0 and extended[name] > _count(alloc, name) - taken[name]:
            reasons.append(f"Insufficient {name}")
    return reasons


def _millis(alloc: dict, key: str) -> int:
    return quantity.to_millis(alloc[key]) if key in alloc else 0


def _count(alloc: dict, key: str) -> int:
    return quantity.to_bytes(alloc[key]) if key in alloc else 0


# --- score ---------------------------------------------------------------------------------

def _score(node: dict, spec: dict, tolerations: list[dict], memory: int, used: _Usage) -> tuple:
    """Sort key of a fitting node: lower is better."""
    preferred = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                 .get("preferredDuringSchedulingIgnoredDuringExecution") or [])
    weight = sum(int(p.get("weight") or 0) for p in preferred
                 if _term_matches(p.get("preference") or {}, node))
    soft = sum(1 for t in (node.get("spec") or {}).get("taints") or []
               if t.get("effect") == "PreferNoSchedule" and not _tolerated(t, tolerations))
    allocatable = _count(_allocatable(node), "memory")
    allocated = Fraction(used.memory + memory, allocatable) if allocatable else Fraction(1)
    return (-weight, soft, allocated)
