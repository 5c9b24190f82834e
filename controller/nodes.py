"""The node controller: a Node whose handler stopped heartbeating loses its VMIs.

Owns the reaction to a silent node (KubeVirt's virt-controller node
controller). The node's handler writes the annotation `kubevirt.io/heartbeat`
(an RFC 3339 time) and the label `kubevirt.io/schedulable: "true"` on its Node.
When the heartbeat is older than the timeout (5 minutes, KubeVirt's
heartBeatTimeout) this controller sets `kubevirt.io/schedulable: "false"`,
remembers with the annotation `virtnode.io/unschedulable-by: node-controller`
that it did, and moves every VMI on the node (label `kubevirt.io/nodeName`, or
`status.nodeName`) that is not finished to phase Failed with status.reason
`NodeUnresponsive` and an Event of that reason, so the VM controller starts a
replacement elsewhere. A node without a heartbeat annotation was never managed
by a handler and is left alone, as KubeVirt does. A node that heartbeats again
becomes schedulable again only if this controller made it unschedulable (the
handler, or an administrator, may have other reasons). Never deletes a Node or
a VMI, never touches a VMI that is not on a silent node.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from controller import errors, events
from controller.client import NODES, VIRTUAL_MACHINE_INSTANCES, Client
from controller.informer import Informer, object_key
from controller.reconciler import Reconciler
from controller.scheduler import FINAL_PHASES, NODE_NAME_LABEL
from controller.scheduling import SCHEDULABLE_LABEL

log = logging.getLogger(__name__)

HEARTBEAT_ANNOTATION = "kubevirt.io/heartbeat"
MARKED_BY_ANNOTATION = "virtnode.io/unschedulable-by"
MARKED_BY = "node-controller"
NODE_UNRESPONSIVE = events.NODE_UNRESPONSIVE


# -- pure decisions ----------------------------------------------------------------------------

def heartbeat(node: dict) -> datetime | None:
    """The node's last heartbeat, or None when it has none (or an unreadable one)."""
    text = ((node.get("metadata") or {}).get("annotations") or {}).get(HEARTBEAT_ANNOTATION)
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def silent_for(node: dict, now: datetime) -> float | None:
    """Seconds since the node's last heartbeat; None when it has none."""
    beat = heartbeat(node)
    return None if beat is None else (now - beat).total_seconds()


def node_patch(node: dict, unresponsive: bool) -> dict | None:
    """The merge patch of the node's label and our annotation, or None when nothing changes."""
    meta = node.get("metadata") or {}
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    ours = annotations.get(MARKED_BY_ANNOTATION) == MARKED_BY
    if unresponsive:
        if labels.get(SCHEDULABLE_LABEL) == "false":
            return None  # already (by us, or by someone else: then it stays theirs to undo)
        return {"metadata": {"labels": {SCHEDULABLE_LABEL: "false"},
                             "annotations": {MARKED_BY_ANNOTATION: MARKED_BY}}}
    if ours:
        return {"metadata": {"labels": {SCHEDULABLE_LABEL: "true"}, "annotations": {MARKED_BY_ANNOTATION: None}}}
    return None


def on_node(vmi: dict, node_name: str) -> bool:
    meta, status = vmi.get("metadata") or {}, vmi.get("status") or {}
    return (meta.get("labels") or {}).get(NODE_NAME_LABEL) == node_name or status.get("nodeName") == node_name


def stranded(vmis: list[dict], node_name: str) -> list[dict]:
    """The VMIs on the node that are not finished yet."""
    return [v for v in vmis if on_node(v, node_name) and (v.get("status") or {}).get("phase") not in FINAL_PHASES]


# -- the controller ----------------------------------------------------------------------------

@dataclass
class NodeControllerConfig:
    timeout: float = 300.0        # a heartbeat older than this makes the node unresponsive
    resync_period: float = 300.0
    namespace: str | None = None  # VMIs of this namespace only (Nodes are cluster-scoped)


class NodeController(Reconciler):
    name = "node"
    kind = "Node"

    def __init__(self, client: Client, recorder: events.Recorder,
                 config: NodeControllerConfig | None = None) -> None:
        self.client = client
        self.recorder = recorder
        self.config = config or NodeControllerConfig()
        cfg = self.config
        self.nodes = Informer(client, NODES, None, cfg.resync_period)
        self.vmis = Informer(client, VIRTUAL_MACHINE_INSTANCES, cfg.namespace, cfg.resync_period)
        super().__init__([self.nodes, self.vmis], 1)
        self.nodes.add_handlers(on_add=self._enqueue, on_update=lambda old, new: self._enqueue(new))
        self.vmis.add_handlers(on_add=self._vmi_changed, on_update=lambda old, new: self._vmi_changed(new))

    def _enqueue(self, node: dict) -> None:
        self.queue.add(object_key(node))

    def _vmi_changed(self, vmi: dict) -> None:
        # A VMI placed on a node that is already silent must fail too.
        node = ((vmi.get("metadata") or {}).get("labels") or {}).get(NODE_NAME_LABEL) \
            or (vmi.get("status") or {}).get("nodeName")
        if node and (vmi.get("status") or {}).get("phase") not in FINAL_PHASES:
            self.queue.add(node)

    def sync(self, name: str) -> float | None:
        """Check one node; returns seconds until its heartbeat would go stale, or None."""
        node = self.nodes.get(name)
        if node is None:
            return None
        silent = silent_for(node, datetime.now(timezone.utc))
        if silent is None:
            return None
        unresponsive = silent > self.config.timeout
        patch = node_patch(node, unresponsive)
        if patch is not None:
            self.client.patch(NODES, None, name, patch)
            if unresponsive:
                log.warning("Node %s has not sent a heartbeat for %.0f s; marked unschedulable", name, silent)
            else:
                log.info("Node %s heartbeats again; schedulable again", name)
        if not unresponsive:
            return max(0.05, self.config.timeout - silent + 0.05)
        for vmi in stranded(self.vmis.list(), name):
            self._fail(vmi, name)
        return None

    def _fail(self, vmi: dict, node: str) -> None:
        meta = vmi["metadata"]
        status = dict(vmi.get("status") or {}, phase="Failed", reason=NODE_UNRESPONSIVE)
        try:
            self.client.replace_status(VIRTUAL_MACHINE_INSTANCES, meta.get("namespace"), dict(vmi, status=status))
        except errors.NotFoundError:
            return
        log.warning("VMI %s/%s on unresponsive node %s moved to Failed", meta.get("namespace"), meta["name"], node)
        self.recorder.event(vmi, events.NORMAL, NODE_UNRESPONSIVE,
                            f"virt-handler on node {node} is not responsive, marking VMI as failed")
