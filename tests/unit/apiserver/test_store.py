"""The store's create, get, list and update follow Kubernetes' storage semantics."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from apiserver import errors
from apiserver.resources import BY_KEY
from apiserver.store import SCHEMA_VERSION, Store

NS = BY_KEY["namespaces"]
VM = BY_KEY["virtualmachines.kubevirt.io"]
NODE = BY_KEY["nodes"]
EVENT = BY_KEY["events"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(str(tmp_path / "state.db")) as s:
        s.create(NS, {"metadata": {"name": "default"}})
        yield s


def vm(name: str = "vm1", **meta: object) -> dict:
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": name, "namespace": "default", **meta},
            "spec": {"running": False}}


def test_database_is_wal_with_a_schema_version(tmp_path: Path) -> None:
    """The file is in WAL mode and carries the schema version for migrations."""
    path = str(tmp_path / "state.db")
    Store(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A database written by a newer schema is not opened."""
    path = str(tmp_path / "state.db")
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(RuntimeError, match="schema"):
        Store(path)


def test_create_fills_server_metadata(store: Store) -> None:
    """Create assigns uid, creationTimestamp (RFC 3339 Z), generation 1 and a resourceVersion."""
    created = store.create(VM, vm())
    meta = created["metadata"]
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["uid"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    assert meta["generation"] == 1
    assert meta["resourceVersion"] == str(store.resource_version)
    assert store.get(VM, "default", "vm1") == created


def test_resource_version_is_global_and_increasing(store: Store) -> None:
    """One counter across all resources, bumped on every write, survives reopening."""
    first = int(store.create(VM, vm("a"))["metadata"]["resourceVersion"])
    second = int(store.create(NODE, {"metadata": {"name": "n1"}})["metadata"]["resourceVersion"])
    third = int(store.create(VM, vm("b"))["metadata"]["resourceVersion"])
    assert first < second < third == store.resource_version


def test_resource_version_survives_reopen(tmp_path: Path) -> None:
    """Reopening the database continues from the stored resourceVersion."""
    path = str(tmp_path / "state.db")
    with Store(path, require_namespaces=False) as s:
        s.create(VM, vm("a"))
        rv = s.resource_version
    with Store(path, require_namespaces=False) as s:
        assert s.resource_version == rv
        assert int(s.create(VM, vm("b"))["metadata"]["resourceVersion"]) == rv + 1
        assert s.get(VM, "default", "a")["metadata"]["name"] == "a"


def test_create_existing_is_already_exists(store: Store) -> None:
    """A second create of the same name is 409 AlreadyExists with Kubernetes' message."""
    store.create(VM, vm())
    with pytest.raises(errors.AlreadyExists) as caught:
        store.create(VM, vm())
    assert str(caught.value) == 'virtualmachines.kubevirt.io "vm1" already exists'
    assert caught.value.code == 409


def test_generate_name(store: Store) -> None:
    """generateName appends five random lowercase alphanumerics."""
    body = vm()
    del body["metadata"]["name"]
    body["metadata"]["generateName"] = "web-"
    names = {store.create(VM, body)["metadata"]["name"] for _ in range(5)}
    assert len(names) == 5
    assert all(re.fullmatch(r"web-[a-z0-9]{5}", n) for n in names)


def test_name_or_generate_name_required(store: Store) -> None:
    """Without a name and generateName the create is 422 Invalid at metadata.name."""
    body = vm()
    del body["metadata"]["name"]
    with pytest.raises(errors.Invalid) as caught:
        store.create(VM, body)
    assert caught.value.causes[0].field == "metadata.name"


def test_invalid_name_and_labels(store: Store) -> None:
    """Names must be DNS subdomains; label keys and values are checked."""
    with pytest.raises(errors.Invalid, match="metadata.name"):
        store.create(VM, vm("Bad_Name"))
    with pytest.raises(errors.Invalid, match="metadata.labels"):
        store.create(VM, vm(labels={"-x": "y"}))


def test_resource_version_on_create_is_bad_request(store: Store) -> None:
    """Create refuses a body that carries a resourceVersion."""
    with pytest.raises(errors.BadRequest, match="resourceVersion should not be set"):
        store.create(VM, vm(resourceVersion="5"))


def test_namespace_required_and_refused(store: Store) -> None:
    """Namespaced objects need a namespace; cluster-scoped ones must not have one."""
    body = vm()
    del body["metadata"]["namespace"]
    with pytest.raises(errors.BadRequest):
        store.create(VM, body)
    with pytest.raises(errors.BadRequest):
        store.create(NODE, {"metadata": {"name": "n1", "namespace": "default"}})


def test_wrong_kind_is_bad_request(store: Store) -> None:
    """A body whose kind is not the resource's is rejected."""
    body = vm()
    body["kind"] = "VirtualMachineInstance"
    with pytest.raises(errors.BadRequest, match="kind"):
        store.create(VM, body)


def test_missing_namespace_is_not_found(store: Store) -> None:
    """Creating in a namespace that does not exist is NotFound for the namespace."""
    with pytest.raises(errors.NotFound) as caught:
        store.create(VM, vm(namespace="nowhere"))
    assert str(caught.value) == 'namespaces "nowhere" not found'


def test_namespaces_optional_when_asked(tmp_path: Path) -> None:
    """require_namespaces=False lets namespaced objects in without a Namespace."""
    with Store(str(tmp_path / "db"), require_namespaces=False) as s:
        assert s.create(VM, vm(namespace="anywhere"))["metadata"]["namespace"] == "anywhere"


def test_namespace_gets_active_phase_and_finalizer(store: Store) -> None:
    """A new Namespace is Active with the `kubernetes` spec finalizer."""
    ns = store.get(NS, None, "default")
    assert ns["status"] == {"phase": "Active"}
    assert ns["spec"]["finalizers"] == ["kubernetes"]


def test_create_drops_status_of_status_subresource(store: Store) -> None:
    """Status cannot be set on create when status is a subresource (Nodes excepted)."""
    assert "status" not in store.create(VM, {**vm(), "status": {"ready": True}})
    node = store.create(NODE, {"metadata": {"name": "n1"}, "status": {"capacity": {"cpu": "2"}}})
    assert node["status"] == {"capacity": {"cpu": "2"}}


def test_get_missing_is_not_found(store: Store) -> None:
    """Get of a missing object is 404 with Kubernetes' message and details."""
    with pytest.raises(errors.NotFound) as caught:
        store.get(VM, "default", "vm1")
    assert str(caught.value) == 'virtualmachines.kubevirt.io "vm1" not found'
    assert caught.value.details == {"name": "vm1", "group": "kubevirt.io",
                                    "kind": "virtualmachines"}


def test_list_filters_by_namespace_and_selectors(store: Store) -> None:
    """List orders by namespace and name and applies namespace, label and field selectors."""
    store.create(NS, {"metadata": {"name": "other"}})
    store.create(VM, vm("b", labels={"app": "web"}))
    store.create(VM, vm("a", labels={"app": "db"}))
    store.create(VM, vm("c", namespace="other", labels={"app": "web"}))
    items, rv = store.list(VM)
    assert [i["metadata"]["name"] for i in items] == ["a", "b", "c"]
    assert rv == str(store.resource_version)
    assert [i["metadata"]["name"] for i in store.list(VM, "default")[0]] == ["a", "b"]
    assert [i["metadata"]["name"] for i in store.list(VM, label_selector="app=web")[0]] == [
        "b", "c"]
    found = store.list(VM, field_selector="metadata.namespace!=default")[0]
    assert [i["metadata"]["name"] for i in found] == ["c"]
    with pytest.raises(errors.BadRequest, match="field label not supported: spec.running"):
        store.list(VM, field_selector="spec.running=false")
    with pytest.raises(errors.BadRequest, match="app in"):
        store.list(VM, label_selector="app in web")


def test_update_bumps_generation_on_spec_change_only(store: Store) -> None:
    """A spec change bumps generation; a label change does not."""
    obj = store.create(VM, vm())
    obj["spec"]["running"] = True
    obj = store.update(VM, obj)
    assert obj["metadata"]["generation"] == 2
    obj["metadata"]["labels"] = {"x": "y"}
    obj = store.update(VM, obj)
    assert obj["metadata"]["generation"] == 2
    assert obj["metadata"]["labels"] == {"x": "y"}


def test_update_with_stale_resource_version_is_conflict(store: Store) -> None:
    """An update naming an old resourceVersion is 409 Conflict with Kubernetes' message."""
    obj = store.create(VM, vm())
    store.update(VM, {**obj, "spec": {"running": True}})
    with pytest.raises(errors.Conflict) as caught:
        store.update(VM, {**obj, "spec": {"running": False}})
    assert str(caught.value) == (
        'Operation cannot be fulfilled on virtualmachines.kubevirt.io "vm1": the object has been '
        "modified; please apply your changes to the latest version and try again")


def test_update_without_resource_version_is_unconditional(store: Store) -> None:
    """Without metadata.resourceVersion the update applies to whatever is stored."""
    obj = store.create(VM, vm())
    store.update(VM, {**obj, "spec": {"running": True}})
    del obj["metadata"]["resourceVersion"]
    assert store.update(VM, {**obj, "spec": {"x": 1}})["spec"] == {"x": 1}


def test_concurrent_updates_exactly_one_conflict(store: Store) -> None:
    """Two threads updating from the same resourceVersion: one wins, one gets Conflict."""
    obj = store.create(VM, vm())
    results: list[str] = []
    barrier = threading.Barrier(2)

    def writer(value: int) -> None:
        barrier.wait()
        try:
            store.update(VM, {**obj, "spec": {"value": value}})
            results.append("ok")
        except errors.Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "ok"]


