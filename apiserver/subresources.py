"""KubeVirt's `subresources.kubevirt.io/v1` lifecycle verbs on the embedded API.

Owns what `PUT /apis/subresources.kubevirt.io/v1/namespaces/{ns}/virtualmachines/{name}/{start|
stop|restart}` and `.../virtualmachineinstances/{name}/{pause|unpause}` do to the stored objects,
with virt-api's rules (pkg/virt-api/rest/lifecycle.go), and the group's discovery documents. The
HTTP layer (apiserver/http.py `_subresource`) authenticates, authorizes (`update` on
`virtualmachines/start` in this group) and calls `serve`; this module never touches HTTP and never
runs admission: it changes only runStrategy/running, `status.stateChangeRequests`,
`status.startFailure`, a VMI's `spec.terminationGracePeriodSeconds` and the pause annotation.

| verb | runStrategy | effect |
|---|---|---|
| start | Halted | `spec.runStrategy: Always` (`spec.running: true` for a VM that uses `running`); with `paused`, a Start request with data `paused: "true"` instead |
| start | Manual, RerunOnFailure | Start request (Stop(old uid) + Start when the VMI finished; RerunOnFailure after Failed: 409) |
| start | Always, Once | 409 "... does not support manual start requests"; any live VMI: 409 "VM is already running" |
| stop | Always, Once | `spec.runStrategy: Halted` |
| stop | Manual, RerunOnFailure | Stop request naming the VMI's uid; no live VMI: 409 "VM is not running" |
| stop | Halted | only with a grace period shorter than the VMI's (a forced stop): Stop request |
| restart | Always, Manual, RerunOnFailure | requests [Stop(uid), Start]; no VMI: 409; Halted, Once: 409 |
| pause / unpause | - | annotation `virtnode.io/pause-requested: "true"/"false"` on the VMI |

`stop` with `gracePeriod` (and `restart` with `gracePeriodSeconds: 0`) first sets the running
VMI's `spec.terminationGracePeriodSeconds`, which the controller uses when it deletes the VMI.
Pause and unpause are forwarded by virt-api straight to virt-handler in KubeVirt; here the
annotation is the hand-off: the node's handler pauses or resumes the domain and sets the VMI's
`Paused` condition. A successful verb answers 202 with a `Status` of status Success.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from apiserver import errors, resources
from apiserver.resources import Resource
from apiserver.store import Store

GROUP = "subresources.kubevirt.io"
VERSION = "v1"
PREFIX = f"/apis/{GROUP}"
VM_VERBS = ("start", "stop", "restart")
VMI_VERBS = ("pause", "unpause")
PAUSE_ANNOTATION = "virtnode.io/pause-requested"
START_PAUSED_KEY = "paused"           # KubeVirt's StartRequestDataPausedKey
FINAL_PHASES = ("Succeeded", "Failed")
NOT_RUNNING = "VM is not running"
WRITE_ATTEMPTS = 5

VM = resources.BY_KEY["virtualmachines.kubevirt.io"]
VMI = resources.BY_KEY["virtualmachineinstances.kubevirt.io"]
# What RBAC sees: the same plurals in this group, with the verb as the subresource.
VM_SUBRESOURCES = Resource(GROUP, VERSION, "VirtualMachine", "virtualmachines", "virtualmachine", True,
                           subresources=VM_VERBS, verbs=("update",))
VMI_SUBRESOURCES = Resource(GROUP, VERSION, "VirtualMachineInstance", "virtualmachineinstances",
                            "virtualmachineinstance", True, subresources=VMI_VERBS, verbs=("update",))
# Messages name the object as virt-api does: v1.Resource("virtualmachine").
VM_NOUN = "virtualmachine.kubevirt.io"
VMI_NOUN = "virtualmachineinstance.kubevirt.io"


@dataclass(frozen=True)
class Request:
    """One lifecycle request: which object and which verb."""

    resource: Resource      # VM_SUBRESOURCES or VMI_SUBRESOURCES (for authorization)
    namespace: str
    name: str
    verb: str


def parse_path(path: str) -> Request:
    """The request a path under PREFIX names; NotFound for anything else under the group."""
    parts = [p for p in path.split("/") if p]
    if (len(parts) == 8 and parts[:3] == ["apis", GROUP, VERSION] and parts[3] == "namespaces"):
        plural, name, verb = parts[5], parts[6], parts[7]
        for res in (VM_SUBRESOURCES, VMI_SUBRESOURCES):
            if plural == res.plural and verb in res.subresources:
                return Request(res, parts[4], name, verb)
    raise errors.NotFound(f"the server could not find the requested resource ({path})")


def discovery_document(path: str) -> dict | None:
    """`/apis/subresources.kubevirt.io` (APIGroup) and `.../v1` (APIResourceList), else None."""
    parts = [p for p in path.split("/") if p]
    version = {"groupVersion": f"{GROUP}/{VERSION}", "version": VERSION}
    if parts == ["apis", GROUP]:
        return {"kind": "APIGroup", "apiVersion": "v1", "name": GROUP, "versions": [version],
                "preferredVersion": version}
    if parts == ["apis", GROUP, VERSION]:
        entries = [{"name": f"{res.plural}/{verb}", "singularName": "", "namespaced": True,
                    "kind": res.kind, "verbs": ["update"]}
                   for res in (VM_SUBRESOURCES, VMI_SUBRESOURCES) for verb in res.subresources]
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{GROUP}/{VERSION}",
                "resources": entries}
    return None


def serve(store: Store, request: Request, options: Any, dry_run: bool = False) -> dict:
    """Carries out `request` with its options body (StartOptions, StopOptions, ...).

    Returns the Status to answer with 202; raises errors.APIError (409 with virt-api's message
    when the VM's state does not allow the verb). `dry_run` (query `dryRun=All` or the body's
    `dryRun: ["All"]`) checks everything and writes nothing.
    """
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise errors.BadRequest(f"the {request.verb} options must be an object")
    dry_run = dry_run or "All" in (options.get("dryRun") or ())
    verb = {"start": _start, "stop": _stop, "restart": _restart, "pause": _pause,
            "unpause": _unpause}[request.verb]
    for attempt in range(WRITE_ATTEMPTS):  # the decision is re-made on the latest objects
        try:
            verb(store, request, options, dry_run)
            break
        except _Stale:
            if attempt == WRITE_ATTEMPTS - 1:
                raise errors.conflict(VM.key, request.name) from None
    kind = request.resource.kind
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 202,
            "message": f"{request.verb} request accepted for {kind} {request.namespace}/{request.name}"
                       + (" (dry run)" if dry_run else "")}


class _Stale(Exception):
    """An object changed between our read and our write: decide again."""


# --- reading ---------------------------------------------------------------------------------


def run_strategy(vm: dict) -> str:
    """The VM's effective runStrategy: spec.runStrategy, else spec.running (true: Always)."""
    spec = vm.get("spec") or {}
    if spec.get("runStrategy"):
        return spec["runStrategy"]
    return "Always" if spec.get("running") else "Halted"


