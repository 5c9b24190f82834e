"""Kubernetes Events about the VMIs this node runs, with KubeVirt's reasons.

Owns what `kubectl describe vmi` shows from the node: `Created` and `Started`
when the launcher defines and boots the domain, `ShuttingDown` when the
handler stops it, `Stopped` when the guest is gone (Normal when it powered
itself off, Warning when it crashed or its launcher died), `Paused` and
`Resumed`, `SyncFailed` when the node cannot run the VMI as written, and
`LauncherUnreachable` / `LauncherReachable` for a launcher that stopped
answering. The same event repeated on one VMI bumps `count` on the existing
Event instead of adding another. Recording never fails the caller: an API
error is logged and forgotten (Events are best effort in Kubernetes too).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone

from handler import errors
from handler.client import Client

log = logging.getLogger(__name__)

NORMAL, WARNING = "Normal", "Warning"

CREATED = "Created"
STARTED = "Started"
SHUTTING_DOWN = "ShuttingDown"
STOPPED = "Stopped"
PAUSED = "Paused"
RESUMED = "Resumed"
SYNC_FAILED = "SyncFailed"
DELETED = "Deleted"
LAUNCHER_UNREACHABLE = "LauncherUnreachable"
LAUNCHER_REACHABLE = "LauncherReachable"

COMPONENT = "virtnode-handler"
_REPEAT_WINDOW = 600.0
_REMEMBERED = 1024


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventRecorder:
    def __init__(self, client: Client, node: str) -> None:
        self.client = client
        self.node = node
        self._last: dict[tuple, tuple[str, int, float]] = {}   # key -> (event name, count, monotonic)
        self._lock = threading.Lock()

    def record(self, vmi: dict, event_type: str, reason: str, message: str) -> None:
        meta = vmi.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        key = (meta.get("uid"), event_type, reason, message)
        now = _now()
        with self._lock:
            previous = self._last.get(key)
            if previous and time.monotonic() - previous[2] < _REPEAT_WINDOW:
                name, count = previous[0], previous[1] + 1
            else:
                previous, name, count = None, f"{meta.get('name')}.{time.time_ns():x}", 1
            self._last[key] = (name, count, time.monotonic())
            if len(self._last) > _REMEMBERED:
                oldest = sorted(self._last, key=lambda k: self._last[k][2])[:_REMEMBERED // 2]
                for k in oldest:
                    del self._last[k]
        try:
            if previous is not None:
                try:
                    self.client.patch_event(namespace, name, {"count": count, "lastTimestamp": now})
                    return
                except errors.NotFoundError:
                    pass  # expired or deleted meanwhile: record it anew under the same name
            self.client.create_event(namespace, {
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": name, "namespace": namespace},
                "involvedObject": {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
                                   "name": meta.get("name"), "namespace": namespace,
                                   "uid": meta.get("uid")},
                "reason": reason, "message": message, "type": event_type,
                "source": {"component": COMPONENT, "host": self.node},
                "reportingComponent": COMPONENT, "reportingInstance": self.node,
                "firstTimestamp": now, "lastTimestamp": now, "count": count,
            })
        except errors.HandlerError as e:
            log.info("event %s on VMI %s/%s not recorded: %s", reason, namespace, meta.get("name"), e)
            with self._lock:
                self._last.pop(key, None)
