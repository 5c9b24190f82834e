"""The launcher's event hub: domain events fanned out to every Watch stream.

Owns the sequence of events one launcher emits (launcher/v1 notify.proto) and
the subscribers reading it. Publishing never blocks: each subscriber has a
bounded queue, and one that falls too far behind is cut off with an ERROR
event (its handler reconnects and gets a fresh snapshot), so a stuck handler
can never stall the launcher. Knows nothing about libvirt.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator

from protos.launcher.v1 import domain_pb2, notify_pb2

ADDED = notify_pb2.EVENT_TYPE_ADDED
MODIFIED = notify_pb2.EVENT_TYPE_MODIFIED
DELETED = notify_pb2.EVENT_TYPE_DELETED
ERROR = notify_pb2.EVENT_TYPE_ERROR

QUEUE_LIMIT = 256
_CLOSED = object()


def now_timestamp():
    from google.protobuf.timestamp_pb2 import Timestamp

    ts = Timestamp()
    ts.GetCurrentTime()
    return ts


class Subscription:
    """One Watch stream's view of the hub; iterate to receive events."""

    def __init__(self, hub: EventHub) -> None:
        self._hub = hub
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_LIMIT)
        self.overflowed = False

    def offer(self, event: notify_pb2.Event) -> bool:
        try:
            self._queue.put_nowait(event)
            return True
        except queue.Full:
            self.overflowed = True
            return False

    def close(self) -> None:
        self._hub._drop(self)
        try:
            self._queue.put_nowait(_CLOSED)
        except queue.Full:
            pass

    def events(self, stop: Callable[[], bool], poll_s: float = 0.5) -> Iterator[notify_pb2.Event]:
        """Events until the hub closes, this subscription overflows, or stop() is true."""
        while not stop():
            try:
                item = self._queue.get(timeout=poll_s)
            except queue.Empty:
                if self.overflowed:
                    return
                continue
            if item is _CLOSED:
                return
            yield item
            if item.type == DELETED:
                return


class EventHub:
    def __init__(self, status: Callable[[], domain_pb2.DomainStatus]) -> None:
        self._status = status
        self._lock = threading.Lock()
        self._subscribers: list[Subscription] = []
        self._sequence = 0
        self._closed = False
        self.last_event_at = time.monotonic()

    def _next(self, type_: int, reason: str, detail: str, message: str,
              status: domain_pb2.DomainStatus) -> notify_pb2.Event:
        self._sequence += 1
        return notify_pb2.Event(sequence=self._sequence, time=now_timestamp(), type=type_,
                                reason=reason, detail=detail, message=message, status=status)

    def subscribe(self) -> Subscription:
        """A new subscription whose first event is a snapshot (ADDED) of the domain."""
        sub = Subscription(self)
        status = self._status()
        with self._lock:
            sub.offer(self._next(ADDED, "Snapshot", "", "current state of the domain", status))
            if self._closed:
                sub.offer(self._next(DELETED, "LauncherExiting", "", "the launcher is exiting",
                                     status))
            else:
                self._subscribers.append(sub)
        return sub

    def publish(self, type_: int, reason: str, detail: str = "", message: str = "",
                status: domain_pb2.DomainStatus | None = None) -> notify_pb2.Event:
        status = status if status is not None else self._status()
        with self._lock:
            event = self._next(type_, reason, detail, message, status)
            self.last_event_at = time.monotonic()
            for sub in list(self._subscribers):
                if not sub.offer(event):
                    self._subscribers.remove(sub)
        return event

    def close(self, reason: str, message: str) -> None:
        """Sends the final DELETED event to every subscriber and refuses new ones."""
        self.publish(DELETED, reason, message=message)
        with self._lock:
            self._closed = True
            subscribers, self._subscribers = self._subscribers, []
        for sub in subscribers:
            sub.close()

    def _drop(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subscribers:
                self._subscribers.remove(sub)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)