def _get_vm(store: Store, req: Request) -> dict:
    try:
        return store.get(VM, req.namespace, req.name)
    except errors.NotFound:
        raise errors.NotFound(f'{VM_NOUN} "{req.name}" not found', name=req.name,
                              group="kubevirt.io", kind="virtualmachine") from None


def _get_vmi(store: Store, req: Request) -> dict | None:
    try:
        return store.get(VMI, req.namespace, req.name)
    except errors.NotFound:
        return None


def _phase(vmi: dict | None) -> str:
    return ((vmi or {}).get("status") or {}).get("phase") or ""


def _final(vmi: dict | None) -> bool:
    return _phase(vmi) in FINAL_PHASES


def _has_condition(vmi: dict, kind: str) -> bool:
    return any(c.get("type") == kind for c in (vmi.get("status") or {}).get("conditions") or ())


def _conflict(noun: str, name: str, why: str) -> errors.Conflict:
    plural, _, group = noun.partition(".")
    return errors.Conflict(f'Operation cannot be fulfilled on {noun} "{name}": {why}', name=name,
                           group=group, kind=plural)


# --- writing ---------------------------------------------------------------------------------


def _write(store: Store, res: Resource, obj: dict, subresource: str | None, dry_run: bool) -> None:
    if dry_run:
        return
    try:
        store.update(res, obj, subresource=subresource)
    except errors.Conflict:
        raise _Stale() from None


