"""The embedded scheduler: each predicate alone, the FitError message, scoring order."""

from __future__ import annotations

import copy
from collections import Counter

import pytest

from controller import scheduling
from controller.overhead import KVM_RESOURCE, ResourceConfig
from controller.scheduling import schedule

Mi = 1024 ** 2
Gi = 1024 ** 3
# A 1Gi, 1-vCPU VMI asks for 1Gi + 290Mi of memory and 100m of cpu.
VMI_MEMORY = 1 * Gi + 290 * Mi


def node(name: str = "n1", *, labels: dict | None = None, taints: list | None = None,
         unschedulable: bool = False, ready: str | None = "True", **allocatable) -> dict:
    """A Ready, KubeVirt-schedulable node with 8 cpus, 16Gi, 110 kvm devices and 110 pods."""
    alloc = {"cpu": "8", "memory": "16Gi", KVM_RESOURCE: "110", "pods": "110"}
    alloc.update(allocatable)
    conditions = [] if ready is None else [{"type": "MemoryPressure", "status": "False"},
                                           {"type": "Ready", "status": ready}]
    spec = {"taints": taints or []}
    if unschedulable:
        spec["unschedulable"] = True
    return {"metadata": {"name": name,
                         "labels": {"kubevirt.io/schedulable": "true", **(labels or {})}},
            "spec": spec,
            "status": {"conditions": conditions, "allocatable": alloc}}


def vmi(name: str = "v", memory: str = "1Gi", node_name: str | None = None,
        phase: str | None = None, **spec) -> dict:
    obj = {"metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}"},
           "spec": {"domain": {"cpu": {"sockets": 1, "cores": 1, "threads": 1},
                               "resources": {"requests": {"memory": memory}}, "devices": {}},
                    **spec},
           "status": {}}
    if node_name:
        obj["status"]["nodeName"] = node_name
    if phase:
        obj["status"]["phase"] = phase
    return obj


def required(*terms: dict) -> dict:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                             {"nodeSelectorTerms": list(terms)}}}


def expr(key: str, operator: str, *values: str) -> dict:
    req = {"key": key, "operator": operator}
    if values:
        req["values"] = list(values)
    return req


def test_a_fitting_node_is_chosen() -> None:
    """One good node: the VMI goes there, with Kubernetes' Scheduled wording and no condition."""
    d = schedule(vmi(), [node()], [])
    assert (d.node, d.reason, d.message) == ("n1", "Scheduled", "Successfully assigned ns/v to n1")
    assert d.scheduled and d.condition() is None


def test_no_nodes_at_all() -> None:
    """An empty cluster gets kube-scheduler's ErrNoNodesAvailable text."""
    d = schedule(vmi(), [], [])
    assert (d.node, d.reason, d.message) == (None, "Unschedulable",
                                             "no nodes available to schedule pods")