def test_update_missing_is_not_found(store: Store) -> None:
    """Update of an object that does not exist is NotFound."""
    with pytest.raises(errors.NotFound):
        store.update(VM, vm())


def test_immutable_metadata(store: Store) -> None:
    """uid and creationTimestamp cannot change (422); leaving them out keeps them."""
    obj = store.create(VM, vm())
    with pytest.raises(errors.Invalid, match="metadata.uid"):
        store.update(VM, {**obj, "metadata": {**obj["metadata"], "uid": "other"}})
    with pytest.raises(errors.Invalid, match="metadata.creationTimestamp"):
        store.update(VM, {**obj, "metadata": {**obj["metadata"],
                                              "creationTimestamp": "2000-01-01T00:00:00Z"}})
    bare = {"metadata": {"name": "vm1", "namespace": "default"}, "spec": {"x": 1}}
    updated = store.update(VM, bare)
    assert updated["metadata"]["uid"] == obj["metadata"]["uid"]
    assert updated["metadata"]["creationTimestamp"] == obj["metadata"]["creationTimestamp"]


def test_main_update_keeps_status(store: Store) -> None:
    """With a status subresource, an update of the main resource keeps the stored status."""
    obj = store.create(VM, vm())
    obj = store.update(VM, {**obj, "status": {"ready": True}}, subresource="status")
    obj = store.update(VM, {**obj, "spec": {"running": True}, "status": {"ready": False}})
    assert obj["status"] == {"ready": True}
    assert obj["spec"] == {"running": True}


