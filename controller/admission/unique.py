"""Finding repeated keys: the one loop behind every "must be unique" rule.

Owns nothing but the bookkeeping; the rules decide what a key is (a name, a
normalised MAC, a boot order) and how to word the cause.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
W = TypeVar("W")


def repeats(items: Iterable[tuple[K | None, W]]) -> Iterator[tuple[K, W, W]]:
    """For (key, where) pairs, yields (key, where first seen, where repeated).

    A key of None or "" is skipped: a missing name is another rule's business.
    """
    first: dict[K, W] = {}
    for key, where in items:
        if key is None or key == "":
            continue
        if key in first:
            yield key, first[key], where
        else:
            first[key] = where