def _set_run_strategy(store: Store, vm: dict, running: bool, dry_run: bool) -> None:
    vm = copy.deepcopy(vm)
    spec = vm.setdefault("spec", {})
    if spec.get("runStrategy") or "running" not in spec:
        spec["runStrategy"] = "Always" if running else "Halted"
    else:
        spec["running"] = running
    _write(store, VM, vm, None, dry_run)


def _request_state_change(store: Store, vm: dict, changes: list[dict], dry_run: bool) -> None:
    """Append `changes` to status.stateChangeRequests as virt-api's getChangeRequestJson does:
    onto an empty list, or a lone Stop replacing what is pending; anything else is 409."""
    vm = copy.deepcopy(vm)
    status = vm.setdefault("status", {})
    pending = status.get("stateChangeRequests") or []
    if pending and not (len(changes) == 1 and changes[0]["action"] == "Stop"):
        raise _conflict(VM_NOUN, vm["metadata"]["name"],
                        "unable to complete request: stop/start already underway")
    status["stateChangeRequests"] = changes
    status.pop("startFailure", None)
    _write(store, VM, vm, "status", dry_run)


def _set_grace_period(store: Store, req: Request, seconds: int, dry_run: bool) -> None:
    """Set the live VMI's spec.terminationGracePeriodSeconds, which the controller deletes it with."""
    for _ in range(WRITE_ATTEMPTS):
        vmi = _get_vmi(store, req)
        if vmi is None or _final(vmi):
            return
        vmi = copy.deepcopy(vmi)
        vmi.setdefault("spec", {})["terminationGracePeriodSeconds"] = seconds
        try:
            _write(store, VMI, vmi, None, dry_run)
            return
        except _Stale:
            continue
    raise errors.conflict(VMI.key, req.name)


def _grace(options: dict, key: str) -> int | None:
    value = options.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.BadRequest(f"{key} must be an integer number of seconds, not {value!r}")
    return value


# --- verbs -----------------------------------------------------------------------------------


def _start(store: Store, req: Request, options: dict, dry_run: bool) -> None:
    vm = _get_vm(store, req)
    vmi = _get_vmi(store, req)
    if vmi is not None and not _final(vmi) and _phase(vmi) not in ("", "Unknown"):
        raise _conflict(VM_NOUN, req.name, "VM is already running")
    paused = bool(options.get("paused"))
    data = {START_PAUSED_KEY: "true"} if paused else {}
    strategy = run_strategy(vm)
    if strategy == "Halted":
        if paused:  # the controller switches the runStrategy when it honours the request
            _request_state_change(store, vm, [_change("Start", data=data)], dry_run)
        else:
            _set_run_strategy(store, vm, True, dry_run)
    elif strategy in ("Manual", "RerunOnFailure"):
        if strategy == "RerunOnFailure" and _phase(vmi) == "Failed":
            raise _conflict(VM_NOUN, req.name,
                            "RerunOnFailure does not support starting VM from failed state")
        restart = (strategy == "RerunOnFailure" and _phase(vmi) == "Succeeded") or \
                  (strategy == "Manual" and _final(vmi))
        changes = [_change("Stop", uid=vmi["metadata"]["uid"])] if restart else []
        _request_state_change(store, vm, changes + [_change("Start", data=data)], dry_run)
    else:
        raise _conflict(VM_NOUN, req.name, f"{strategy} does not support manual start requests")


