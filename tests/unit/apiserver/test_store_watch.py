"""Watch: initial state, resume from a resourceVersion, 410 after compaction, bookmarks,
selector-driven DELETED, close and timeout."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from apiserver import errors
from apiserver.resources import BY_KEY
from apiserver.store import Store, Watch

NS = BY_KEY["namespaces"]
VM = BY_KEY["virtualmachines.kubevirt.io"]
VMI = BY_KEY["virtualmachineinstances.kubevirt.io"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(str(tmp_path / "state.db"), compaction_keep=20) as s:
        s.create(NS, {"metadata": {"name": "default"}})
        s.create(NS, {"metadata": {"name": "other"}})
        yield s


def vm(name: str, namespace: str = "default", **labels: str) -> dict:
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"running": False}}


def take(w: Watch, n: int) -> list[tuple[str, str]]:
    """The next n events as (type, name)."""
    out = []
    for _ in range(n):
        kind, obj = next(w)
        out.append((kind, obj["metadata"].get("name", "")))
    return out


def test_watch_from_zero_lists_then_follows(store: Store) -> None:
    """resource_version "0" (or None) sends current objects as ADDED, then live events."""
    store.create(VM, vm("a"))
    with store.watch(VM, "default", resource_version=None) as w:
        assert take(w, 1) == [("ADDED", "a")]
        store.create(VM, vm("b"))
        assert take(w, 1) == [("ADDED", "b")]
    with store.watch(VM, "default", resource_version="0") as w:
        assert take(w, 2) == [("ADDED", "a"), ("ADDED", "b")]
        store.create(VM, vm("c"))
        assert take(w, 1) == [("ADDED", "c")]


def test_watch_resumes_after_a_resource_version(store: Store) -> None:
    """A numeric resourceVersion replays every later event of this resource, in order."""
    a = store.create(VM, vm("a"))
    rv = a["metadata"]["resourceVersion"]
    a["spec"]["running"] = True
    store.update(VM, a)
    store.create(VMI, {"metadata": {"name": "noise", "namespace": "default"}})
    store.create(VM, vm("b"))
    store.delete(VM, "default", "a")
    with store.watch(VM, resource_version=rv) as w:
        events = [next(w) for _ in range(3)]
    assert [(t, o["metadata"]["name"]) for t, o in events] == [
        ("MODIFIED", "a"), ("ADDED", "b"), ("DELETED", "a")]
    rvs = [int(o["metadata"]["resourceVersion"]) for _, o in events]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)


def test_watch_filters_by_namespace(store: Store) -> None:
    """A namespaced watch sees only its namespace."""
    start = str(store.resource_version)
    store.create(VM, vm("x", namespace="other"))
    store.create(VM, vm("y"))
    with store.watch(VM, "default", resource_version=start) as w:
        assert take(w, 1) == [("ADDED", "y")]


def test_watch_too_old_is_gone(store: Store) -> None:
    """After compaction a watch from an older resourceVersion is 410 with Kubernetes' message."""
    first = store.create(VM, vm("a"))["metadata"]["resourceVersion"]
    for i in range(30):
        store.update(VM, {**vm("a"), "spec": {"i": i}})
    oldest_kept = store.resource_version - 20
    with pytest.raises(errors.Gone) as caught:
        store.watch(VM, resource_version=first)
    assert caught.value.code == 410
    assert str(caught.value) == f"too old resource version: {first} ({oldest_kept})"
    with store.watch(VM, resource_version=str(oldest_kept)) as w:
        assert next(w)[1]["spec"] == {"i": 10}


def test_compaction_survives_reopen(tmp_path: Path) -> None:
    """The compaction point is stored, so a reopened store still answers 410."""
    path = str(tmp_path / "db")
    with Store(path, compaction_keep=3, require_namespaces=False) as s:
        for i in range(10):
            s.create(VM, vm(f"v{i}"))
    with Store(path, compaction_keep=3, require_namespaces=False) as s:
        with pytest.raises(errors.Gone):
            s.watch(VM, resource_version="2")


def test_slow_watcher_overtaken_by_compaction_gets_error(store: Store) -> None:
    """A watcher that falls behind the kept log receives an ERROR Status 410 and ends."""
    start = str(store.resource_version)
    w = store.watch(VM, resource_version=start)
    for i in range(30):
        store.create(VM, vm(f"v{i}"))
    kind, status = next(w)
    assert kind == "ERROR"
    assert status["code"] == 410 and status["reason"] == "Expired"
    assert list(w) == []


def test_invalid_resource_version_is_bad_request(store: Store) -> None:
    """A resourceVersion that is not a number is a 400."""
    with pytest.raises(errors.BadRequest):
        store.watch(VM, resource_version="abc")


