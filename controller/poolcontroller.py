"""The VirtualMachinePool controller: each pool keeps its number of VMs, each VM its PVCs.

Owns the execution of `pool.plan(...)` (controller/pool.py decides): for a
pool it reads the VMs and PVCs of the pool's namespace from informers, creates
the PVCs and VMs the plan asks for (PVCs first: a VM names its claims), deletes
the VMs and then the PVCs it drops, records `SuccessfulCreate` /
`SuccessfulDelete` (or the Failed* Warnings) on the pool, and writes the
pool's status (replicas, readyReplicas, labelSelector, conditions) through the
status subresource. A pool whose selector does not select its own template is
refused for good: a Warning Event and the condition ReplicaFailure=True
(reason InvalidSelector), no retry until the pool changes. After acting it
waits (an expectation, like the VM controller's) until its informers have seen
every create and delete before it plans again. Scaling through the `scale`
subresource changes `spec.replicas`, which this controller sees as any other
spec change. Never touches a VM or PVC the pool does not own.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from controller import errors, events, pool
from controller.client import PERSISTENT_VOLUME_CLAIMS, VIRTUAL_MACHINE_POOLS, VIRTUAL_MACHINES, Client
from controller.informer import Informer, object_key
from controller.reconciler import Reconciler

log = logging.getLogger(__name__)

REPLICA_FAILURE = "ReplicaFailure"
INVALID_SELECTOR = "InvalidSelector"


# -- pure decisions ----------------------------------------------------------------------------

def owner_key(obj: dict) -> str | None:
    """`namespace/name` of the pool that controls obj, or None."""
    meta = obj.get("metadata") or {}
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == pool.POOL_KIND:
            return f"{meta.get('namespace') or 'default'}/{ref.get('name')}"
    return None


def pool_status(current: dict, planned: dict, failure: tuple[str, str] | None, now: datetime) -> dict:
    """The pool's status: the plan's counts, and ReplicaFailure while something keeps failing."""
    status = {**current, **planned}
    conditions = [c for c in current.get("conditions") or [] if c.get("type") != REPLICA_FAILURE]
    if failure is not None:
        old = next((c for c in current.get("conditions") or [] if c.get("type") == REPLICA_FAILURE), None)
        stamp = now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        since = old["lastTransitionTime"] if old and old.get("status") == "True" \
            and old.get("lastTransitionTime") else stamp
        conditions.append({"type": REPLICA_FAILURE, "status": "True", "reason": failure[0],
                           "message": failure[1], "lastTransitionTime": since})
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)
    return status


# -- the controller ----------------------------------------------------------------------------

@dataclass
class PoolControllerConfig:
    namespace: str | None = None  # None: every namespace
    workers: int = 2
    resync_period: float = 300.0
    expectation_ttl: float = 300.0


@dataclass
class _Expectation:
    present: set[str]   # VM names that must show up
    absent: set[str]    # VM names that must go
    deadline: float


class PoolController(Reconciler):
    name = "pool"
    kind = "VirtualMachinePool"

    def __init__(self, client: Client, recorder: events.Recorder,
                 config: PoolControllerConfig | None = None) -> None:
        self.client = client
        self.recorder = recorder
        self.config = config or PoolControllerConfig()
        cfg = self.config
        self.pools = Informer(client, VIRTUAL_MACHINE_POOLS, cfg.namespace, cfg.resync_period)
        self.vms = Informer(client, VIRTUAL_MACHINES, cfg.namespace, cfg.resync_period)
        self.pvcs = Informer(client, PERSISTENT_VOLUME_CLAIMS, cfg.namespace, cfg.resync_period)
        super().__init__([self.pools, self.vms, self.pvcs], self.config.workers)
        self._expect: dict[str, _Expectation] = {}
        self._expect_lock = threading.Lock()
        enqueue = lambda obj: self.queue.add(object_key(obj))  # noqa: E731
        self.pools.add_handlers(on_add=enqueue, on_update=lambda old, new: enqueue(new), on_delete=enqueue)
        for informer in (self.vms, self.pvcs):
            informer.add_handlers(on_add=self._enqueue_owner, on_update=self._owned_updated,
                                  on_delete=self._enqueue_owner)

    # -- event handlers -----------------------------------------------------------------------

    def _enqueue_owner(self, obj: dict) -> None:
        key = owner_key(obj)
        if key is not None:
            self.queue.add(key)

    def _owned_updated(self, old: dict, new: dict) -> None:
        if (old.get("metadata") or {}).get("resourceVersion") != (new.get("metadata") or {}).get("resourceVersion"):
            self._enqueue_owner(new)  # a resync of VMs and PVCs is covered by the pools' own

    # -- workers ------------------------------------------------------------------------------

    def _waiting(self, key: str, vm_names: set[str]) -> bool:
        """Our last creates or deletes are not all in the VM informer yet (and have not timed out)."""
        with self._expect_lock:
            expectation = self._expect.get(key)
            if expectation is None:
                return False
            met = expectation.present <= vm_names and not (expectation.absent & vm_names)
            if met or time.monotonic() > expectation.deadline:
                del self._expect[key]
                return False
            return True

    def sync(self, key: str) -> float | None:
        """Reconcile one pool; returns seconds after which to look again, or None."""
        obj = self.pools.get(key)
        if obj is None or (obj.get("metadata") or {}).get("deletionTimestamp"):
            with self._expect_lock:
                self._expect.pop(key, None)
            return None
        namespace = obj["metadata"].get("namespace") or "default"
        vms = [v for v in self.vms.list() if (v["metadata"].get("namespace") or "default") == namespace]
        if self._waiting(key, {v["metadata"]["name"] for v in vms}):
            return None  # the informer's events for those VMs enqueue the pool again
        pvcs = [p for p in self.pvcs.list() if (p["metadata"].get("namespace") or "default") == namespace]
        now = datetime.now(timezone.utc)
        try:
            plan = pool.plan(obj, vms, pvcs)
        except pool.PoolSelectorError as exc:
            log.warning("%s", exc)
            self.recorder.event(obj, events.WARNING, INVALID_SELECTOR, str(exc))
            self._write_status(obj, {}, (INVALID_SELECTOR, str(exc)), now)
            return None
        failure = None
        try:
            self._act(key, obj, plan)
        except errors.APIRequestError as exc:
            failure = ("FailedCreate" if exc.verb == "create" else "FailedDelete", exc.message)
            self._write_status(obj, plan.status, failure, now)
            raise
        self._write_status(obj, plan.status, failure, now)
        return None

    def _act(self, key: str, obj: dict, plan: pool.PoolPlan) -> None:
        namespace, name = obj["metadata"].get("namespace") or "default", obj["metadata"]["name"]
        if plan.create or plan.delete:
            with self._expect_lock:
                self._expect[key] = _Expectation({vm["metadata"]["name"] for vm in plan.create},
                                                 set(plan.delete), time.monotonic() + self.config.expectation_ttl)
        for pvc in plan.create_pvcs:
            self._create(obj, PERSISTENT_VOLUME_CLAIMS, namespace, pvc, "persistent volume claim")
        for vm in plan.create:
            self._create(obj, VIRTUAL_MACHINES, namespace, vm, "virtual machine")
        for vm_name in plan.delete:
            self._delete(obj, VIRTUAL_MACHINES, namespace, vm_name, "virtual machine")
        for pvc_name in plan.delete_pvcs:
            self._delete(obj, PERSISTENT_VOLUME_CLAIMS, namespace, pvc_name, "persistent volume claim")
        if plan.create or plan.delete:
            log.info("VirtualMachinePool %s/%s: created %s, deleted %s", namespace, name,
                     [vm["metadata"]["name"] for vm in plan.create] or "-", plan.delete or "-")

    def _create(self, obj: dict, kind, namespace: str, body: dict, what: str) -> None:
        name = body["metadata"]["name"]
        try:
            self.client.create(kind, namespace, body)
        except errors.AlreadyExistsError:
            return  # made by an earlier sync our informer had not seen yet
        except errors.APIRequestError as exc:
            self.recorder.event(obj, events.WARNING, events.FAILED_CREATE,
                                f"Error creating {what} {name}: {exc.message}")
            raise
        self.recorder.event(obj, events.NORMAL, events.SUCCESSFUL_CREATE, f"Created {what} {name}")

    def _delete(self, obj: dict, kind, namespace: str, name: str, what: str) -> None:
        try:
            self.client.delete(kind, namespace, name)
        except errors.NotFoundError:
            return
        except errors.APIRequestError as exc:
            self.recorder.event(obj, events.WARNING, events.FAILED_DELETE,
                                f"Error deleting {what} {name}: {exc.message}")
            raise
        self.recorder.event(obj, events.NORMAL, events.SUCCESSFUL_DELETE, f"Deleted {what} {name}")

    def _write_status(self, obj: dict, planned: dict, failure: tuple[str, str] | None, now: datetime) -> None:
        current = obj.get("status") or {}
        status = pool_status(current, planned, failure, now)
        if status == current:
            return
        self.client.replace_status(VIRTUAL_MACHINE_POOLS, obj["metadata"].get("namespace") or "default",
                                   dict(obj, status=status))
