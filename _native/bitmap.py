"""Dirty-page bitmap kernels: the public entry point callers import.

Owns nothing but the choice of implementation: `popcount` and `page_ranges`
come from the compiled `_native._bitmap` when it is built and from the
pure-Python twin `_native.bitmap_py` otherwise (one warning is logged then;
with VIRTNODE_REQUIRE_NATIVE=1 importing this module raises
NativeMissingError instead). `IMPLEMENTATION` says which one is in use.

A bitmap is any C-contiguous bytes-like object; bit i is bit i % 8 of byte
i // 8, least significant bit first, the layout of a KVM dirty log.

    from _native import bitmap
    dirty = bitmap.popcount(log)
    for first_page, page_count in bitmap.page_ranges(log, nbits=slot_pages): ...
"""

from __future__ import annotations

from _native import implementation_of, load
from _native.errors import BitmapError, BitmapLayoutError, BitmapTypeError, NbitsRangeError

__all__ = ["IMPLEMENTATION", "BitmapError", "BitmapLayoutError", "BitmapTypeError",
           "NbitsRangeError", "page_ranges", "popcount"]

_impl = load("bitmap")

IMPLEMENTATION: str = implementation_of(_impl)
popcount = _impl.popcount
page_ranges = _impl.page_ranges
