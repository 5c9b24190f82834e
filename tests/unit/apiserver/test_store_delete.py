"""Deletion: finalizers, preconditions, cascading by ownerReferences, namespaces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from apiserver import errors
from apiserver.resources import BY_KEY
from apiserver.store import FOREGROUND, Store

NS = BY_KEY["namespaces"]
VM = BY_KEY["virtualmachines.kubevirt.io"]
VMI = BY_KEY["virtualmachineinstances.kubevirt.io"]
NODE = BY_KEY["nodes"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(str(tmp_path / "state.db")) as s:
        s.create(NS, {"metadata": {"name": "default"}})
        yield s


def make(store: Store, res: object, name: str, owners: tuple[dict, ...] = (),
         finalizers: tuple[str, ...] = (), namespace: str = "default") -> dict:
    meta: dict = {"name": name, "namespace": namespace}
    if owners:
        meta["ownerReferences"] = [
            {"apiVersion": o["apiVersion"], "kind": o["kind"], "name": o["metadata"]["name"],
             "uid": o["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
            for o in owners]
    if finalizers:
        meta["finalizers"] = list(finalizers)
    return store.create(res, {"metadata": meta, "spec": {}})


def exists(store: Store, res: object, name: str, namespace: str = "default") -> bool:
    try:
        store.get(res, namespace, name)
    except errors.NotFound:
        return False
    return True


def test_delete_without_finalizers_removes(store: Store) -> None:
    """A plain delete removes the object and returns it at the deletion's resourceVersion."""
    make(store, VM, "vm1")
    gone = store.delete(VM, "default", "vm1")
    assert gone["metadata"]["resourceVersion"] == str(store.resource_version)
    assert not exists(store, VM, "vm1")
    with pytest.raises(errors.NotFound):
        store.delete(VM, "default", "vm1")


def test_finalizers_delay_deletion_until_removed(store: Store) -> None:
    """With finalizers, delete sets deletionTimestamp; removing the last finalizer removes it."""
    make(store, VM, "vm1", finalizers=("a", "b"))
    marked = store.delete(VM, "default", "vm1")
    assert marked["metadata"]["deletionTimestamp"].endswith("Z")
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 0
    assert exists(store, VM, "vm1")
    again = store.delete(VM, "default", "vm1")
    assert again == marked  # deleting a deleting object changes nothing
    marked["metadata"]["finalizers"] = ["b"]
    marked = store.update(VM, marked)
    assert exists(store, VM, "vm1")
    assert marked["metadata"]["deletionTimestamp"]
    marked["metadata"]["finalizers"] = []
    store.update(VM, marked)
    assert not exists(store, VM, "vm1")


def test_no_new_finalizers_while_deleting(store: Store) -> None:
    """A deleting object accepts no new finalizers."""
    make(store, VM, "vm1", finalizers=("a",))
    marked = store.delete(VM, "default", "vm1")
    marked["metadata"]["finalizers"] = ["a", "b"]
    with pytest.raises(errors.Invalid, match="no new finalizers"):
        store.update(VM, marked)


def test_update_cannot_clear_deletion_timestamp(store: Store) -> None:
    """deletionTimestamp is kept by updates that leave it out."""
    make(store, VM, "vm1", finalizers=("a",))
    marked = store.delete(VM, "default", "vm1")
    del marked["metadata"]["deletionTimestamp"]
    assert store.update(VM, marked)["metadata"]["deletionTimestamp"]


def test_delete_preconditions(store: Store) -> None:
    """uid and resourceVersion preconditions that do not hold are Conflict."""
    obj = make(store, VM, "vm1")
    with pytest.raises(errors.Conflict, match="Precondition failed: UID in precondition: x"):
        store.delete(VM, "default", "vm1", preconditions={"uid": "x"})
    with pytest.raises(errors.Conflict, match="ResourceVersion in precondition: 1"):
        store.delete(VM, "default", "vm1", preconditions={"resourceVersion": "1"})
    store.delete(VM, "default", "vm1", preconditions={
        "uid": obj["metadata"]["uid"], "resourceVersion": obj["metadata"]["resourceVersion"]})
    assert not exists(store, VM, "vm1")


def test_unknown_propagation_is_bad_request(store: Store) -> None:
    """Only Background, Foreground and Orphan are propagation policies."""
    make(store, VM, "vm1")
    with pytest.raises(errors.BadRequest, match="propagationPolicy"):
        store.delete(VM, "default", "vm1", propagation="Sideways")


