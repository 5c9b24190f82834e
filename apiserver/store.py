"""SQLite persistence for the embedded API, with Kubernetes' storage semantics.

Owns the object table, the one global resourceVersion (etcd's revision: a
strictly increasing integer, bumped on every write to any resource), optimistic
concurrency, metadata.generation, finalizers and deletionTimestamp, owner
references with cascading deletion (what kube-controller-manager's garbage
collector and namespace controller do, done here synchronously), and the watch
log with compaction (410) and bookmarks. The HTTP layer and tests call it with
a `resources.Resource` and plain JSON dicts; it never decodes typed objects and
never runs admission (callers do, before writing).

Concurrency: one sqlite3 connection, shared by every thread and guarded by one
re-entrant lock; writes are `BEGIN IMMEDIATE` transactions under it, so writes
serialize and a reader never sees half a cascade. Watchers wait on a condition
variable over that lock and are woken after each commit; they never poll.
Durability: WAL with synchronous=FULL, so a returned write survives a crash.

Simplified against Kubernetes (on purpose, for one machine):
- The garbage collector runs inside the delete (or finalizer-removing update)
  that makes dependents dangling: Background deletes them in the same
  transaction, Foreground deletes them before the owner, Orphan strips their
  ownerReference at once (no `orphan` finalizer round trip). A dependent
  with another live owner only loses the reference to the gone owner. An object
  created with owners that are all gone already is collected right after its
  create (the creator gets 201, watchers see ADDED then DELETED); adding such a
  reference by update does not delete the object.
- Foreground deletion adds `foregroundDeletion` only when the owner has
  dependents; deleting an already-deleting object changes nothing.
- Namespace deletion marks the namespace Terminating (deletionTimestamp,
  status.phase), deletes its contents at once, and removes the namespace (its
  `kubernetes` spec finalizer) as soon as nothing is left in it; objects with
  finalizers keep it Terminating until they are gone.
- Creating an object with a status subresource drops .status (as CRDs do),
  except for Nodes, which Kubernetes lets register with a status.
- Name and namespace are the object's key, so an update cannot change them; the
  HTTP layer rejects a body whose name differs from the URL.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from apiserver import errors, selectors
from apiserver.resources import Resource
from protos.errors import FIELD_VALUE_INVALID, FIELD_VALUE_REQUIRED, FieldCause


SCHEMA_VERSION = 1
FOREGROUND = "foregroundDeletion"
NAMESPACE_FINALIZER = "kubernetes"
PROPAGATIONS = ("Background", "Foreground", "Orphan")
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' utilrand alphabet
_GENERATE_TRIES = 8
_LOG_BATCH = 500
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")

_SCHEMA = """
CREATE TABLE objects (
    res TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    uid TEXT NOT NULL UNIQUE, rv INTEGER NOT NULL, json TEXT NOT NULL,
    PRIMARY KEY (res, namespace, name));
CREATE TABLE log (
    rv INTEGER PRIMARY KEY, res TEXT NOT NULL, namespace TEXT NOT NULL,
    type TEXT NOT NULL, json TEXT NOT NULL, prev TEXT);