def test_bookmarks_carry_the_current_resource_version(store: Store) -> None:
    """With bookmarks on, a BOOKMARK with kind, apiVersion and resourceVersion arrives."""
    store.create(VMI, {"metadata": {"name": "noise", "namespace": "default"}})
    with store.watch(VM, resource_version="1", bookmarks=True, bookmark_interval=0.1) as w:
        kind, obj = next(w)
    assert kind == "BOOKMARK"
    assert obj == {"kind": "VirtualMachine", "apiVersion": "kubevirt.io/v1",
                   "metadata": {"resourceVersion": str(store.resource_version)}}


def test_no_bookmarks_unless_asked(store: Store) -> None:
    """Without bookmarks an idle watch yields nothing until its timeout."""
    with store.watch(VM, resource_version="0", timeout=0.3) as w:
        assert list(w) == []


def test_selector_stops_matching_gives_deleted(store: Store) -> None:
    """A watch with a label selector sees ADDED when an object starts matching and DELETED
    (previous content, new resourceVersion) when it stops."""
    obj = store.create(VM, vm("a", app="db"))
    with store.watch(VM, "default", label_selector="app=web",
                     resource_version=obj["metadata"]["resourceVersion"]) as w:
        obj["metadata"]["labels"] = {"app": "web"}
        obj = store.update(VM, obj)
        obj["spec"]["running"] = True
        obj = store.update(VM, obj)
        obj["metadata"]["labels"] = {"app": "db"}
        obj = store.update(VM, obj)
        store.delete(VM, "default", "a")
        events = [next(w) for _ in range(3)]
        assert [t for t, _ in events] == ["ADDED", "MODIFIED", "DELETED"]
        gone = events[2][1]
        assert gone["metadata"]["labels"] == {"app": "web"}
        assert gone["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]


def test_field_selector_watch(store: Store) -> None:
    """A field selector on metadata.name filters watch events."""
    with store.watch(VM, field_selector="metadata.name=b") as w:
        store.create(VM, vm("a"))
        store.create(VM, vm("b"))
        assert take(w, 1) == [("ADDED", "b")]


def test_initial_state_honours_selectors(store: Store) -> None:
    """The synthetic ADDED events are filtered by the selectors too."""
    store.create(VM, vm("a", app="web"))
    store.create(VM, vm("b", app="db"))
    with store.watch(VM, label_selector="app=web", timeout=0.2) as w:
        assert [(t, o["metadata"]["name"]) for t, o in w] == [("ADDED", "a")]


def test_watcher_is_woken_by_a_write_from_another_thread(store: Store) -> None:
    """A blocked watcher receives an event written by another thread promptly."""
    with store.watch(VM, resource_version=str(store.resource_version)) as w:
        timer = threading.Timer(0.1, store.create, args=(VM, vm("a")))
        timer.start()
        started = time.monotonic()
        assert take(w, 1) == [("ADDED", "a")]
        assert time.monotonic() - started < 2
        timer.join()


def test_close_ends_a_blocked_watch_promptly(store: Store) -> None:
    """close() from another thread ends an iterator that is waiting for events."""
    w = store.watch(VM, resource_version=str(store.resource_version))
    got: list = []
    reader = threading.Thread(target=lambda: got.extend(w))
    reader.start()
    time.sleep(0.1)
    started = time.monotonic()
    w.close()
    reader.join(2)
    assert not reader.is_alive()
    assert time.monotonic() - started < 1
    assert got == []


def test_closing_the_store_ends_watches(store: Store, tmp_path: Path) -> None:
    """Closing the store ends every watch on it."""
    s = Store(str(tmp_path / "second.db"), require_namespaces=False)
    w = s.watch(VM)
    reader = threading.Thread(target=lambda: list(w))
    reader.start()
    time.sleep(0.05)
    s.close()
    reader.join(2)
    assert not reader.is_alive()


def test_timeout_ends_the_watch(store: Store) -> None:
    """A watch with a timeout ends on its own after that many seconds."""
    started = time.monotonic()
    with store.watch(VM, resource_version=str(store.resource_version), timeout=0.3) as w:
        assert list(w) == []
    assert 0.25 < time.monotonic() - started < 2


def test_finalizer_flow_as_events(store: Store) -> None:
    """Delete with a finalizer is MODIFIED; removing the finalizer is DELETED."""
    obj = store.create(VM, {**vm("a"), "metadata": {**vm("a")["metadata"],
                                                   "finalizers": ["f"]}})
    with store.watch(VM, resource_version=obj["metadata"]["resourceVersion"]) as w:
        marked = store.delete(VM, "default", "a")
        marked["metadata"]["finalizers"] = []
        store.update(VM, marked)
        assert take(w, 2) == [("MODIFIED", "a"), ("DELETED", "a")]


def test_no_op_update_emits_no_event(store: Store) -> None:
    """A no-op update produces no watch event."""
    obj = store.create(VM, vm("a"))
    with store.watch(VM, resource_version=obj["metadata"]["resourceVersion"],
                     timeout=0.2) as w:
        store.update(VM, obj)
        assert list(w) == []