FAILURES = [
    ("unschedulable", node(unschedulable=True), {}, "node(s) were unschedulable"),
    ("not ready", node(ready="False"), {}, "node(s) were not ready"),
    ("ready unknown", node(ready="Unknown"), {}, "node(s) were not ready"),
    ("no ready condition", node(ready=None), {}, "node(s) were not ready"),
    ("NoSchedule taint", node(taints=[{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]), {},
     "node(s) had untolerated taint {gpu: yes}"),
    ("NoExecute taint", node(taints=[{"key": "dead", "effect": "NoExecute"}]), {},
     "node(s) had untolerated taint {dead: }"),
    ("toleration for another effect",
     node(taints=[{"key": "gpu", "value": "yes", "effect": "NoExecute"}]),
     {"tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]},
     "node(s) had untolerated taint {gpu: yes}"),
    ("toleration with another value",
     node(taints=[{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]),
     {"tolerations": [{"key": "gpu", "operator": "Equal", "value": "no"}]},
     "node(s) had untolerated taint {gpu: yes}"),
    ("no kubevirt.io/schedulable label", node(labels={"kubevirt.io/schedulable": "false"}), {},
     "node(s) didn't match Pod's node affinity/selector"),
    ("nodeSelector", node(labels={"disk": "hdd"}), {"nodeSelector": {"disk": "ssd"}},
     "node(s) didn't match Pod's node affinity/selector"),
    ("required affinity", node(), {"affinity": required({"matchExpressions": [expr("zone", "Exists")]})},
     "node(s) didn't match Pod's node affinity/selector"),
    ("memory", node(memory="1Gi"), {}, "Insufficient memory"),
    ("cpu", node(cpu="50m"), {}, "Insufficient cpu"),
    ("kvm", node(**{KVM_RESOURCE: "0"}), {}, f"Insufficient {KVM_RESOURCE}"),
    ("pods", node(pods="0"), {}, "Too many pods"),
    ("gpu", node(), {"domain": {"resources": {"requests": {"memory": "1Gi"}},
                                "devices": {"gpus": [{"name": "g", "deviceName": "nvidia.com/A10"}]}}},
     "Insufficient nvidia.com/A10"),
]


@pytest.mark.parametrize("n,spec,reason", [(n, s, r) for _, n, s, r in FAILURES],
                         ids=[i for i, _, _, _ in FAILURES])
def test_each_predicate_alone(n: dict, spec: dict, reason: str) -> None:
    """Each filter, failing alone, makes the VMI unschedulable with its own Kubernetes reason."""
    d = schedule(vmi(**spec), [n], [])
    assert d.node is None
    assert d.message == f"0/1 nodes are available: 1 {reason}."
    assert d.condition() == {"type": "PodScheduled", "status": "False",
                             "reason": "Unschedulable", "message": d.message}


PASSES = [
    ("tolerated unschedulable", node(unschedulable=True),
     {"tolerations": [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                       "effect": "NoSchedule"}]}),
    ("Equal toleration", node(taints=[{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]),
     {"tolerations": [{"key": "gpu", "operator": "Equal", "value": "yes", "effect": "NoSchedule"}]}),
    ("default operator is Equal", node(taints=[{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]),
     {"tolerations": [{"key": "gpu", "value": "yes"}]}),
    ("Exists toleration, any effect", node(taints=[{"key": "gpu", "value": "x", "effect": "NoExecute"}]),
     {"tolerations": [{"key": "gpu", "operator": "Exists"}]}),
    ("empty key with Exists tolerates all",
     node(taints=[{"key": "a", "effect": "NoSchedule"}, {"key": "b", "value": "c", "effect": "NoExecute"}]),
     {"tolerations": [{"operator": "Exists"}]}),
    ("PreferNoSchedule only scores", node(taints=[{"key": "soft", "effect": "PreferNoSchedule"}]), {}),
    ("nodeSelector matches", node(labels={"disk": "ssd"}), {"nodeSelector": {"disk": "ssd"}}),
    ("affinity terms are ORed", node(labels={"zone": "b"}),
     {"affinity": required({"matchExpressions": [expr("zone", "In", "a")]},
                           {"matchExpressions": [expr("zone", "In", "b")]})}),
    ("matchFields metadata.name", node("n7"),
     {"affinity": required({"matchFields": [expr("metadata.name", "In", "n7")]})}),
    ("exactly enough memory", node(memory=str(VMI_MEMORY)), {}),
]


@pytest.mark.parametrize("n,spec", [(n, s) for _, n, s in PASSES], ids=[i for i, _, _ in PASSES])
def test_predicates_that_let_a_node_through(n: dict, spec: dict) -> None:
    """Tolerated taints, matching selectors and affinity, and an exact fit all leave the node eligible."""
    assert schedule(vmi(**spec), [n], []).node == n["metadata"]["name"]


@pytest.mark.parametrize("requirement,labels,holds", [
    (expr("k", "In", "a", "b"), {"k": "b"}, True),
    (expr("k", "In", "a"), {"k": "b"}, False),
    (expr("k", "In", "a"), {}, False),
    (expr("k", "NotIn", "a"), {"k": "b"}, True),
    (expr("k", "NotIn", "a"), {}, True),
    (expr("k", "NotIn", "a"), {"k": "a"}, False),
    (expr("k", "Exists"), {"k": ""}, True),
    (expr("k", "Exists"), {}, False),
    (expr("k", "DoesNotExist"), {}, True),
    (expr("k", "DoesNotExist"), {"k": "x"}, False),
    (expr("k", "Gt", "4"), {"k": "5"}, True),
    (expr("k", "Gt", "5"), {"k": "5"}, False),
    (expr("k", "Lt", "5"), {"k": "4"}, True),
    (expr("k", "Lt", "5"), {"k": "x"}, False),
    (expr("k", "Gt", "1"), {}, False),
    (expr("k", "Gt", "1", "2"), {"k": "3"}, False),
    (expr("k", "Bogus", "a"), {"k": "a"}, False),
])
def test_node_selector_operators(requirement: dict, labels: dict, holds: bool) -> None:
    """In, NotIn, Exists, DoesNotExist, Gt and Lt follow Kubernetes' NodeSelectorRequirement."""
    n = node(labels=labels)
    assert (schedule(vmi(affinity=required({"matchExpressions": [requirement]})), [n], []).node
            is not None) is holds


def test_term_expressions_are_anded_and_empty_terms_match_nothing() -> None:
    """Within a term every expression must hold; a term with nothing in it matches no node."""
    n = node(labels={"zone": "a", "disk": "hdd"})
    both = required({"matchExpressions": [expr("zone", "In", "a"), expr("disk", "In", "ssd")]})
    assert schedule(vmi(affinity=both), [n], []).node is None
    assert schedule(vmi(affinity=required({})), [n], []).node is None
    assert schedule(vmi(affinity=required()), [n], []).node is None


def test_match_fields_only_know_metadata_name() -> None:
    """matchFields on metadata.name supports In/NotIn; any other field matches nothing."""
    n = node("n1")
    assert schedule(vmi(affinity=required({"matchFields": [expr("metadata.name", "NotIn", "n1")]})),
                    [n], []).node is None
    assert schedule(vmi(affinity=required({"matchFields": [expr("spec.x", "In", "n1")]})),
                    [n], []).node is None


def test_placed_vmis_consume_capacity() -> None:
    """Memory requested by running VMIs on a node is not available to the next one."""
    nodes = [node("a", memory="3Gi"), node("b", memory="2Gi")]
    placed = [vmi("p1", node_name="a", phase="Running")]
    # a: 3Gi - 1Gi290Mi leaves 1.71Gi, b: 2Gi; b is less allocated after placement too.
    assert schedule(vmi(), nodes, placed).node == "b"
    placed.append(vmi("p2", node_name="b", phase="Running"))
    assert schedule(vmi(), nodes, placed).node == "a"
    placed.append(vmi("p3", node_name="a", phase="Scheduled"))
    d = schedule(vmi(), nodes, placed)
    assert d.message == "0/2 nodes are available: 2 Insufficient memory."


def test_placed_extended_resources_are_counted() -> None:
    """A GPU taken by a placed VMI is not offered again."""
    gpu = {"domain": {"resources": {"requests": {"memory": "1Gi"}},
                      "devices": {"gpus": [{"name": "g", "deviceName": "nvidia.com/A10"}]}}}
    nodes = [node("a", **{"nvidia.com/A10": "1"})]
    assert schedule(vmi(**gpu), nodes, []).node == "a"
    d = schedule(vmi(**gpu), nodes, [vmi("p", node_name="a", **gpu)])
    assert d.message == "0/1 nodes are available: 1 Insufficient nvidia.com/A10."


def test_finished_placed_vmis_and_the_vmi_itself_are_ignored() -> None:
    """Succeeded/Failed VMIs, unplaced ones, and the VMI being scheduled use no capacity."""
    nodes = [node("a", memory="2Gi")]
    placed = [vmi("done", node_name="a", phase="Succeeded"),
              vmi("dead", node_name="a", phase="Failed"),
              vmi("pending"),
              vmi("v", node_name="a", phase="Scheduling")]
    assert schedule(vmi("v"), nodes, placed).node == "a"


def test_insufficient_resources_are_all_listed() -> None:
    """A node short of cpu and memory counts under both, like NodeResourcesFit."""
    d = schedule(vmi(), [node(cpu="10m", memory="1Gi")], [])
    assert d.message == "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."


def test_first_failing_filter_wins_for_a_node() -> None:
    """An unschedulable node that is also too small is counted only as unschedulable."""
    d = schedule(vmi(), [node(unschedulable=True, memory="1Mi", ready="False")], [])
    assert d.message == "0/1 nodes are available: 1 node(s) were unschedulable."


def test_combined_message_counts_each_cause_sorted_like_kube_scheduler() -> None:
    """Causes are counted per node and sorted as strings, as kube-scheduler's FitError does."""
    nodes = [node("a", unschedulable=True), node("b", labels={"kubevirt.io/schedulable": "false"}),
             node("c", memory="1Gi"), node("d", memory="1Gi"),
             node("e", labels={"kubevirt.io/schedulable": "false"}),
             node("f", labels={"kubevirt.io/schedulable": "false"})]
    d = schedule(vmi(), nodes, [])
    assert d.message == ("0/6 nodes are available: 1 node(s) were unschedulable, "
                         "2 Insufficient memory, "
                         "3 node(s) didn't match Pod's node affinity/selector.")


def test_fit_error_text() -> None:
    """fit_error joins `count reason` pairs sorted as strings, ending with a period."""
    msg = scheduling.fit_error(3, Counter({"node(s) were unschedulable": 1,
                                          "node(s) didn't match Pod's node affinity/selector": 1,
                                          "Insufficient memory": 1}))
    assert msg == ("0/3 nodes are available: 1 Insufficient memory, "
                   "1 node(s) didn't match Pod's node affinity/selector, "
                   "1 node(s) were unschedulable.")


def preferred(weight: int, *expressions: dict) -> dict:
    return {"weight": weight, "preference": {"matchExpressions": list(expressions)}}


def test_score_preferred_affinity_weights_win_over_free_memory() -> None:
    """The node with the larger sum of matching preferred weights wins, even if fuller."""
    affinity = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        preferred(10, expr("zone", "In", "a")), preferred(5, expr("disk", "In", "ssd")),
        preferred(12, expr("gpu", "Exists"))]}}
    nodes = [node("small", labels={"zone": "a", "disk": "ssd"}, memory="4Gi"),  # 15
             node("big", labels={"gpu": "1"}, memory="64Gi"),                    # 12
             node("none", memory="128Gi")]                                       # 0
    assert schedule(vmi(affinity=affinity), nodes, []).node == "small"


def test_score_prefer_no_schedule_penalises_before_memory() -> None:
    """An untolerated PreferNoSchedule taint ranks a node below untainted ones; tolerating it removes the penalty."""
    nodes = [node("tainted", memory="64Gi", taints=[{"key": "soft", "effect": "PreferNoSchedule"}]),
             node("plain", memory="4Gi")]
    assert schedule(vmi(), nodes, []).node == "plain"
    tolerant = vmi(tolerations=[{"key": "soft", "operator": "Exists", "effect": "PreferNoSchedule"}])
    assert schedule(tolerant, nodes, []).node == "tainted"


def test_score_least_allocated_memory_then_name() -> None:
    """The node least allocated after placement wins; equal nodes are broken by name."""
    nodes = [node("c", memory="8Gi"), node("b", memory="16Gi"), node("a", memory="16Gi")]
    assert schedule(vmi(), nodes, []).node == "a"
    placed = [vmi("p", memory="4Gi", node_name="a", phase="Running")]
    assert schedule(vmi(), nodes, placed).node == "b"


def test_emulation_needs_no_kvm_device() -> None:
    """Under useEmulation a node without kvm devices fits."""
    n = node(**{KVM_RESOURCE: "0"})
    assert schedule(vmi(), [n], [], ResourceConfig(use_emulation=True)).node == "n1"


def test_capacity_is_used_when_allocatable_is_absent() -> None:
    """A node that reports only capacity is judged by it."""
    n = node()
    n["status"]["capacity"] = n["status"].pop("allocatable")
    assert schedule(vmi(), [n], []).node == "n1"


def test_inputs_are_not_mutated() -> None:
    """schedule() leaves the VMI, nodes and placed VMIs untouched."""
    args = (vmi(tolerations=[{"operator": "Exists"}]), [node("a"), node("b", ready="False")],
            [vmi("p", node_name="a", phase="Running")])
    before = copy.deepcopy(args)
    schedule(*args)
    assert args == before
