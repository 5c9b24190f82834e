"""Timing shared by the benchmarks: the best per-call time over several batches.

Owns one way of timing a call so every benchmark's numbers mean the same:
each batch runs the call often enough to last `min_round_s`, and the fastest
batch wins (the least disturbed by the rest of the machine).
"""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], rounds: int, min_round_s: float = 0.05) -> float:
    """Best per-call time in seconds over `rounds` batches, each at least `min_round_s` long."""
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    repeat = max(1, int(min_round_s / once)) if once > 0 else 1000
    times = [once]
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        times.append((time.perf_counter() - start) / repeat)
    return min(times)
