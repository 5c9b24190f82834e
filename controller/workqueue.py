"""A deduplicating, rate-limited work queue of keys, client-go's workqueue in Python.

Owns the order in which a controller's workers see keys ("namespace/name"):
a key waiting in the queue is there once however often it is added; a key
being processed is never handed to a second worker, and one added meanwhile
comes back after done(). Failed keys return after a per-key exponential
backoff (5 ms doubling to 1000 s, client-go's ItemExponentialFailureRateLimiter
defaults) until forget(). Delays come from one timer thread; nothing here
polls. Knows nothing about the API or about what a key means.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import deque
from collections.abc import Callable


class ExponentialBackoff:
    """Per-key delay base * 2**failures, capped; forget() resets a key."""

    def __init__(self, base: float = 0.005, cap: float = 1000.0) -> None:
        self.base = base
        self.cap = cap
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()

    def when(self, key: str) -> float:
        with self._lock:
            failures = self._failures.get(key, 0)
            self._failures[key] = failures + 1
        if failures >= 64:  # 2**64 * anything is past any cap
            return self.cap
        return min(self.cap, self.base * (2 ** failures))

    def retries(self, key: str) -> int:
        with self._lock:
            return self._failures.get(key, 0)

    def forget(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


class ShutDown(Exception):
    """The queue was shut down; the worker should return."""


class WorkQueue:
    """add / add_after / add_rate_limited, get / done, forget, shut_down."""

    def __init__(self, backoff: ExponentialBackoff | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.backoff = backoff or ExponentialBackoff()
        self._clock = clock
        self._cond = threading.Condition()
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._waiting: list[tuple[float, int, str]] = []  # (due, seq, key) heap
        self._due: dict[str, float] = {}  # earliest due time per waiting key
        self._seq = 0
        self._shutting_down = False
        self._timer = threading.Thread(target=self._run_timer, name="workqueue-timer", daemon=True)
        self._timer.start()

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

    def add(self, key: str) -> None:
        with self._cond:
            self._add_locked(key)

    def _add_locked(self, key: str) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._cond.notify_all()

    def add_after(self, key: str, delay: float) -> None:
        """Add once `delay` seconds have passed; an earlier pending due time wins."""
        if delay <= 0:
            self.add(key)
            return
        with self._cond:
            if self._shutting_down:
                return
            due = self._clock() + delay
            if key in self._due and self._due[key] <= due:
                return
            self._due[key] = due
            self._seq += 1
            heapq.heappush(self._waiting, (due, self._seq, key))
            self._cond.notify_all()

    def add_rate_limited(self, key: str) -> None:
        """Add after this key's next backoff delay (one more failure counted)."""
        self.add_after(key, self.backoff.when(key))

    def forget(self, key: str) -> None:
        """The key succeeded: its next failure starts from the base delay again."""
        self.backoff.forget(key)

    def num_requeues(self, key: str) -> int:
        return self.backoff.retries(key)

    def get(self, timeout: float | None = None) -> str | None:
        """The next key (now owned by the caller until done()); None on timeout; ShutDown when closed."""
        deadline = None if timeout is None else self._clock() + timeout
        with self._cond:
            while not self._queue:
                if self._shutting_down:
                    raise ShutDown()
                remaining = None if deadline is None else deadline - self._clock()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            key = self._queue.popleft()
            self._processing.add(key)
            self._dirty.discard(key)
            return key

    def done(self, key: str) -> None:
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                self._queue.append(key)
                self._cond.notify_all()

    def shut_down(self) -> None:
        with self._cond:
            self._shutting_down = True
            self._cond.notify_all()

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def _run_timer(self) -> None:
        with self._cond:
            while not self._shutting_down:
                now = self._clock()
                while self._waiting and self._waiting[0][0] <= now:
                    due, _, key = heapq.heappop(self._waiting)
                    if self._due.get(key) == due:
                        del self._due[key]
                        self._add_locked(key)
                timeout = (self._waiting[0][0] - now) if self._waiting else None
                self._cond.wait(timeout)
