"""Dirty-page bitmap kernels in pure Python: the twin of `_native._bitmap`.

Owns the reference behaviour of `popcount` and `page_ranges` on a KVM-style
dirty log (bit i is bit i % 8 of byte i // 8, least significant bit first).
The compiled kernel must match it exactly, results and errors alike; the unit
tests hold both to the same cases. Callers import `_native.bitmap`, which picks
the compiled kernel when it is built, not this module directly. Never import
anything of ours here except `_native.errors`.
"""

from __future__ import annotations

import operator
import re

from _native.errors import BYTES_LIKE, BitmapLayoutError, BitmapTypeError, NbitsRangeError

# Bytes that move the scan: outside a run a non-zero byte, inside one a byte
# that is not all ones. `re` scans for them at C speed.
_NOT_ZERO = re.compile(rb"[^\x00]")
_NOT_ONES = re.compile(rb"[^\xff]")


def _byte_runs(byte: int) -> tuple[tuple[int, int], ...]:
    """Maximal runs of set bits in one byte as (first_bit, end_bit), end exclusive."""
    runs = []
    bit = 0
    while bit < 8:
        if byte >> bit & 1:
            first = bit
            while bit < 8 and byte >> bit & 1:
                bit += 1
            runs.append((first, bit))
        else:
            bit += 1
    return tuple(runs)


_BYTE_RUNS = tuple(_byte_runs(byte) for byte in range(256))


def _byte_view(bitmap: object) -> memoryview:
    """`bitmap` as a flat memoryview of unsigned bytes, or a BitmapError."""
    try:
        view = memoryview(bitmap)  # type: ignore[arg-type]
    except TypeError:
        raise BitmapTypeError("bitmap", BYTES_LIKE, bitmap) from None
    if not view.c_contiguous:
        raise BitmapLayoutError("bitmap", f"got a non-contiguous {type(bitmap).__name__}")
    if view.format != "B" or view.ndim != 1:
        try:
            view = view.cast("B")
        except (TypeError, ValueError):
            raise BitmapLayoutError(
                "bitmap", f"its item format {view.format!r} cannot be read as bytes") from None
    return view


def _checked_nbits(nbits: object, nbytes: int) -> int:
    """The number of bits to read: `nbits`, or the whole buffer when it is None."""
    if nbits is None:
        return nbytes * 8
    try:
        count = operator.index(nbits)  # type: ignore[arg-type]
    except TypeError:
        raise BitmapTypeError("nbits", "an int or None", nbits) from None
    if count < 0 or count > nbytes * 8:
        raise NbitsRangeError(count, nbytes)
    return count


def popcount(bitmap: object, nbits: int | None = None) -> int:
    """Number of set bits among the first `nbits` bits of `bitmap` (all of it by default)."""
    data = _byte_view(bitmap)
    count = _checked_nbits(nbits, len(data))
    full, rest = divmod(count, 8)
    total = int.from_bytes(data[:full], "little").bit_count()
    if rest:
        total += (data[full] & ((1 << rest) - 1)).bit_count()
    return total


def page_ranges(bitmap: object, nbits: int | None = None) -> list[tuple[int, int]]:
    """Maximal runs of set bits as (first_page, page_count), in ascending order.

    Only the first `nbits` bits count (all of the buffer by default), so a run
    that reaches bit `nbits` ends there.
    """
    data = _byte_view(bitmap)
    count = _checked_nbits(nbits, len(data))
    full, rest = divmod(count, 8)
    ranges: list[tuple[int, int]] = []
    append = ranges.append
    start = -1  # first page of the open run, or -1 outside a run
    pos = 0
    while pos <= full:
        if pos < full:
            found = (_NOT_ZERO if start < 0 else _NOT_ONES).search(data, pos, full)
            if found is None:
                pos = full
                continue
            pos = found.start()
            byte = data[pos]
        elif rest:
            byte = data[pos] & ((1 << rest) - 1)
        else:
            break
        base = pos * 8
        if start >= 0 and not byte & 1:
            append((start, base - start))
            start = -1
        for first, end in _BYTE_RUNS[byte]:
            if first == 0 and start >= 0:  # the open run goes on into this byte
                append((start, base + end - start))
                start = -1
            elif end == 8:
                start = base + first
            else:
                append((base + first, end - first))
        pos += 1
    if start >= 0:
        append((start, count - start))
    return ranges