def test_background_deletes_dependents_recursively(store: Store) -> None:
    """Background: the owner goes at once, then its dependents and theirs."""
    owner = make(store, VM, "vm1")
    child = make(store, VMI, "vmi1", owners=(owner,))
    make(store, VMI, "grandchild", owners=(child,))
    make(store, VMI, "unrelated")
    store.delete(VM, "default", "vm1", propagation="Background")
    assert not exists(store, VM, "vm1")
    assert not exists(store, VMI, "vmi1")
    assert not exists(store, VMI, "grandchild")
    assert exists(store, VMI, "unrelated")


def test_background_waits_for_owner_finalizers(store: Store) -> None:
    """Dependents stay while the owner is held by a finalizer, and go when it is removed."""
    owner = make(store, VM, "vm1", finalizers=("hold",))
    make(store, VMI, "vmi1", owners=(owner,))
    marked = store.delete(VM, "default", "vm1")
    assert exists(store, VMI, "vmi1")
    marked["metadata"]["finalizers"] = []
    store.update(VM, marked)
    assert not exists(store, VMI, "vmi1")


def test_dependent_with_finalizer_is_marked_not_removed(store: Store) -> None:
    """A dependent with a finalizer gets a deletionTimestamp instead of vanishing."""
    owner = make(store, VM, "vm1")
    make(store, VMI, "vmi1", owners=(owner,), finalizers=("f",))
    store.delete(VM, "default", "vm1")
    assert store.get(VMI, "default", "vmi1")["metadata"]["deletionTimestamp"]


def test_dependent_with_another_live_owner_only_loses_the_reference(store: Store) -> None:
    """A dependent that another live owner holds is kept, without the gone owner's reference."""
    a = make(store, VM, "a")
    b = make(store, VM, "b")
    make(store, VMI, "shared", owners=(a, b))
    store.delete(VM, "default", "a")
    refs = store.get(VMI, "default", "shared")["metadata"]["ownerReferences"]
    assert [r["name"] for r in refs] == ["b"]
    store.delete(VM, "default", "b")
    assert not exists(store, VMI, "shared")


def test_foreground_deletes_dependents_before_owner(store: Store) -> None:
    """Foreground: dependents are deleted first, then the owner."""
    owner = make(store, VM, "vm1")
    make(store, VMI, "vmi1", owners=(owner,))
    w = store.watch(VM, "default", resource_version=str(store.resource_version))
    store.delete(VM, "default", "vm1", propagation="Foreground")
    assert not exists(store, VMI, "vmi1")
    assert not exists(store, VM, "vm1")
    events = [next(w), next(w)]
    w.close()
    assert [t for t, _ in events] == ["MODIFIED", "DELETED"]
    assert FOREGROUND in events[0][1]["metadata"]["finalizers"]
    assert events[0][1]["metadata"]["deletionTimestamp"]


def test_foreground_owner_waits_for_blocked_dependents(store: Store) -> None:
    """A dependent held by its finalizer keeps the owner in foreground deletion until it goes."""
    owner = make(store, VM, "vm1")
    make(store, VMI, "vmi1", owners=(owner,), finalizers=("f",))
    returned = store.delete(VM, "default", "vm1", propagation="Foreground")
    assert returned["metadata"]["finalizers"] == [FOREGROUND]
    held = store.get(VM, "default", "vm1")
    assert held["metadata"]["deletionTimestamp"]
    child = store.get(VMI, "default", "vmi1")
    assert child["metadata"]["deletionTimestamp"]
    child["metadata"]["finalizers"] = []
    store.update(VMI, child)
    assert not exists(store, VMI, "vmi1")
    assert not exists(store, VM, "vm1")


def test_foreground_owner_released_when_dependent_drops_reference(store: Store) -> None:
    """An owner waiting for a dependent goes when that dependent stops referencing it."""
    owner = make(store, VM, "vm1")
    make(store, VMI, "vmi1", owners=(owner,), finalizers=("f",))
    store.delete(VM, "default", "vm1", propagation="Foreground")
    child = store.get(VMI, "default", "vmi1")
    del child["metadata"]["ownerReferences"]
    store.update(VMI, child)
    assert not exists(store, VM, "vm1")
    assert exists(store, VMI, "vmi1")


def test_foreground_keeps_the_owners_own_finalizers(store: Store) -> None:
    """After its dependents are gone an owner with its own finalizer is still held by it."""
    owner = make(store, VM, "vm1", finalizers=("mine",))
    make(store, VMI, "vmi1", owners=(owner,))
    store.delete(VM, "default", "vm1", propagation="Foreground")
    assert not exists(store, VMI, "vmi1")
    assert store.get(VM, "default", "vm1")["metadata"]["finalizers"] == ["mine"]


