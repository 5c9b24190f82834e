"""The work queue: deduplication, one worker per key, per-key exponential backoff, delays."""

from __future__ import annotations

import threading
import time

import pytest

from controller.workqueue import ExponentialBackoff, ShutDown, WorkQueue


def test_backoff_doubles_from_5ms_to_a_1000s_cap() -> None:
    """client-go's defaults: 5 ms, 10 ms, 20 ms, ... never above 1000 s."""
    b = ExponentialBackoff()
    delays = [b.when("k") for _ in range(30)]
    assert delays[:4] == [0.005, 0.01, 0.02, 0.04]
    assert all(later >= earlier for earlier, later in zip(delays, delays[1:]))
    assert delays[-1] == 1000.0
    assert b.retries("k") == 30


def test_backoff_is_per_key_and_forget_resets() -> None:
    """One key's failures do not slow another; forget() starts a key over."""
    b = ExponentialBackoff(base=1.0, cap=100.0)
    b.when("a"), b.when("a"), b.when("a")
    assert b.when("b") == 1.0
    b.forget("a")
    assert b.when("a") == 1.0


def test_a_waiting_key_is_queued_once() -> None:
    """Adding a key that is already waiting does not queue it twice."""
    q = WorkQueue()
    for _ in range(5):
        q.add("ns/a")
    q.add("ns/b")
    assert len(q) == 2
    assert q.get(0) == "ns/a" and q.get(0) == "ns/b"
    assert q.get(0.01) is None
    q.shut_down()


def test_a_key_added_while_processing_comes_back_after_done() -> None:
    """No two workers hold one key; a change seen meanwhile is processed after done()."""
    q = WorkQueue()
    q.add("k")
    assert q.get(0) == "k"
    q.add("k")
    assert q.get(0.05) is None  # still owned by the first worker
    q.done("k")
    assert q.get(0.5) == "k"
    q.done("k")
    q.shut_down()


def test_add_after_delays_and_earliest_due_time_wins() -> None:
    """add_after hands the key out once the delay passed; a sooner add_after replaces a later one."""
    q = WorkQueue()
    start = time.monotonic()
    q.add_after("k", 10.0)
    q.add_after("k", 0.1)
    assert q.get(2.0) == "k"
    assert 0.08 <= time.monotonic() - start < 1.0
    q.done("k")
    assert q.get(0.2) is None
    q.shut_down()


def test_rate_limited_retries_grow() -> None:
    """Each add_rate_limited waits longer for the same key until forget()."""
    q = WorkQueue(ExponentialBackoff(base=0.05, cap=10.0))
    waits = []
    for _ in range(3):
        t0 = time.monotonic()
        q.add_rate_limited("k")
        assert q.get(5.0) == "k"
        waits.append(time.monotonic() - t0)
        q.done("k")
    assert waits[0] < waits[1] < waits[2]
    assert waits[2] >= 0.19
    assert q.num_requeues("k") == 3
    q.forget("k")
    assert q.num_requeues("k") == 0
    q.shut_down()


def test_shut_down_wakes_blocked_workers() -> None:
    """A worker blocked in get() returns with ShutDown when the queue closes."""
    q = WorkQueue()
    outcome = []

    def worker() -> None:
        try:
            q.get()
        except ShutDown:
            outcome.append("shutdown")

    t = threading.Thread(target=worker)
    t.start()
    time.sleep(0.05)
    q.shut_down()
    t.join(2)
    assert outcome == ["shutdown"]
    with pytest.raises(ShutDown):
        q.get()
