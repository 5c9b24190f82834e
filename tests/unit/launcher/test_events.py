"""The launcher's event hub: what a Watch stream receives, and that a stuck reader cannot stall it."""

from __future__ import annotations

from launcher.events import ADDED, DELETED, MODIFIED, QUEUE_LIMIT, EventHub
from protos.launcher.v1 import domain_pb2


def hub() -> EventHub:
    return EventHub(lambda: domain_pb2.DomainStatus(vmi_uid="u1", state=domain_pb2.DOMAIN_STATE_RUNNING))


def drain(sub, n: int) -> list:
    out = []
    for event in sub.events(stop=lambda: len(out) >= n, poll_s=0.01):
        out.append(event)
        if len(out) >= n:
            break
    return out


def test_a_stream_starts_with_a_snapshot_then_follows_in_order() -> None:
    h = hub()
    h.publish(MODIFIED, "Started", "Booted")  # before subscribing: not replayed
    sub = h.subscribe()
    h.publish(MODIFIED, "Suspended", "Paused")
    h.publish(MODIFIED, "Resumed", "Unpaused")
    events = drain(sub, 3)
    assert [(e.type, e.reason) for e in events] == [(ADDED, "Snapshot"), (MODIFIED, "Suspended"),
                                                    (MODIFIED, "Resumed")]
    assert [e.sequence for e in events] == sorted(e.sequence for e in events)
    assert events[0].status.vmi_uid == "u1"


def test_every_subscriber_gets_every_event() -> None:
    h = hub()
    a, b = h.subscribe(), h.subscribe()
    h.publish(MODIFIED, "Started")
    assert [e.reason for e in drain(a, 2)] == ["Snapshot", "Started"]
    assert [e.reason for e in drain(b, 2)] == ["Snapshot", "Started"]


def test_a_reader_that_falls_behind_is_cut_off_without_blocking_the_hub() -> None:
    h = hub()
    stuck, live = h.subscribe(), h.subscribe()
    for i in range(QUEUE_LIMIT + 10):
        h.publish(MODIFIED, f"E{i}")
        drain(live, 1)
    assert stuck.overflowed
    assert h.subscribers == 1  # only the live one is still served
    received = list(stuck.events(stop=lambda: False, poll_s=0.01))
    assert len(received) == QUEUE_LIMIT  # what fit, then the stream ends: the reader resubscribes


def test_close_ends_every_stream_with_deleted_and_refuses_newcomers_politely() -> None:
    h = hub()
    sub = h.subscribe()
    h.close("LauncherExiting", "terminated on request")
    events = list(sub.events(stop=lambda: False, poll_s=0.01))
    assert events[-1].type == DELETED and events[-1].message == "terminated on request"
    late = list(h.subscribe().events(stop=lambda: False, poll_s=0.01))
    assert [e.type for e in late] == [ADDED, DELETED]