def test_status_update_changes_only_status(store: Store) -> None:
    """The status subresource ignores spec and metadata and does not bump generation."""
    obj = store.create(VM, vm())
    body = {**obj, "spec": {"running": True}, "status": {"ready": True},
            "metadata": {**obj["metadata"], "labels": {"x": "y"}}}
    updated = store.update(VM, body, subresource="status")
    assert updated["status"] == {"ready": True}
    assert updated["spec"] == {"running": False}
    assert "labels" not in updated["metadata"]
    assert updated["metadata"]["generation"] == 1
    with pytest.raises(errors.Conflict):
        store.update(VM, body, subresource="status")


def test_status_subresource_must_exist(store: Store) -> None:
    """A status update of a resource without a status subresource is refused."""
    with pytest.raises(errors.BadRequest):
        store.update(EVENT, {"metadata": {"name": "e", "namespace": "default"}},
                     subresource="status")


def test_resource_without_status_subresource_replaces_status(store: Store) -> None:
    """Without a status subresource the whole object, status included, is replaced."""
    lease = BY_KEY["leases.coordination.k8s.io"]
    obj = store.create(lease, {"metadata": {"name": "l", "namespace": "default"},
                               "spec": {"holderIdentity": "a"}})
    obj = store.update(lease, {**obj, "status": {"x": 1}})
    assert obj["status"] == {"x": 1}


