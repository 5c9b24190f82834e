"""The VirtualMachine controller: each VM gets (or loses) its VirtualMachineInstance.

Owns the VM → VMI decision per runStrategy (KubeVirt's syncRunStrategy), the
execution of status.stateChangeRequests, crash-loop backoff after failed
starts (status.startFailure), and the VM's status (printableStatus, ready,
created, conditions Ready/Paused/Failure, observed/desiredGeneration). The
decisions are pure functions of (VM, VMI, now) at the top of this module; the
VMController below feeds them from two informers, acts through the API and
records Events. A VMI is stopped by deleting it (the node's handler owns the
grace period); a deleted VM takes its VMI along through the ownerReference
(the API's garbage collection), so no finalizer is needed. Never talks to a
node, never touches a VMI it does not own.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from controller import errors, events
from controller.client import VIRTUAL_MACHINE_INSTANCES, VIRTUAL_MACHINES, Client
from controller.informer import Informer, object_key
from controller.reconciler import Reconciler

log = logging.getLogger(__name__)

ALWAYS, RERUN_ON_FAILURE, MANUAL, HALTED, ONCE = "Always", "RerunOnFailure", "Manual", "Halted", "Once"
FINAL_PHASES = ("Succeeded", "Failed")
STARTING_PHASES = ("", "Pending", "Scheduling", "Scheduled")
VM_LABEL = "kubevirt.io/vm"
GENERATION_ANNOTATION = "kubevirt.io/vm-generation"
# A fixed namespace for stable firmware UUIDs: the same VM name gets the same SMBIOS UUID on every start.
_FIRMWARE_UUID_NS = uuid.UUID("6a1a24a1-4061-4607-8bf4-a3963d0c5895")

CREATE, DELETE, SET_ALWAYS = "create", "delete", "set-always"


# -- pure decision logic ---------------------------------------------------------------------

@dataclass(frozen=True)
class CrashLoopBackoff:
    """Delay before start n+1 after n consecutive failed starts: base * 2**(n-1), at most cap."""

    base: float = 10.0
    cap: float = 300.0

    def delay(self, failures: int) -> float:
        return min(self.cap, self.base * 2 ** min(max(failures, 1) - 1, 60))


@dataclass
class Plan:
    action: str | None = None
    requeue_after: float | None = None


def run_strategy(vm: dict) -> str:
    spec = vm.get("spec") or {}
    if spec.get("runStrategy"):
        return spec["runStrategy"]
    if spec.get("running") is not None:
        return ALWAYS if spec["running"] else HALTED
    return HALTED


def condition(obj: dict | None, kind: str) -> dict | None:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return c
    return None


def _phase(vmi: dict) -> str:
    return (vmi.get("status") or {}).get("phase") or ""


def is_final(vmi: dict | None) -> bool:
    return vmi is not None and _phase(vmi) in FINAL_PHASES


def _deleting(obj: dict | None) -> bool:
    return obj is not None and bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def was_running(vmi: dict | None) -> bool:
    """The VMI reached Running at some point (KubeVirt's wasVMIInRunningPhase)."""
    if vmi is None:
        return False
    if _phase(vmi) == "Running":
        return True
    return any(t.get("phase") == "Running" for t in (vmi.get("status") or {}).get("phaseTransitionTimestamps") or [])


def _requests(vm: dict) -> list[dict]:
    return list((vm.get("status") or {}).get("stateChangeRequests") or [])


def _uid(obj: dict | None) -> str:
    return ((obj or {}).get("metadata") or {}).get("uid", "")


def format_time(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def start_failure(vm: dict, vmi: dict | None, now: datetime, backoff: CrashLoopBackoff) -> dict | None:
    """status.startFailure after looking at the VMI (KubeVirt's syncStartFailureStatus).

    A VMI that ended without ever running counts as one more consecutive failure (once per
    VMI uid); a VMI that reached Running, or a runStrategy that never restarts, clears it.
    """
    current = (vm.get("status") or {}).get("startFailure")
    if was_running(vmi) or run_strategy(vm) not in (ALWAYS, RERUN_ON_FAILURE, ONCE):
        return None
    if vmi is not None and is_final(vmi):
        if current and current.get("lastFailedVMIUID") == _uid(vmi):
            return current
        count = int((current or {}).get("consecutiveFailCount") or 0) + 1
        retry = now + timedelta(seconds=backoff.delay(count))
        return {"consecutiveFailCount": count, "lastFailedVMIUID": _uid(vmi),
                "retryAfterTimestamp": format_time(retry)}
    return current


def backoff_left(vm: dict, now: datetime) -> float:
    failure = (vm.get("status") or {}).get("startFailure") or {}
    if not failure.get("retryAfterTimestamp"):
        return 0.0
    return max(0.0, (parse_time(failure["retryAfterTimestamp"]) - now).total_seconds())


def decide(vm: dict, vmi: dict | None, now: datetime) -> Plan:
    """What to do now for this VM and its (owned) VMI, per runStrategy and the first state change request."""
    if _deleting(vm):
        return Plan()
    strategy = run_strategy(vm)
    first = (_requests(vm) or [{}])[0]
    stop_requested = vmi is not None and first.get("action") == "Stop" and first.get("uid") == _uid(vmi)
    start_requested = first.get("action") == "Start"
    alive = vmi is not None and not _deleting(vmi)

    def start() -> Plan:
        wait = backoff_left(vm, now)
        return Plan(requeue_after=wait) if wait > 0 else Plan(CREATE)

    if strategy == ALWAYS:
        if vmi is not None:
            return Plan(DELETE) if alive and (stop_requested or is_final(vmi)) else Plan()
        return start()
    if strategy == RERUN_ON_FAILURE:
        if vmi is not None:
            restart = _phase(vmi) == "Failed" or (start_requested and is_final(vmi))
            return Plan(DELETE) if alive and (stop_requested or restart) else Plan()
        return start()
    if strategy == MANUAL:
        if vmi is not None:
            return Plan(DELETE) if alive and (stop_requested or (start_requested and is_final(vmi))) else Plan()
        return Plan(CREATE) if start_requested else Plan()
    if strategy == HALTED:
        if vmi is not None:
            return Plan(DELETE) if alive else Plan()
        return Plan(SET_ALWAYS) if start_requested else Plan()
    if strategy == ONCE:
        return Plan(CREATE) if vmi is None else Plan()
    return Plan()


def trim_requests(requests: list[dict], vmi: dict | None) -> list[dict]:
    """Drop the leading state change requests that are done (KubeVirt's isTrimFirstChangeRequestNeeded)."""
    requests = list(requests)
    while requests:
        first = requests[0]
        if first.get("action") == "Stop":
            done = vmi is None or not first.get("uid") or first.get("uid") != _uid(vmi)
        elif first.get("action") == "Start":
            done = vmi is not None and not is_final(vmi) and not _deleting(vmi)
        else:
            done = True  # an action we do not know can never be carried out
        if not done:
            break
        requests.pop(0)
    return requests


def printable_status(vm: dict, vmi: dict | None, pending: str | None = None) -> str:
    """KubeVirt's printableStatus, first match wins (Terminating ... Stopped, else Unknown)."""
    if _deleting(vm):
        return "Terminating"
    running_vmi = vmi is not None and not is_final(vmi)
    if running_vmi and (_deleting(vmi) or pending == DELETE):
        return "Stopping"
    migration = ((vmi or {}).get("status") or {}).get("migrationState")
    if running_vmi and migration and not migration.get("completed"):
        return "Migrating"
    paused = condition(vmi, "Paused")
    if running_vmi and paused and paused.get("status") == "True":
        return "Paused"
    if vmi is not None and _phase(vmi) == "Running":
        return "Running"
    scheduled = condition(vmi, "PodScheduled")
    if running_vmi and scheduled and scheduled.get("status") == "False" \
            and scheduled.get("reason") == "Unschedulable":
        return "ErrorUnschedulable"
    if (vmi is None and pending == CREATE) or (running_vmi and _phase(vmi) in STARTING_PHASES):
        return "Starting"
    failure = (vm.get("status") or {}).get("startFailure") or {}
    if not running_vmi and int(failure.get("consecutiveFailCount") or 0) > 0 \
            and run_strategy(vm) in (ALWAYS, RERUN_ON_FAILURE):
        return "CrashLoopBackOff"
    if not running_vmi:
        return "Stopped"
    return "Unknown"


def _set_condition(conditions: list[dict], new: dict, now: str) -> list[dict]:
    out = [c for c in conditions if c.get("type") != new["type"]]
    old = next((c for c in conditions if c.get("type") == new["type"]), None)
    cond = {k: v for k, v in new.items() if v not in (None, "")}
    cond["lastTransitionTime"] = old.get("lastTransitionTime") if old and old.get("status") == cond["status"] \
        and old.get("lastTransitionTime") else now
    if old and old.get("lastProbeTime"):
        cond["lastProbeTime"] = old["lastProbeTime"]
    out.append(cond)
    return out


def compute_status(vm: dict, vmi: dict | None, now: datetime, pending: str | None = None,
                   failure: tuple[str, str] | None = None, start_failure_status: dict | None = None) -> dict:
    """The VM's whole status for this VMI; equal to the stored one when nothing changed."""
    status = copy.deepcopy(vm.get("status") or {})
    stamp = format_time(now.replace(microsecond=0))[:-5] + "Z"
    status["created"] = vmi is not None
    ready = condition(vmi, "Ready")
    status["ready"] = vmi is not None and not is_final(vmi) and bool(ready and ready.get("status") == "True")
    conditions = list(status.get("conditions") or [])
    if vmi is None:
        conditions = _set_condition(conditions, {"type": "Ready", "status": "False", "reason": "VMINotExists",
                                                 "message": "VMI does not exist"}, stamp)
    elif ready is None:
        conditions = _set_condition(conditions, {"type": "Ready", "status": "False",
                                                 "reason": "VMIConditionMissing",
                                                 "message": "VMI is missing the Ready condition"}, stamp)
    else:
        conditions = _set_condition(conditions, {"type": "Ready", "status": ready.get("status", "Unknown"),
                                                 "reason": ready.get("reason"),
                                                 "message": ready.get("message")}, stamp)
    paused = condition(vmi, "Paused")
    if paused is not None and not is_final(vmi):
        conditions = _set_condition(conditions, {"type": "Paused", "status": paused.get("status", "Unknown"),
                                                 "reason": paused.get("reason"),
                                                 "message": paused.get("message")}, stamp)
    else:
        conditions = [c for c in conditions if c.get("type") != "Paused"]
    if failure is not None:
        conditions = _set_condition(conditions, {"type": "Failure", "status": "True", "reason": failure[0],
                                                 "message": failure[1]}, stamp)
    else:
        conditions = [c for c in conditions if c.get("type") != "Failure"]
    status["conditions"] = conditions
    requests = trim_requests(_requests(vm), vmi)
    if requests:
        status["stateChangeRequests"] = requests
    else:
        status.pop("stateChangeRequests", None)
    if start_failure_status:
        status["startFailure"] = start_failure_status
    else:
        status.pop("startFailure", None)
    view = dict(vm, status={**(vm.get("status") or {}), "startFailure": start_failure_status})
    status["printableStatus"] = printable_status(view, vmi, pending)
    generation = int((vm.get("metadata") or {}).get("generation") or 1)
    status["desiredGeneration"] = generation
    vmi_generation = ((vmi or {}).get("metadata") or {}).get("annotations", {}).get(GENERATION_ANNOTATION)
    status["observedGeneration"] = int(vmi_generation) if vmi_generation and vmi_generation.isdigit() \
        else generation
    status["runStrategy"] = run_strategy(vm)
    return status


def vmi_from_vm(vm: dict) -> dict:
    """The VMI a VM starts: its template, its name, a controller ownerReference to the VM."""
    meta = vm["metadata"]
    template = copy.deepcopy((vm.get("spec") or {}).get("template") or {})
    tmeta = template.get("metadata") or {}
    spec = template.get("spec") or {}
    first = (_requests(vm) or [{}])[0]
    if first.get("action") == "Start" and (first.get("data") or {}).get("paused") == "true":
        spec["startStrategy"] = "Paused"
    firmware = spec.setdefault("domain", {}).setdefault("firmware", {})
    firmware.setdefault("uuid", str(uuid.uuid5(_FIRMWARE_UUID_NS, meta["name"])))
    return {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
        "metadata": {
            "name": meta["name"], "namespace": meta.get("namespace"),
            "labels": {**(tmeta.get("labels") or {}), VM_LABEL: meta["name"]},
            "annotations": {**(tmeta.get("annotations") or {}),
                            GENERATION_ANNOTATION: str(meta.get("generation") or 1)},
            "ownerReferences": [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                                 "name": meta["name"], "uid": meta["uid"], "controller": True,
                                 "blockOwnerDeletion": True}],
        },
        "spec": spec,
    }


def controller_uid(obj: dict) -> str | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


# -- the controller ----------------------------------------------------------------------------

@dataclass
class VMControllerConfig:
    namespace: str | None = None  # None: every namespace
    workers: int = 2
    resync_period: float = 300.0
    backoff: CrashLoopBackoff = field(default_factory=CrashLoopBackoff)
    expectation_ttl: float = 300.0


class VMController(Reconciler):
    name = "vm"
    kind = "VirtualMachine"

    def __init__(self, client: Client, recorder: events.Recorder, config: VMControllerConfig | None = None) -> None:
        self.client = client
        self.recorder = recorder
        self.config = config or VMControllerConfig()
        cfg = self.config
        self.vms = Informer(client, VIRTUAL_MACHINES, cfg.namespace, cfg.resync_period)
        self.vmis = Informer(client, VIRTUAL_MACHINE_INSTANCES, cfg.namespace, cfg.resync_period)
        super().__init__([self.vms, self.vmis], self.config.workers)
        self._expect: dict[str, tuple[str, str, float]] = {}  # key -> (action, vmi uid, deadline)
        self._expect_lock = threading.Lock()
        self.vms.add_handlers(on_add=self._enqueue, on_update=lambda old, new: self._enqueue(new),
                              on_delete=self._enqueue)
        self.vmis.add_handlers(on_add=self._enqueue_owner, on_update=self._vmi_updated,
                               on_delete=self._enqueue_owner)

    # -- lifecycle ----------------------------------------------------------------------------

    # -- event handlers -----------------------------------------------------------------------

    def _enqueue(self, vm: dict) -> None:
        self.queue.add(object_key(vm))

    def _enqueue_owner(self, vmi: dict) -> None:
        # The VM that owns a VMI has the VMI's name (KubeVirt's naming), so the key is the same.
        self.queue.add(object_key(vmi))

    def _vmi_updated(self, old: dict, new: dict) -> None:
        if (old.get("metadata") or {}).get("resourceVersion") == (new.get("metadata") or {}).get("resourceVersion"):
            return  # a resync: the VM informer's resync covers it
        self._enqueue_owner(new)

    # -- workers ------------------------------------------------------------------------------

    def _pending(self, key: str, vmi: dict | None) -> str | None:
        """The create or delete this controller did and its informer has not seen yet."""
        with self._expect_lock:
            expectation = self._expect.get(key)
            if expectation is None:
                return None
            action, uid, deadline = expectation
            met = (vmi is not None) if action == CREATE else (vmi is None or _uid(vmi) != uid)
            if met or time.monotonic() > deadline:
                del self._expect[key]
                return None
            return action

    def _expect_(self, key: str, action: str, uid: str = "") -> None:
        with self._expect_lock:
            self._expect[key] = (action, uid, time.monotonic() + self.config.expectation_ttl)

    def sync(self, key: str) -> float | None:
        """Reconcile one VM; returns seconds after which to look again, or None."""
        vm = self.vms.get(key)
        if vm is None:
            with self._expect_lock:
                self._expect.pop(key, None)
            return None
        vmi = self.vmis.get(key)
        if vmi is not None and controller_uid(vmi) != _uid(vm):
            log.info("VMI %s is not controlled by VirtualMachine %s (uid %s); leaving it alone",
                     key, key, _uid(vm))
            self._write_status(vm, None, None, None, (vm.get("status") or {}).get("startFailure"))
            return 1.0 if controller_uid(vmi) else None
        now = datetime.now(timezone.utc)
        pending = self._pending(key, vmi)
        failure_status = start_failure(vm, vmi, now, self.config.backoff)
        current = (vm.get("status") or {}).get("startFailure")
        if failure_status and failure_status != current:
            # Record the failed start before acting on it, so the count survives any crash.
            log.info("VirtualMachine %s: start failure %d (VMI %s never ran)", key,
                     failure_status["consecutiveFailCount"], failure_status["lastFailedVMIUID"])
            self._write_status(vm, vmi, pending, None, failure_status)
            return None
        plan = Plan() if pending else decide(vm, vmi, now)
        failure = None
        try:
            pending = self._execute(key, vm, vmi, plan.action) or pending
        except errors.APIRequestError as exc:
            failure = ("FailedCreate" if plan.action == CREATE else "FailedDelete", exc.message)
            self._write_status(vm, vmi, pending, failure, failure_status)
            raise
        self._write_status(vm, vmi, pending, failure, failure_status)
        if pending:
            return self.config.expectation_ttl
        return plan.requeue_after

    def _execute(self, key: str, vm: dict, vmi: dict | None, action: str | None) -> str | None:
        namespace, name = vm["metadata"].get("namespace"), vm["metadata"]["name"]
        if action == CREATE:
            self._expect_(key, CREATE)
            try:
                self.client.create(VIRTUAL_MACHINE_INSTANCES, namespace, vmi_from_vm(vm))
            except errors.AlreadyExistsError:
                return CREATE  # our informer has not seen it yet
            except errors.APIRequestError as exc:
                with self._expect_lock:
                    self._expect.pop(key, None)
                self.recorder.event(vm, events.WARNING, events.FAILED_CREATE,
                                    f"Error creating virtual machine instance: {exc.message}")
                raise
            log.info("Started VirtualMachine %s by creating its VMI", key)
            self.recorder.event(vm, events.NORMAL, events.SUCCESSFUL_CREATE,
                                f"Started the virtual machine by creating the new virtual machine instance {name}")
            return CREATE
        if action == DELETE and vmi is not None:
            uid = _uid(vmi)
            self._expect_(key, DELETE, uid)
            try:
                self.client.delete(VIRTUAL_MACHINE_INSTANCES, namespace, name, uid=uid)
            except errors.NotFoundError:
                return DELETE
            except errors.APIRequestError as exc:
                with self._expect_lock:
                    self._expect.pop(key, None)
                self.recorder.event(vm, events.WARNING, events.FAILED_DELETE,
                                    f"Error deleting virtual machine instance {name}: {exc.message}")
                raise
            log.info("Stopped VirtualMachine %s by deleting VMI %s (phase %s)", key, uid, _phase(vmi) or "-")
            self.recorder.event(vm, events.NORMAL, events.SUCCESSFUL_DELETE,
                                f"Stopped the virtual machine by deleting the virtual machine instance {uid}")
            return DELETE
        if action == SET_ALWAYS:
            spec = vm.get("spec") or {}
            patch = {"spec": {"runStrategy": ALWAYS}} if spec.get("runStrategy") else {"spec": {"running": True}}
            self.client.patch(VIRTUAL_MACHINES, namespace, name, patch)
            log.info("VirtualMachine %s: start requested while Halted; runStrategy is now Always", key)
        return None

    def _write_status(self, vm: dict, vmi: dict | None, pending: str | None,
                      failure: tuple[str, str] | None, failure_status: dict | None) -> None:
        status = compute_status(vm, vmi, datetime.now(timezone.utc), pending, failure, failure_status)
        if status == (vm.get("status") or {}):
            return
        body = dict(vm, status=status)
        self.client.replace_status(VIRTUAL_MACHINES, vm["metadata"]["namespace"], body)
