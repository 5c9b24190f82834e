"""The embedded scheduler: puts each new VMI on a Node (embedded mode only).

Owns the placement of VMIs that have no `status.nodeName` yet (phase "" or
Pending): it feeds `scheduling.schedule` from a VMI and a Node informer and
writes the answer. Placed: `status.nodeName` + `status.phase: Scheduled`
through the status subresource (the commit point; the node's handler takes
the VMI on from there), Event `Scheduled`, then the label
`kubevirt.io/nodeName` by update (admission refuses reserved labels only when a
VMI is created; a refused label is logged once per VMI and not retried, and
`status.nodeName` is what placement counts on). Nothing fits: phase Pending with the condition PodScheduled=False
reason Unschedulable (kube-scheduler's FitError text), Event
`FailedScheduling`; such VMIs are tried again when a Node changes or a placed
VMI ends or goes away. On a real cluster kube-scheduler places launcher pods
and this controller is not started (`--scheduler=off`). One decision at a time
(kube-scheduler's rule), and placements the VMI informer has not seen yet
count as used capacity (its "assume" cache), so two VMIs never overfill a node
between a write and its watch event. Never moves a VMI that has a node.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone

from controller import errors, events, scheduling
from controller.client import NODES, VIRTUAL_MACHINE_INSTANCES, Client
from controller.informer import Informer, object_key
from controller.reconciler import Reconciler
from controller.overhead import ResourceConfig

log = logging.getLogger(__name__)

NODE_NAME_LABEL = "kubevirt.io/nodeName"
UNSCHEDULED_PHASES = ("", "Pending")
FINAL_PHASES = ("Succeeded", "Failed")
SCHEDULED_PHASE = "Scheduled"


# -- pure decisions ----------------------------------------------------------------------------

def _status(vmi: dict) -> dict:
    return vmi.get("status") or {}


def _meta(vmi: dict) -> dict:
    return vmi.get("metadata") or {}


def needs_node(vmi: dict) -> bool:
    """The VMI waits for a node: none yet, phase "" or Pending, not being deleted."""
    return not _status(vmi).get("nodeName") and _status(vmi).get("phase", "") in UNSCHEDULED_PHASES \
        and not _meta(vmi).get("deletionTimestamp")


def needs_label(vmi: dict) -> bool:
    """A placed VMI whose kubevirt.io/nodeName label does not name its node (a write cut short)."""
    node = _status(vmi).get("nodeName")
    return bool(node) and (_meta(vmi).get("labels") or {}).get(NODE_NAME_LABEL) != node \
        and not _meta(vmi).get("deletionTimestamp")


def scheduled_status(vmi: dict, node: str) -> dict:
    """The VMI's status once placed on `node`: nodeName, phase Scheduled, no PodScheduled=False."""
    status = dict(_status(vmi), nodeName=node, phase=SCHEDULED_PHASE)
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)
    return status


def unschedulable_status(vmi: dict, decision: scheduling.Decision, now: datetime) -> dict:
    """The VMI's status when nothing fits: phase Pending and the PodScheduled=False condition."""
    status = dict(_status(vmi), phase="Pending")
    new = decision.condition()
    conditions = list(status.get("conditions") or [])
    old = next((c for c in conditions if c.get("type") == new["type"]), None)
    if old and all(old.get(k) == new[k] for k in ("status", "reason", "message")):
        return status
    stamp = now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    new["lastProbeTime"] = None
    new["lastTransitionTime"] = old["lastTransitionTime"] if old and old.get("status") == new["status"] \
        and old.get("lastTransitionTime") else stamp
    status["conditions"] = [c for c in conditions if c.get("type") != new["type"]] + [new]
    return status


# -- the controller ----------------------------------------------------------------------------

@dataclass
class SchedulerConfig:
    namespace: str | None = None  # None: every namespace
    resync_period: float = 300.0
    resources: ResourceConfig = field(default_factory=ResourceConfig)


