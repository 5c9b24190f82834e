"""Kubernetes Events about the objects the controller acts on, with KubeVirt's reasons.

Owns the Event objects (core/v1) the controller records: one per (object,
type, reason, message); a repeat within ten minutes bumps `count` and
`lastTimestamp` of the same Event, as client-go's correlator does, instead of
piling up new ones. Recording never fails the caller: an API error is logged
as a warning and the reconcile goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone

from controller import errors
from controller.client import EVENTS, Client

log = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"

# KubeVirt's reasons (pkg/controller/virtinformers / watch/common): what the VM controller records.
SUCCESSFUL_CREATE = "SuccessfulCreate"
FAILED_CREATE = "FailedCreate"
SUCCESSFUL_DELETE = "SuccessfulDelete"
FAILED_DELETE = "FailedDelete"
SUCCESSFUL_UPDATE = "SuccessfulUpdate"
FAILED_UPDATE = "FailedUpdate"
# The embedded scheduler (kube-scheduler's reasons on a pod) and the node controller (KubeVirt's).
SCHEDULED = "Scheduled"
FAILED_SCHEDULING = "FailedScheduling"
NODE_UNRESPONSIVE = "NodeUnresponsive"

COMPONENT = "virtnode-controller"
_AGGREGATE_WINDOW = 600.0


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Recorder:
    def __init__(self, client: Client, component: str = COMPONENT, host: str = "") -> None:
        self.client = client
        self.component = component
        self.host = host
        self._seen: dict[tuple, tuple[str, int, float]] = {}  # key -> (event name, count, monotonic)
        self._lock = threading.Lock()

    def event(self, obj: dict, event_type: str, reason: str, message: str) -> None:
        """Record that `reason` happened to `obj` (a dict with apiVersion, kind, metadata)."""
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        key = (namespace, obj.get("kind"), meta.get("name"), meta.get("uid"), event_type, reason, message)
        now = _now()
        with self._lock:
            seen = self._seen.get(key)
            if seen and time.monotonic() - seen[2] < _AGGREGATE_WINDOW:
                name, count = seen[0], seen[1] + 1
                self._seen[key] = (name, count, time.monotonic())
            else:
                seen = None
                name = f"{meta.get('name')}.{time.time_ns():x}"
                self._seen[key] = (name, 1, time.monotonic())
                count = 1
            if len(self._seen) > 4096:
                self._prune()
        try:
            if seen is not None:
                self.client.patch(EVENTS, namespace, name, {"count": count, "lastTimestamp": now})
                return
            self.client.create(EVENTS, namespace, {
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": name, "namespace": namespace},
                "involvedObject": {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
                                   "name": meta.get("name"), "namespace": namespace, "uid": meta.get("uid"),
                                   "resourceVersion": meta.get("resourceVersion")},
                "reason": reason, "message": message, "type": event_type,
                "source": {"component": self.component, **({"host": self.host} if self.host else {})},
                "reportingComponent": self.component, "reportingInstance": self.host or self.component,
                "firstTimestamp": now, "lastTimestamp": now, "count": 1,
            })
        except errors.APIRequestError as exc:
            log.warning("Could not record event %s on %s %s/%s: %s", reason, obj.get("kind"), namespace,
                        meta.get("name"), exc)
            with self._lock:
                self._seen.pop(key, None)

    def _prune(self) -> None:
        cutoff = time.monotonic() - _AGGREGATE_WINDOW
        for k in [k for k, v in self._seen.items() if v[2] < cutoff]:
            del self._seen[k]