CREATE INDEX log_by_res ON log (res, rv);
CREATE TABLE refs (
    owner_uid TEXT NOT NULL, res TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    PRIMARY KEY (owner_uid, res, namespace, name));
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta (key, value) VALUES ('rv', '0'), ('compacted', '0');
"""

_Key = tuple[str, str, str]  # resource key, namespace ("" when cluster-scoped), name


def _dumps(obj: dict) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _meta(obj: dict) -> dict:
    return obj.setdefault("metadata", {})


def _key_of(res_key: str, obj: dict) -> _Key:
    meta = obj["metadata"]
    return res_key, meta.get("namespace") or "", meta["name"]


class Store:
    """Kubernetes object storage on one SQLite file. Thread-safe."""

    def __init__(self, path: str, compaction_keep: int = 10000, *,
                 require_namespaces: bool = True,
                 clock: Callable[[], float] = time.time) -> None:
        if compaction_keep < 1:
            raise ValueError("compaction_keep must be at least 1")
        self._keep = compaction_keep
        self._require_namespaces = require_namespaces
        self._clock = clock
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._closed = False
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise RuntimeError(f"Failed to put {path} in WAL mode (got {mode})")
        self._db.execute("PRAGMA synchronous=FULL")
        self._migrate(path)
        meta = dict(self._db.execute("SELECT key, value FROM meta"))
        self._rv = int(meta["rv"])
        self._compacted = int(meta["compacted"])

    def _migrate(self, path: str) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"Store {path} has schema {version}; this virtnode knows up to "
                               f"{SCHEMA_VERSION}")
        if version == 0:
            self._db.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._db.execute("COMMIT")

    # -- life cycle ---------------------------------------------------------

    def close(self) -> None:
        """End every watch and close the database."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def resource_version(self) -> int:
        with self._lock:
            return self._rv

    # -- reads --------------------------------------------------------------

    def get(self, res: Resource, namespace: str | None, name: str) -> dict:
        ns = self._scope(res, namespace)
        with self._lock:
            self._check_open()
            obj = self._load(res.key, ns, name)
        if obj is None:
            raise errors.not_found(res.key, name)
        return obj

    def list(self, res: Resource, namespace: str | None = None, label_selector: str = "",
             field_selector: str = "") -> tuple[list[dict], str]:
        """Matching objects ordered by namespace and name, and the store's resourceVersion."""
        match = self._matcher(res, label_selector, field_selector)
        with self._lock:
            self._check_open()
            rows = self._rows(res, namespace)
            rv = self._rv
        items = [obj for obj in (json.loads(r) for r in rows) if match is None or match(obj)]
        return items, str(rv)

    def _rows(self, res: Resource, namespace: str | None) -> list[str]:
        if res.namespaced and namespace:
            cur = self._db.execute("SELECT json FROM objects WHERE res=? AND namespace=? "
                                   "ORDER BY namespace, name", (res.key, namespace))
        else:
            cur = self._db.execute("SELECT json FROM objects WHERE res=? ORDER BY namespace, name",
                                   (res.key,))
        return [row[0] for row in cur]

    def _matcher(self, res: Resource, label_selector: str | None,
                 field_selector: str | None) -> Callable[[dict], bool] | None:
        labels = selectors.parse_labels(label_selector)
        fields = selectors.parse_fields(
            field_selector,
            selectors.DEFAULT_FIELDS + tuple(res.extra.get("fieldSelectors", ())))
        if labels.empty and fields.empty:
            return None
        return lambda obj: labels.matches_object(obj) and fields.matches(obj)

    # -- writes -------------------------------------------------------------

    def create(self, res: Resource, obj: dict) -> dict:
        obj = self._prepare(res, obj)
        meta = obj["metadata"]
        if meta.get("resourceVersion"):
            raise errors.BadRequest("resourceVersion should not be set on objects to be created")
        ns = meta.get("namespace") or ""
        name, generate = meta.get("name") or "", meta.get("generateName") or ""
        if not name and not generate:
            raise errors.invalid(res.kind, res.group, "", [FieldCause(
                "metadata.name", "Required value: name or generateName is required",
                FIELD_VALUE_REQUIRED)])
        if name:
            self._check_name(res, name)
        self._check_metadata(res, name or generate, meta)
        for field in ("uid", "deletionTimestamp", "deletionGracePeriodSeconds",
                      "resourceVersion"):
            meta.pop(field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = self._now()
        meta["generation"] = 1
        if "status" in res.subresources and res.key != "nodes":
            obj.pop("status", None)
        if res.key == "namespaces":
            spec = obj.setdefault("spec", {})
            spec.setdefault("finalizers", [NAMESPACE_FINALIZER])
            obj["status"] = {"phase": "Active"}
        with self._write():
            if res.namespaced:
                self._check_namespace(res, ns, name or generate)
            if not name:
                name = self._generate_name(res, ns, generate)
                meta["name"] = name
            elif self._exists(res.key, ns, name):
                raise errors.already_exists(res.key, name)
            created = self._put(res.key, obj, "ADDED", None)
            refs = meta.get("ownerReferences") or ()
            if refs and all(self._load_uid(r["uid"]) is None for r in refs):
                # Every owner is already gone (a controller acting on a stale cache):
                # the garbage collector deletes the orphan, as Kubernetes' does.
                self._delete_object(res.key, copy.deepcopy(created), "Background")
            return created

    def update(self, res: Resource, obj: dict, subresource: str | None = None) -> dict:
        if subresource is not None and (subresource != "status"
                                        or "status" not in res.subresources):
            raise errors.BadRequest(f"{res.key} has no {subresource} subresource that "
                                    f"can be updated here")
        obj = self._prepare(res, obj)
        meta = obj["metadata"]
        ns, name = meta.get("namespace") or "", meta.get("name") or ""
        if not name:
            raise errors.BadRequest("name is required for an update (metadata.name)")
        with self._write():
            old = self._load(res.key, ns, name)
            if old is None:
                raise errors.not_found(res.key, name)
            old_meta = old["metadata"]
            want = meta.get("resourceVersion")
            if want and str(want) != old_meta["resourceVersion"]:
                raise errors.conflict(res.key, name)
            self._check_immutable(res, name, meta, old_meta)
            if subresource == "status":
                new = copy.deepcopy(old)
                self._carry(obj, new, "status")
            else:
                new = obj
                self._check_metadata(res, name, meta)
                new_meta = new["metadata"]
                for field in ("uid", "creationTimestamp", "deletionTimestamp",
                              "deletionGracePeriodSeconds"):
                    self._carry(old_meta, new_meta, field)
                if "status" in res.subresources:
                    self._carry(old, new, "status")
                if res.key == "namespaces":  # spec.finalizers change only through finalize
                    self._carry(old, new, "spec")
                if old_meta.get("deletionTimestamp"):
                    added = set(new_meta.get("finalizers") or ()) - set(
                        old_meta.get("finalizers") or ())
                    if added:
                        raise errors.invalid(res.kind, res.group, name, [FieldCause(
                            "metadata.finalizers", "Forbidden: no new finalizers can be added "
                            "if the object is being deleted, found new finalizers "
                            f"{sorted(added)}", FIELD_VALUE_INVALID)])
            new_meta = new["metadata"]
            new_meta["resourceVersion"] = old_meta["resourceVersion"]
            new_meta["generation"] = old_meta.get("generation", 1) + (
                1 if self._spec_changed(res, old, new) else 0)
            if new == old:
                return old  # Kubernetes skips no-op updates: no write, no event
            if (new_meta.get("deletionTimestamp") and not new_meta.get("finalizers")
                    and res.key != "namespaces"):  # a namespace also waits for its contents
                new_meta.pop("finalizers", None)
                removed = self._remove(res.key, new, old)
                self._owners_released(old, removed)
                return removed
            stored = self._put(res.key, new, "MODIFIED", old)
            self._owners_released(old, new)
            if res.key == "namespaces":
                self._finish_namespace(name)  # its own metadata.finalizers may be gone now
                return self._load(res.key, "", name) or stored
            return stored

    def delete(self, res: Resource, namespace: str | None, name: str,
               propagation: str | None = "Background",
               preconditions: dict | None = None) -> dict:
        """Delete (or start deleting) one object; returns its last state."""
        propagation = propagation or "Background"
        if propagation not in PROPAGATIONS:
            raise errors.BadRequest(f'propagationPolicy: Unsupported value: "{propagation}": '
                                    f'supported values: "Background", "Foreground", "Orphan"')
        ns = self._scope(res, namespace)
        with self._write():
            obj = self._load(res.key, ns, name)
            if obj is None:
                raise errors.not_found(res.key, name)
            meta = obj["metadata"]
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != meta["uid"]:
                raise errors.conflict(res.key, name, f"Precondition failed: UID in precondition: "
                                      f"{pre['uid']}, UID in object meta: {meta['uid']}")
            want = pre.get("resourceVersion")
            if want and str(want) != meta["resourceVersion"]:
                raise errors.conflict(
                    res.key, name, f"Precondition failed: ResourceVersion in precondition: "
                    f"{want}, ResourceVersion in object meta: {meta['resourceVersion']}")
            return self._delete_object(res.key, obj, propagation)

    # -- watch --------------------------------------------------------------

    def watch(self, res: Resource, namespace: str | None = None,
              resource_version: str | int | None = None, label_selector: str = "",
              field_selector: str = "", bookmarks: bool = False,
              bookmark_interval: float = 60.0, timeout: float | None = None) -> Watch:
        """Events after `resource_version`; None or "0" starts with the current objects."""
        match = self._matcher(res, label_selector, field_selector)
        ns = namespace if res.namespaced and namespace else None
        rv_text = "" if resource_version is None else str(resource_version)
        with self._lock:
            self._check_open()
            if rv_text in ("", "0"):
                rows = self._rows(res, ns)
                start = self._rv
                initial = [("ADDED", obj) for obj in (json.loads(r) for r in rows)
                           if match is None or match(obj)]
            else:
                try:
                    start = int(rv_text)
                except ValueError:
                    raise errors.BadRequest(f'invalid resource version "{rv_text}"') from None
                if start < self._compacted:
                    raise errors.expired(start, self._compacted)
                initial = []
        return Watch(self, res, ns, start, initial, match, bookmarks, bookmark_interval, timeout)

    def _log_after(self, res_key: str, namespace: str | None, after: int) -> list[tuple]:
        if namespace:
            cur = self._db.execute(
                "SELECT rv, type, json, prev FROM log WHERE res=? AND namespace=? AND rv>? "
                "ORDER BY rv LIMIT ?", (res_key, namespace, after, _LOG_BATCH))
        else:
            cur = self._db.execute(
                "SELECT rv, type, json, prev FROM log WHERE res=? AND rv>? ORDER BY rv LIMIT ?",
                (res_key, after, _LOG_BATCH))
        return cur.fetchall()

    # -- checks -------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise errors.InternalError("The store is closed")

    @staticmethod
    def _scope(res: Resource, namespace: str | None) -> str:
        if res.namespaced and not namespace:
            raise errors.BadRequest(f"{res.key} is namespaced: a namespace is required")
        if not res.namespaced and namespace:
            raise errors.BadRequest(f"{res.key} is cluster-scoped: no namespace may be given")
        return namespace or ""

    def _prepare(self, res: Resource, obj: dict) -> dict:
        if not isinstance(obj, dict) or not isinstance(obj.get("metadata", {}), dict):
            raise errors.BadRequest("the object must be a JSON object with a metadata object")
        obj = copy.deepcopy(obj)
        for field, want in (("apiVersion", res.api_version), ("kind", res.kind)):
            got = obj.get(field)
            if got and got != want:
                raise errors.BadRequest(f"the {field} in the data ({got}) does not match the "
                                        f"expected {field} ({want})")
        rest = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        obj = {"apiVersion": res.api_version, "kind": res.kind, **rest}
        meta = _meta(obj)
        self._scope(res, meta.get("namespace"))
        if not res.namespaced:
            meta.pop("namespace", None)
        return obj

    def _check_name(self, res: Resource, name: str) -> None:
        label = res.key == "namespaces"  # namespace names are DNS labels, others subdomains
        limit = 63 if label else 253
        if len(name) > limit or not (_DNS_LABEL if label else _DNS_SUBDOMAIN).fullmatch(name):
            what = "RFC 1123 label" if label else "RFC 1123 subdomain"
            raise errors.invalid(res.kind, res.group, name, [FieldCause(
                "metadata.name", f'Invalid value: "{name}": a lowercase {what} must consist of '
                f"lower case alphanumeric characters, '-' or '.', and must start and end with "
                f"an alphanumeric character (at most {limit} characters)")])

    @staticmethod
    def _check_metadata(res: Resource, name: str, meta: dict) -> None:
        causes: list[FieldCause] = []
        labels = meta.get("labels") or {}
        if not isinstance(labels, dict):
            causes.append(FieldCause("metadata.labels", "Invalid value: must be a map"))
            labels = {}
        for key, value in labels.items():
            why = selectors.label_key_error(key)
            if why:
                causes.append(FieldCause("metadata.labels", f'Invalid value: "{key}": {why}'))
            why = (selectors.label_value_error(value) if isinstance(value, str)
                   else "must be a string")
            if why:
                causes.append(FieldCause(f"metadata.labels.{key}", f'Invalid value: "{value}": '
                                         f"{why}"))
        annotations = meta.get("annotations") or {}
        if not isinstance(annotations, dict) or not all(
                isinstance(v, str) for v in annotations.values()):
            causes.append(FieldCause("metadata.annotations",
                                     "Invalid value: must be a map of strings"))
        finalizers = meta.get("finalizers") or []
        if not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers):
            causes.append(FieldCause("metadata.finalizers",
                                     "Invalid value: must be a list of strings"))
        refs = meta.get("ownerReferences") or []
        if not isinstance(refs, list) or not all(
                isinstance(r, dict) and r.get("uid") for r in refs):
            causes.append(FieldCause("metadata.ownerReferences",
                                     "Invalid value: every owner reference needs a uid",
                                     FIELD_VALUE_REQUIRED))
        if causes:
            raise errors.invalid(res.kind, res.group, name, causes)

    @staticmethod
    def _check_immutable(res: Resource, name: str, meta: dict, old_meta: dict) -> None:
        causes = [FieldCause(f"metadata.{field}",
                             f'Invalid value: "{meta[field]}": field is immutable')
                  for field in ("uid", "creationTimestamp")
                  if meta.get(field) and meta[field] != old_meta.get(field)]
        if causes:
            raise errors.invalid(res.kind, res.group, name, causes)

    def _check_namespace(self, res: Resource, ns: str, name: str) -> None:
        namespace = self._load("namespaces", "", ns)
        if namespace is None:
            if self._require_namespaces:
                raise errors.not_found("namespaces", ns)
            return
        if namespace["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(
                res.key, name, f"unable to create new content in namespace {ns} because it "
                "is being terminated",
                [FieldCause("metadata.namespace", f"namespace {ns} is being terminated",
                            "NamespaceTerminating")])

    @staticmethod
    def _spec_changed(res: Resource, old: dict, new: dict) -> bool:
        skip = {"metadata", "apiVersion", "kind"}
        if "status" in res.subresources:
            skip.add("status")
        keys = (set(old) | set(new)) - skip
        return any(old.get(k) != new.get(k) for k in keys)

    @staticmethod
    def _carry(src: dict, dst: dict, field: str) -> None:
        if field in src:
            dst[field] = copy.deepcopy(src[field])
        else:
            dst.pop(field, None)

    def _now(self) -> str:
        return datetime.fromtimestamp(self._clock(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _generate_name(self, res: Resource, ns: str, prefix: str) -> str:
        for _ in range(_GENERATE_TRIES):
            name = prefix + "".join(secrets.choice(_GENERATE_ALPHABET) for _ in range(5))
            if not self._exists(res.key, ns, name):
                self._check_name(res, name)
                return name
        raise errors.already_exists(res.key, prefix)

    # -- the transaction and its primitives ---------------------------------

    @contextmanager
    def _write(self) -> Iterator[None]:
        with self._cond:
            self._check_open()
            start_rv, start_compacted = self._rv, self._compacted
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                if self._rv != start_rv:
                    self._db.execute("UPDATE meta SET value=? WHERE key='rv'", (str(self._rv),))
                    self._compact()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._rv, self._compacted = start_rv, start_compacted
                raise
            if self._rv != start_rv:
                self._cond.notify_all()

    def _compact(self) -> None:
        cutoff = self._rv - self._keep
        if cutoff > self._compacted:
            self._db.execute("DELETE FROM log WHERE rv<=?", (cutoff,))
            self._db.execute("UPDATE meta SET value=? WHERE key='compacted'", (str(cutoff),))
            self._compacted = cutoff

    def _load(self, res_key: str, ns: str, name: str) -> dict | None:
        row = self._db.execute("SELECT json FROM objects WHERE res=? AND namespace=? AND name=?",
                               (res_key, ns, name)).fetchone()
        return json.loads(row[0]) if row else None

    def _exists(self, res_key: str, ns: str, name: str) -> bool:
        return self._db.execute("SELECT 1 FROM objects WHERE res=? AND namespace=? AND name=?",
                                (res_key, ns, name)).fetchone() is not None

    def _load_uid(self, uid: str) -> tuple[str, dict] | None:
        row = self._db.execute("SELECT res, json FROM objects WHERE uid=?", (uid,)).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def _dependents(self, owner_uid: str) -> list[_Key]:
        return self._db.execute("SELECT res, namespace, name FROM refs WHERE owner_uid=? "
                                "ORDER BY res, namespace, name", (owner_uid,)).fetchall()

    def _log(self, res_key: str, ns: str, kind: str, obj: dict, prev: dict | None) -> None:
        self._db.execute("INSERT INTO log (rv, res, namespace, type, json, prev) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         (self._rv, res_key, ns, kind, _dumps(obj),
                          _dumps(prev) if prev is not None else None))

    def _put(self, res_key: str, obj: dict, kind: str, prev: dict | None) -> dict:
        """Store `obj` under a new resourceVersion and log the event."""
        self._rv += 1
        meta = obj["metadata"]
        meta["resourceVersion"] = str(self._rv)
        key = _key_of(res_key, obj)
        self._db.execute("INSERT OR REPLACE INTO objects (res, namespace, name, uid, rv, json) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (*key, meta["uid"], self._rv, _dumps(obj)))
        self._db.execute("DELETE FROM refs WHERE res=? AND namespace=? AND name=?", key)
        self._db.executemany("INSERT OR IGNORE INTO refs (owner_uid, res, namespace, name) "
                             "VALUES (?, ?, ?, ?)",
                             [(r["uid"], *key) for r in meta.get("ownerReferences") or ()])
        self._log(res_key, key[1], kind, obj, prev)
        return obj

    def _remove(self, res_key: str, obj: dict, prev: dict) -> dict:
        """Remove the object for good, then let what depended on it move on."""
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        key = _key_of(res_key, obj)
        self._db.execute("DELETE FROM objects WHERE res=? AND namespace=? AND name=?", key)
        self._db.execute("DELETE FROM refs WHERE res=? AND namespace=? AND name=?", key)
        self._log(res_key, key[1], "DELETED", obj, prev)
        uid = obj["metadata"]["uid"]
        for dep_key in self._dependents(uid):
            self._collect(dep_key, uid, "Background")
        self._owners_released(obj, None)
        if key[1]:
            self._finish_namespace(key[1])
        return obj

    # -- deletion, garbage collection, namespaces ---------------------------

    def _delete_object(self, res_key: str, obj: dict, propagation: str) -> dict:
        meta = obj["metadata"]
        if res_key == "namespaces":
            return self._delete_namespace(obj)
        if meta.get("deletionTimestamp"):
            return obj
        uid = meta["uid"]
        prev = copy.deepcopy(obj)
        if propagation == "Orphan":
            self._orphan(uid)
        foreground = propagation == "Foreground" and bool(self._dependents(uid))
        if foreground:
            meta["finalizers"] = [*(meta.get("finalizers") or ()), FOREGROUND]
        if not meta.get("finalizers"):
            return self._remove(res_key, obj, prev)
        meta["deletionTimestamp"] = self._now()
        meta["deletionGracePeriodSeconds"] = 0
        self._put(res_key, obj, "MODIFIED", prev)
        if foreground:
            for dep_key in self._dependents(uid):
                self._collect(dep_key, uid, "Foreground")
            self._finish_foreground(uid)
        return self._load(*_key_of(res_key, obj)) or obj

    def _collect(self, dep_key: _Key, owner_uid: str, propagation: str) -> None:
        """What the garbage collector does to a dependent whose owner is going away."""
        dep = self._load(*dep_key)
        if dep is None:
            return
        refs = dep["metadata"].get("ownerReferences") or []
        for ref in refs:
            if ref["uid"] == owner_uid:
                continue
            found = self._load_uid(ref["uid"])
            if found is None:
                continue
            owner_meta = found[1]["metadata"]
            waiting = owner_meta.get("deletionTimestamp") and FOREGROUND in (
                owner_meta.get("finalizers") or ())
            if not waiting:  # another owner holds it: only drop the reference
                self._strip_owner(dep_key[0], dep, owner_uid)
                return
        self._delete_object(dep_key[0], dep, propagation)

    def _strip_owner(self, res_key: str, dep: dict, owner_uid: str) -> None:
        prev = copy.deepcopy(dep)
        meta = dep["metadata"]
        meta["ownerReferences"] = [r for r in meta.get("ownerReferences") or ()
                                   if r["uid"] != owner_uid]
        if not meta["ownerReferences"]:
            del meta["ownerReferences"]
        self._put(res_key, dep, "MODIFIED", prev)

    def _orphan(self, owner_uid: str) -> None:
        for dep_key in self._dependents(owner_uid):
            dep = self._load(*dep_key)
            if dep is not None:
                self._strip_owner(dep_key[0], dep, owner_uid)

    def _owners_released(self, old: dict, new: dict | None) -> None:
        """Owners that `old` referenced and `new` no longer does may finish a foreground delete."""
        kept = {r["uid"] for r in (new or {}).get("metadata", {}).get("ownerReferences") or ()}
        for ref in old["metadata"].get("ownerReferences") or ():
            if ref["uid"] not in kept:
                self._finish_foreground(ref["uid"])

    def _finish_foreground(self, owner_uid: str) -> None:
        found = self._load_uid(owner_uid)
        if found is None:
            return
        res_key, owner = found
        meta = owner["metadata"]
        if (not meta.get("deletionTimestamp") or FOREGROUND not in (meta.get("finalizers") or ())
                or self._dependents(owner_uid)):
            return
        prev = copy.deepcopy(owner)
        meta["finalizers"] = [f for f in meta["finalizers"] if f != FOREGROUND]
        if meta["finalizers"]:
            self._put(res_key, owner, "MODIFIED", prev)
        else:
            del meta["finalizers"]
            self._remove(res_key, owner, prev)

    def _delete_namespace(self, ns_obj: dict) -> dict:
        meta = ns_obj["metadata"]
        name = meta["name"]
        if not meta.get("deletionTimestamp"):
            prev = copy.deepcopy(ns_obj)
            meta["deletionTimestamp"] = self._now()
            meta["deletionGracePeriodSeconds"] = 0
            ns_obj.setdefault("status", {})["phase"] = "Terminating"
            self._put("namespaces", ns_obj, "MODIFIED", prev)
        contents = self._db.execute("SELECT res, namespace, name FROM objects WHERE namespace=? "
                                    "ORDER BY res, name", (name,)).fetchall()
        for key in contents:
            obj = self._load(*key)
            if obj is not None:
                self._delete_object(key[0], obj, "Background")
        self._finish_namespace(name)
        return self._load("namespaces", "", name) or ns_obj

    def _finish_namespace(self, name: str) -> None:
        ns_obj = self._load("namespaces", "", name)
        if ns_obj is None or not ns_obj["metadata"].get("deletionTimestamp"):
            return
        if self._db.execute("SELECT 1 FROM objects WHERE namespace=? LIMIT 1",
                            (name,)).fetchone():
            return
        prev = copy.deepcopy(ns_obj)
        spec = ns_obj.setdefault("spec", {})
        spec["finalizers"] = [f for f in spec.get("finalizers") or () if f != NAMESPACE_FINALIZER]
        if not spec["finalizers"]:
            del spec["finalizers"]
        if ns_obj["metadata"].get("finalizers") or spec.get("finalizers"):
            if ns_obj != prev:
                self._put("namespaces", ns_obj, "MODIFIED", prev)
            return
        self._remove("namespaces", ns_obj, prev)


class Watch:
    """An iterator of (type, object) events; `close()` ends it from any thread.

    Types are ADDED, MODIFIED, DELETED, BOOKMARK, and ERROR (a `Status` object,
    then the end) when the watcher fell behind compaction.
    """

    def __init__(self, store: Store, res: Resource, namespace: str | None, start: int,
                 initial: list[tuple[str, dict]], match: Callable[[dict], bool] | None,
                 bookmarks: bool, bookmark_interval: float, timeout: float | None) -> None:
        self._store = store
        self._res = res
        self._namespace = namespace
        self._rv = start                       # every event up to here is delivered or skipped
        self._pending: deque[tuple[str, dict]] = deque(initial)
        self._match = match
        self._bookmark_interval = bookmark_interval if bookmarks else None
        now = time.monotonic()
        self._next_bookmark = now + bookmark_interval if bookmarks else None
        self._deadline = now + timeout if timeout is not None else None
        self._closed = False
        self._done = False

    @property
    def resource_version(self) -> str:
        """The resourceVersion up to which this watch has seen every event."""
        return str(self._rv)

    def close(self) -> None:
        self._closed = True
        with self._store._cond:
            self._store._cond.notify_all()

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Watch:
        return self

    def __next__(self) -> tuple[str, dict]:
        while not self._pending:
            if self._done or self._closed:
                raise StopIteration
            self._fill()
        return self._pending.popleft()

    def _fill(self) -> None:
        store = self._store
        now = time.monotonic()
        if self._deadline is not None and now >= self._deadline:
            self._done = True
            return
        with store._cond:
            if store._rv <= self._rv and not (self._closed or store._closed):
                waits = [t - now for t in (self._deadline, self._next_bookmark) if t is not None]
                store._cond.wait(max(0.0, min(waits)) if waits else None)
            if self._closed or store._closed:
                self._done = True
                return
            if self._rv < store._compacted:
                self._pending.append(("ERROR", errors.to_status(
                    errors.expired(self._rv, store._compacted))))
                self._done = True
                return
            rows = store._log_after(self._res.key, self._namespace, self._rv)
            seen = rows[-1][0] if len(rows) == _LOG_BATCH else max(store._rv, self._rv)
        for rv, kind, body, prev in rows:
            self._consider(rv, kind, body, prev)
        self._rv = seen
        if self._next_bookmark is not None and time.monotonic() >= self._next_bookmark:
            self._pending.append(("BOOKMARK", {
                "kind": self._res.kind, "apiVersion": self._res.api_version,
                "metadata": {"resourceVersion": str(self._rv)}}))
            self._next_bookmark = time.monotonic() + self._bookmark_interval

    def _consider(self, rv: int, kind: str, body: str, prev_body: str | None) -> None:
        obj = json.loads(body)
        if self._match is None:
            self._pending.append((kind, obj))
            return
        prev = json.loads(prev_body) if prev_body is not None else None
        was = prev is not None and self._match(prev)
        if kind == "DELETED":
            if was or self._match(obj):
                self._pending.append(("DELETED", obj))
            return
        now = self._match(obj)
        if now:
            self._pending.append(("MODIFIED" if was else "ADDED", obj))
        elif was:
            # Kubernetes: the previous content, at this event's resourceVersion.
            prev["metadata"]["resourceVersion"] = str(rv)
            self._pending.append(("DELETED", prev))