def test_orphan_keeps_dependents_without_the_reference(store: Store) -> None:
    """Orphan: the owner goes, dependents stay with the ownerReference removed."""
    owner = make(store, VM, "vm1")
    other = make(store, VM, "vm2")
    make(store, VMI, "vmi1", owners=(owner, other))
    make(store, VMI, "vmi2", owners=(owner,))
    store.delete(VM, "default", "vm1", propagation="Orphan")
    assert not exists(store, VM, "vm1")
    assert [r["name"] for r in store.get(VMI, "default", "vmi1")["metadata"][
        "ownerReferences"]] == ["vm2"]
    assert "ownerReferences" not in store.get(VMI, "default", "vmi2")["metadata"]


def test_cascade_crosses_resources_and_scopes(store: Store) -> None:
    """A cluster-scoped owner takes its namespaced dependents with it."""
    node = store.create(NODE, {"metadata": {"name": "n1"}})
    make(store, VMI, "vmi1", owners=(node,))
    store.delete(NODE, None, "n1")
    assert not exists(store, VMI, "vmi1")


def test_namespace_deletion_removes_contents_then_namespace(store: Store) -> None:
    """Deleting a Namespace deletes everything in it and then the namespace."""
    store.create(NS, {"metadata": {"name": "keep"}})
    make(store, VM, "vm1")
    make(store, VMI, "vmi1")
    make(store, VM, "other", namespace="keep")
    store.delete(NS, None, "default")
    assert store.list(VM, "default")[0] == []
    assert store.list(VMI, "default")[0] == []
    assert not exists(store, NS, "default", namespace=None)
    assert exists(store, VM, "other", namespace="keep")


def test_terminating_namespace_refuses_creates(store: Store) -> None:
    """A namespace held Terminating by a finalized object refuses new content (Forbidden)."""
    held = make(store, VM, "vm1", finalizers=("hold",))
    ns = store.delete(NS, None, "default")
    assert ns["status"]["phase"] == "Terminating"
    assert ns["metadata"]["deletionTimestamp"]
    with pytest.raises(errors.Forbidden) as caught:
        make(store, VM, "vm2")
    assert str(caught.value) == (
        'virtualmachines.kubevirt.io "vm2" is forbidden: unable to create new content in '
        "namespace default because it is being terminated")
    assert caught.value.causes[0].reason == "NamespaceTerminating"
    held = store.get(VM, "default", "vm1")
    held["metadata"]["finalizers"] = []
    store.update(VM, held)
    assert not exists(store, NS, "default", namespace=None)


def test_namespace_with_own_finalizer_goes_when_it_is_removed(store: Store) -> None:
    """A Namespace held by a metadata finalizer is removed once an update drops it."""
    store.create(NS, {"metadata": {"name": "held", "finalizers": ["x"]}})
    ns = store.delete(NS, None, "held")
    assert ns["status"]["phase"] == "Terminating"
    ns["metadata"]["finalizers"] = []
    store.update(NS, ns)
    assert not exists(store, NS, "held", namespace=None)


def test_namespace_finalizer_removal_still_waits_for_contents(store: Store) -> None:
    """Dropping a Namespace's own finalizer does not remove it while content remains."""
    store.create(NS, {"metadata": {"name": "held", "finalizers": ["x"]}})
    obj = make(store, VM, "vm1", namespace="held", finalizers=("f",))
    ns = store.delete(NS, None, "held")
    ns["metadata"]["finalizers"] = []
    store.update(NS, ns)
    assert exists(store, NS, "held", namespace=None)
    obj = store.get(VM, "held", "vm1")
    obj["metadata"]["finalizers"] = []
    store.update(VM, obj)
    assert not exists(store, NS, "held", namespace=None)


def test_object_created_for_a_deleted_owner_is_collected(store: Store) -> None:
    """A controller acting on a stale cache creates a VMI for a VM just deleted: the API
    collects it at once (Kubernetes' garbage collector does the same), the creator still gets it."""
    vm = make(store, VM, "gone")
    store.delete(VM, "default", "gone")
    created = make(store, VMI, "gone", owners=(vm,))
    assert created["metadata"]["uid"]
    assert not exists(store, VMI, "gone")
    other = make(store, VM, "here")
    make(store, VMI, "kept", owners=(vm, other))   # one live owner is enough
    assert exists(store, VMI, "kept")