class Scheduler(Reconciler):
    name = "scheduler"
    kind = "VirtualMachineInstance"

    """Places VMIs; one worker, as kube-scheduler schedules one pod at a time."""

    def __init__(self, client: Client, recorder: events.Recorder, config: SchedulerConfig | None = None) -> None:
        self.client = client
        self.recorder = recorder
        self.config = config or SchedulerConfig()
        cfg = self.config
        self.vmis = Informer(client, VIRTUAL_MACHINE_INSTANCES, cfg.namespace, cfg.resync_period)
        self.nodes = Informer(client, NODES, None, cfg.resync_period)
        super().__init__([self.vmis, self.nodes], 1)
        self._assumed: dict[str, dict] = {}  # uid -> the VMI as we placed it, until the informer shows it
        self._assumed_lock = threading.Lock()
        self._label_refused: set[str] = set()  # VMI uids whose label admission refused
        self.vmis.add_handlers(on_add=self._vmi_added, on_update=self._vmi_updated, on_delete=self._vmi_deleted)
        self.nodes.add_handlers(on_add=lambda node: self._retry_pending(),
                                on_update=self._node_updated, on_delete=lambda node: self._retry_pending())

    # -- event handlers -----------------------------------------------------------------------

    def _vmi_added(self, vmi: dict) -> None:
        if needs_node(vmi) or (needs_label(vmi) and _meta(vmi).get("uid") not in self._label_refused):
            self.queue.add(object_key(vmi))

    def _vmi_updated(self, old: dict, new: dict) -> None:
        self._vmi_added(new)
        if _status(new).get("phase") in FINAL_PHASES and _status(old).get("phase") not in FINAL_PHASES:
            self._retry_pending()  # its capacity is free again

    def _vmi_deleted(self, vmi: dict) -> None:
        with self._assumed_lock:
            self._assumed.pop(_meta(vmi).get("uid", ""), None)
        self._label_refused.discard(_meta(vmi).get("uid", ""))
        if _status(vmi).get("nodeName"):
            self._retry_pending()

    def _node_updated(self, old: dict, new: dict) -> None:
        if _meta(old).get("resourceVersion") != _meta(new).get("resourceVersion"):
            self._retry_pending()

    def _retry_pending(self) -> None:
        for vmi in self.vmis.list():
            if needs_node(vmi):
                self.queue.add(object_key(vmi))

    # -- the worker ---------------------------------------------------------------------------

    def _placed(self) -> list[dict]:
        """Every VMI the informer holds, with our placements it has not seen yet in their place."""
        placed = {}
        with self._assumed_lock:
            for vmi in self.vmis.list():
                uid = _meta(vmi).get("uid", "")
                if _status(vmi).get("nodeName"):
                    self._assumed.pop(uid, None)
                placed[uid] = vmi
            placed.update(self._assumed)
        return list(placed.values())

    def sync(self, key: str) -> None:
        vmi = self.vmis.get(key)
        if vmi is None:
            return
        with self._assumed_lock:
            assumed = _meta(vmi).get("uid", "") in self._assumed
        if assumed and needs_node(vmi):
            return  # placed by us; the informer has not caught up
        if needs_label(vmi):
            if _meta(vmi).get("uid") not in self._label_refused:
                self._label(vmi, _status(vmi)["nodeName"])
            return
        if not needs_node(vmi):
            return
        decision = scheduling.schedule(vmi, self.nodes.list(), self._placed(), self.config.resources)
        namespace = _meta(vmi).get("namespace")
        if not decision.scheduled:
            status = unschedulable_status(vmi, decision, datetime.now(timezone.utc))
            if status == _status(vmi):
                return
            self.client.replace_status(VIRTUAL_MACHINE_INSTANCES, namespace, dict(vmi, status=status))
            log.info("VMI %s is unschedulable: %s", key, decision.message)
            self.recorder.event(vmi, events.WARNING, events.FAILED_SCHEDULING, decision.message)
            return
        status = scheduled_status(vmi, decision.node)
        written = self.client.replace_status(VIRTUAL_MACHINE_INSTANCES, namespace, dict(vmi, status=status))
        with self._assumed_lock:
            self._assumed[_meta(vmi).get("uid", "")] = written
        log.info("Scheduled VMI %s on node %s", key, decision.node)
        self.recorder.event(vmi, events.NORMAL, events.SCHEDULED, decision.message)
        self._label(written, decision.node)

    def _label(self, vmi: dict, node: str) -> None:
        try:
            self.client.patch(VIRTUAL_MACHINE_INSTANCES, _meta(vmi).get("namespace"), _meta(vmi)["name"],
                              {"metadata": {"labels": {NODE_NAME_LABEL: node}}})
        except errors.InvalidError as exc:
            self._label_refused.add(_meta(vmi).get("uid", ""))
            log.info("Not labelling VMI %s/%s with its node: %s", _meta(vmi).get("namespace"),
                     _meta(vmi)["name"], exc.message)
        except errors.NotFoundError:
            pass