def _stop(store: Store, req: Request, options: dict, dry_run: bool) -> None:
    grace = _grace(options, "gracePeriod")
    if grace is not None and grace < 0:
        raise errors.BadRequest("gracePeriod has to be greater or equal to 0")
    vm = _get_vm(store, req)
    vmi = _get_vmi(store, req)
    live = vmi is not None and not _final(vmi)
    strategy = run_strategy(vm)
    if strategy == "Halted":
        if not live:
            raise _conflict(VM_NOUN, req.name, NOT_RUNNING)
        old = (vmi.get("spec") or {}).get("terminationGracePeriodSeconds")
        if grace is None or (old is not None and grace >= old):
            raise _conflict(VM_NOUN, req.name,
                            "Halted only supports manual stop requests with a shorter graceperiod")
    elif strategy in ("Manual", "RerunOnFailure") and not live:
        raise _conflict(VM_NOUN, req.name, NOT_RUNNING)
    if live and grace is not None:  # before the request, so the controller deletes with it
        _set_grace_period(store, req, grace, dry_run)
    if strategy in ("Always", "Once"):
        _set_run_strategy(store, vm, False, dry_run)
    else:
        _request_state_change(store, vm, [_change("Stop", uid=vmi["metadata"]["uid"])], dry_run)


def _restart(store: Store, req: Request, options: dict, dry_run: bool) -> None:
    grace = _grace(options, "gracePeriodSeconds")
    if grace is not None and grace > 0:
        raise errors.BadRequest("For force restart, only gracePeriod=0 is supported for now")
    if grace is not None and grace < 0:
        raise errors.BadRequest("gracePeriod has to be greater or equal to 0")
    vm = _get_vm(store, req)
    strategy = run_strategy(vm)
    if strategy in ("Halted", "Once"):
        raise _conflict(VM_NOUN, req.name,
                        f"RunStrategy {strategy} does not support manual restart requests")
    vmi = _get_vmi(store, req)
    if vmi is None:
        raise _conflict(VM_NOUN, req.name, NOT_RUNNING)
    if grace == 0:
        _set_grace_period(store, req, 0, dry_run)
    _request_state_change(store, vm, [_change("Stop", uid=vmi["metadata"]["uid"]), _change("Start")],
                          dry_run)


def _pause_requested(vmi: dict) -> bool:
    annotations = (vmi.get("metadata") or {}).get("annotations") or {}
    return annotations.get(PAUSE_ANNOTATION) == "true"


def _live_vmi(store: Store, req: Request, not_running: str) -> dict:
    vmi = _get_vmi(store, req)
    if vmi is None:
        raise errors.NotFound(f'{VMI_NOUN} "{req.name}" not found', name=req.name,
                              group="kubevirt.io", kind="virtualmachineinstance")
    if _phase(vmi) != "Running":
        raise _conflict(VMI_NOUN, req.name, not_running)
    return vmi


def _pause(store: Store, req: Request, options: dict, dry_run: bool) -> None:
    vmi = _live_vmi(store, req, NOT_RUNNING)
    if (vmi.get("spec") or {}).get("livenessProbe"):
        raise errors.forbidden(VMI_NOUN, req.name,
                               "Pausing VMIs with LivenessProbe is currently not supported")
    if _has_condition(vmi, "Paused") or _pause_requested(vmi):
        raise _conflict(VMI_NOUN, req.name, "VMI is already paused")
    migration = (vmi.get("status") or {}).get("migrationState")
    if migration and not migration.get("completed"):
        raise _conflict(VMI_NOUN, req.name,
                        f"Cannot pause VM '{req.name}' because it is currently being migrated")
    _annotate_pause(store, vmi, "true", dry_run)


def _unpause(store: Store, req: Request, options: dict, dry_run: bool) -> None:
    vmi = _live_vmi(store, req, "VMI is not running")
    if not (_has_condition(vmi, "Paused") or _pause_requested(vmi)):
        raise _conflict(VMI_NOUN, req.name, "VMI is not paused")
    _annotate_pause(store, vmi, "false", dry_run)


def _annotate_pause(store: Store, vmi: dict, value: str, dry_run: bool) -> None:
    vmi = copy.deepcopy(vmi)
    vmi["metadata"].setdefault("annotations", {})[PAUSE_ANNOTATION] = value
    _write(store, VMI, vmi, None, dry_run)


def _change(action: str, uid: str | None = None, data: dict | None = None) -> dict:
    change: dict = {"action": action}
    if data:
        change["data"] = dict(data)
    if uid:
        change["uid"] = uid
    return change