def test_no_op_update_writes_nothing(store: Store) -> None:
    """An update that changes nothing keeps the resourceVersion and writes no event."""
    obj = store.create(VM, vm())
    rv = store.resource_version
    same = store.update(VM, obj)
    assert same["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]
    assert store.resource_version == rv
    assert store.update(VM, obj, subresource="status") == obj
    assert store.resource_version == rv


def test_operations_after_close_fail(tmp_path: Path) -> None:
    """A closed store refuses work instead of touching a closed connection."""
    s = Store(str(tmp_path / "db"))
    s.close()
    with pytest.raises(errors.APIError):
        s.get(NODE, None, "n1")


def test_to_status_shapes_a_kubernetes_status(store: Store) -> None:
    """to_status gives kind Status, Failure, message, reason, details and code."""
    try:
        store.get(VM, "default", "vm1")
    except errors.APIError as err:
        status = errors.to_status(err)
    assert status == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'virtualmachines.kubevirt.io "vm1" not found', "reason": "NotFound",
        "details": {"name": "vm1", "group": "kubevirt.io", "kind": "virtualmachines"},
        "code": 404}


def test_to_status_of_invalid_lists_causes(store: Store) -> None:
    """An Invalid error's Status carries each cause with reason, message and field."""
    with pytest.raises(errors.Invalid) as caught:
        store.create(VM, vm("Bad_Name"))
    status = errors.to_status(caught.value)
    assert status["code"] == 422 and status["reason"] == "Invalid"
    assert status["message"].startswith('VirtualMachine.kubevirt.io "Bad_Name" is invalid: '
                                        'metadata.name: Invalid value: "Bad_Name"')
    assert status["details"]["kind"] == "VirtualMachine"
    assert status["details"]["causes"][0]["field"] == "metadata.name"
    assert status["details"]["causes"][0]["reason"] == "FieldValueInvalid"


def test_to_status_of_a_foreign_exception_is_internal_error() -> None:
    """Anything that is not an APIError becomes a 500 InternalError."""
    status = errors.to_status(ValueError("boom"))
    assert status["code"] == 500 and status["reason"] == "InternalError"
    assert "boom" in status["message"]


@pytest.mark.parametrize(("cls", "code", "reason"), [
    (errors.BadRequest, 400, "BadRequest"), (errors.Unauthorized, 401, "Unauthorized"),
    (errors.Forbidden, 403, "Forbidden"), (errors.NotFound, 404, "NotFound"),
    (errors.MethodNotAllowed, 405, "MethodNotAllowed"),
    (errors.AlreadyExists, 409, "AlreadyExists"), (errors.Conflict, 409, "Conflict"),
    (errors.Gone, 410, "Gone"), (errors.ResourceExpired, 410, "Expired"),
    (errors.UnsupportedMediaType, 415, "UnsupportedMediaType"), (errors.Invalid, 422, "Invalid"),
])
def test_error_codes_and_reasons(cls: type[errors.APIError], code: int, reason: str) -> None:
    """Each error class carries its HTTP status and StatusReason."""
    status = errors.to_status(cls("m"))
    assert (status["code"], status["reason"], status["message"]) == (code, reason, "m")


def test_generate_name_retries_on_collision(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A generated name that is taken is drawn again."""
    draws = iter("bbbbb" "bbbbb" "ccccc")
    monkeypatch.setattr("apiserver.store.secrets.choice", lambda alphabet: next(draws))
    body = vm()
    del body["metadata"]["name"]
    body["metadata"]["generateName"] = "web-"
    assert store.create(VM, body)["metadata"]["name"] == "web-bbbbb"
    assert store.create(VM, body)["metadata"]["name"] == "web-ccccc"


def test_namespace_update_keeps_spec_finalizers(store: Store) -> None:
    """An update cannot drop a Namespace's `kubernetes` finalizer."""
    ns = store.get(NS, None, "default")
    ns["spec"] = {}
    ns["metadata"]["labels"] = {"team": "a"}
    updated = store.update(NS, ns)
    assert updated["spec"]["finalizers"] == ["kubernetes"]
    assert updated["metadata"]["labels"] == {"team": "a"}
