"""Tests of the dirty-bitmap kernels: compiled `_native._bitmap` against its twin.

Every behaviour test runs on both implementations and compares them with a
trivially-correct reference written here (walk the bits one by one), so the
compiled kernel, the twin and the reference can only pass together. Errors are
compared by type and exact message. The compiled kernel is required when
VIRTNODE_REQUIRE_NATIVE=1 (as `make test` sets); otherwise its tests skip.
"""

from __future__ import annotations

import array
import ctypes
import importlib
import os
import random
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import _native
from _native import bitmap_py
from _native.errors import (
    BYTES_LIKE,
    BitmapError,
    BitmapLayoutError,
    BitmapTypeError,
    NativeMissingError,
    NbitsRangeError,
)

REQUIRE_NATIVE = os.environ.get("VIRTNODE_REQUIRE_NATIVE") == "1"

try:
    from _native import _bitmap as native_bitmap
except ImportError as exc:
    if REQUIRE_NATIVE:
        raise NativeMissingError("_native._bitmap", exc) from exc
    native_bitmap = None

# Imported once here so that tests which re-import it can restore this module.
from _native import bitmap as public_bitmap  # noqa: E402

needs_native = pytest.mark.skipif(
    native_bitmap is None,
    reason="_native._bitmap is not built; run `.venv/bin/python setup.py build_ext --inplace`")

IMPLS = [pytest.param(bitmap_py, id="python"),
         pytest.param(native_bitmap, id="native", marks=needs_native)]


# --- reference ---------------------------------------------------------------

def ref_bits(bitmap: bytes, nbits: int | None = None) -> list[int]:
    """The first `nbits` bits, bit i being bit i % 8 of byte i // 8."""
    n = len(bitmap) * 8 if nbits is None else nbits
    return [bitmap[i // 8] >> (i % 8) & 1 for i in range(n)]


def ref_popcount(bitmap: bytes, nbits: int | None = None) -> int:
    return sum(ref_bits(bitmap, nbits))


def ref_page_ranges(bitmap: bytes, nbits: int | None = None) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for i, bit in enumerate(ref_bits(bitmap, nbits)):
        if not bit:
            continue
        if ranges and ranges[-1][0] + ranges[-1][1] == i:
            ranges[-1] = (ranges[-1][0], ranges[-1][1] + 1)
        else:
            ranges.append((i, 1))
    return ranges


def from_bits(bits: str) -> bytes:
    """Bytes whose bit i is bits[i] ('1' or '0'; spaces ignored), zero-padded."""
    bits = bits.replace(" ", "")
    out = bytearray((len(bits) + 7) // 8)
    for i, bit in enumerate(bits):
        if bit == "1":
            out[i // 8] |= 1 << (i % 8)
    return bytes(out)


def check_all(bitmap: object, nbits: int | None = None) -> None:
    """Both implementations equal the reference on `bitmap` (raw bytes of it)."""
    raw = bytes(memoryview(bitmap).cast("B")) if not isinstance(bitmap, bytes) else bitmap
    want_count, want_ranges = ref_popcount(raw, nbits), ref_page_ranges(raw, nbits)
    for impl in (bitmap_py, native_bitmap):
        if impl is None:
            continue
        assert impl.popcount(bitmap, nbits) == want_count, impl.__name__
        assert impl.page_ranges(bitmap, nbits) == want_ranges, impl.__name__


# --- examples, bit patterns written out ----------------------------------------

@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(("bits", "ranges"), [
    ("", []),
    ("0", []),
    ("1", [(0, 1)]),
    ("0110 0000", [(1, 2)]),
    ("1000 0001 1000 0001", [(0, 1), (7, 2), (15, 1)]),
    ("0000 0000 0000 0111 1111 1111 1110", [(13, 14)]),
    ("1010 1010 1", [(0, 1), (2, 1), (4, 1), (6, 1), (8, 1)]),
    ("0" * 60 + "1" * 8 + "0" * 60, [(60, 8)]),           # a run across a 64-bit word
    ("1" * 64 + "1" * 64 + "0", [(0, 128)]),              # a run over two whole words
    ("0" * 63 + "1" * 65, [(63, 65)]),                     # a run reaching the last bit
])
def test_page_ranges_examples(impl, bits, ranges):
    """page_ranges turns written-out bit patterns into the expected (first, count) runs."""
    nbits = len(bits.replace(" ", ""))
    assert impl.page_ranges(from_bits(bits), nbits) == ranges
    assert impl.popcount(from_bits(bits), nbits) == sum(count for _, count in ranges)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("nbytes", [1, 7, 8, 9, 63, 64, 65, 1000])
def test_all_ones(impl, nbytes):
    """An all-ones bitmap is one run of every bit, with every prefix length too."""
    data = b"\xff" * nbytes
    assert impl.popcount(data) == nbytes * 8
    assert impl.page_ranges(data) == [(0, nbytes * 8)]
    for nbits in (0, 1, 7, 63, 64, 65, nbytes * 8 - 1):
        if 0 <= nbits <= nbytes * 8:
            assert impl.page_ranges(data, nbits) == ([(0, nbits)] if nbits else [])
            assert impl.popcount(data, nbits) == nbits


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("pattern", [0x55, 0xAA])
def test_alternating_bits(impl, pattern):
    """Alternating bits give one single-page run per set bit, across word boundaries."""
    data = bytes([pattern]) * 24
    first = 0 if pattern == 0x55 else 1
    assert impl.page_ranges(data) == [(i, 1) for i in range(first, 192, 2)]
    assert impl.popcount(data) == 96
    assert impl.page_ranges(data, 67) == [(i, 1) for i in range(first, 67, 2)]


@pytest.mark.parametrize("impl", IMPLS)
def test_empty_buffer(impl):
    """An empty buffer (and nbits=0 on any buffer) holds no set bits."""
    for data in (b"", bytearray(), memoryview(b"")):
        assert impl.popcount(data) == 0
        assert impl.page_ranges(data) == []
        assert impl.popcount(data, 0) == 0
    assert impl.popcount(b"\xff" * 9, 0) == 0
    assert impl.page_ranges(b"\xff" * 9, 0) == []


@pytest.mark.parametrize("impl", IMPLS)
def test_nbits_not_multiple_of_8_masks_the_tail(impl):
    """Bits at and above `nbits` are ignored, inside the last byte and beyond it."""
    data = b"\x00" * 8 + b"\xff\xff"
    assert impl.popcount(data, 67) == 3
    assert impl.page_ranges(data, 67) == [(64, 3)]
    assert impl.page_ranges(data, 64) == []
    assert impl.page_ranges(b"\xf0", 5) == [(4, 1)]


# --- accepted buffer types --------------------------------------------------------

@pytest.mark.parametrize("make", [
    pytest.param(lambda raw: raw, id="bytes"),
    pytest.param(bytearray, id="bytearray"),
    pytest.param(memoryview, id="memoryview"),
    pytest.param(lambda raw: memoryview(raw)[3:], id="memoryview-slice"),
    pytest.param(lambda raw: memoryview(raw).cast("b"), id="signed-char"),
    pytest.param(lambda raw: memoryview(raw).cast("c"), id="char"),
    pytest.param(lambda raw: memoryview(raw).cast("B", (4, len(raw) // 4)), id="2d"),
    pytest.param(lambda raw: array.array("Q", raw), id="array-Q"),
    pytest.param(lambda raw: (ctypes.c_ubyte * len(raw)).from_buffer_copy(raw), id="ctypes-ubyte"),
    pytest.param(lambda raw: (ctypes.c_uint64 * (len(raw) // 8)).from_buffer_copy(raw),
                 id="ctypes-u64"),
])
def test_buffer_types_read_as_raw_bytes(make):
    """Any C-contiguous buffer is read as its raw bytes, whatever its item format."""
    raw = random.Random(7).randbytes(64)
    check_all(make(raw))
    check_all(make(raw), 61)


# --- errors ------------------------------------------------------------------------

def outcome(fn, *args):
    """(error type, message) raised by fn(*args), or ("ok", result)."""
    try:
        return "ok", fn(*args)
    except Exception as exc:  # noqa: BLE001 - the comparison is the test
        return type(exc), str(exc)


BAD_CALLS = [
    pytest.param(("abc",), BitmapTypeError, f"Argument 'bitmap' must be {BYTES_LIKE}, not str",
                 id="str"),
    pytest.param(([1, 2],), BitmapTypeError, f"Argument 'bitmap' must be {BYTES_LIKE}, not list",
                 id="list"),
    pytest.param((None,), BitmapTypeError, f"Argument 'bitmap' must be {BYTES_LIKE}, not NoneType",
                 id="none"),
    pytest.param((7,), BitmapTypeError, f"Argument 'bitmap' must be {BYTES_LIKE}, not int",
                 id="int"),
    pytest.param((memoryview(b"abcdef")[::2],), BitmapLayoutError,
                 f"Argument 'bitmap' must be {BYTES_LIKE}; got a non-contiguous memoryview; "
                 f"pass bytes(bitmap) to copy it", id="strided"),
    pytest.param((b"ab", -1), NbitsRangeError,
                 "Argument 'nbits' must be >= 0 (or None for the whole bitmap), got -1",
                 id="negative-nbits"),
    pytest.param((b"ab", 17), NbitsRangeError,
                 "Argument 'nbits' is 17 but argument 'bitmap' holds only 16 bits (2 bytes); "
                 "pass nbits <= 16 or None", id="nbits-beyond-buffer"),
    pytest.param((b"", 1), NbitsRangeError,
                 "Argument 'nbits' is 1 but argument 'bitmap' holds only 0 bits (0 bytes); "
                 "pass nbits <= 0 or None", id="nbits-on-empty"),
    pytest.param((b"ab", 2**70), NbitsRangeError,
                 f"Argument 'nbits' is {2**70} but argument 'bitmap' holds only 16 bits (2 bytes); "
                 "pass nbits <= 16 or None", id="huge-nbits"),
    pytest.param((b"ab", 1.0), BitmapTypeError, "Argument 'nbits' must be an int or None, not float",
                 id="float-nbits"),
    pytest.param((b"ab", "3"), BitmapTypeError, "Argument 'nbits' must be an int or None, not str",
                 id="str-nbits"),
]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("fn", ["popcount", "page_ranges"])
@pytest.mark.parametrize(("args", "error", "message"), BAD_CALLS)
def test_errors(impl, fn, args, error, message):
    """Bad arguments raise the typed error with its exact message, in both implementations."""
    with pytest.raises(error) as info:
        getattr(impl, fn)(*args)
    assert type(info.value) is error
    assert str(info.value) == message
    assert isinstance(info.value, BitmapError) and isinstance(info.value, ValueError)
    assert info.value.argument == message.split("'")[1]


@needs_native
@pytest.mark.parametrize("fn", ["popcount", "page_ranges"])
def test_released_memoryview_fails_alike(fn):
    """A released memoryview fails with the same error in both implementations."""
    view = memoryview(b"ab")
    view.release()
    assert outcome(getattr(native_bitmap, fn), view) == outcome(getattr(bitmap_py, fn), view)


def test_bool_nbits_is_an_int():
    """nbits accepts anything with __index__ (True is 1), alike in both implementations."""
    check_all(b"\x03", True)


# --- randomized parity ---------------------------------------------------------------

byte_strings = st.one_of(
    st.binary(max_size=80),
    # Long runs: whole 0x00/0xff stretches with a few random bytes between.
    st.lists(st.sampled_from([0x00, 0xFF, 0x00, 0xFF, 0x0F, 0xF0, 0x80, 0x01]),
             max_size=80).map(bytes),
)


@settings(max_examples=400, deadline=None)
@given(data=st.data(), raw=byte_strings)
def test_parity_random(data, raw):
    """On random bytes and random nbits both implementations equal the reference."""
    nbits = data.draw(st.one_of(st.none(), st.integers(0, len(raw) * 8)), label="nbits")
    check_all(raw, nbits)


@settings(max_examples=100, deadline=None)
@given(raw=st.binary(max_size=40), nbits=st.integers(-(2**65), 2**65))
def test_parity_errors_random(raw, nbits):
    """For any nbits, in range or not, both implementations return or raise the same."""
    for fn in ("popcount", "page_ranges"):
        if native_bitmap is not None:
            assert outcome(getattr(native_bitmap, fn), raw, nbits) == \
                outcome(getattr(bitmap_py, fn), raw, nbits)


# --- the GIL-released path -----------------------------------------------------------

@needs_native
@pytest.mark.parametrize("density", [0.0, 0.001, 0.1, 0.5, 1.0])
def test_large_bitmaps_above_nogil_threshold(density):
    """Above the nogil threshold the compiled kernel gives the twin's (reference-checked) result."""
    threshold = native_bitmap.NOGIL_THRESHOLD_BITS
    nbytes = threshold // 8 * 3 + 13  # well above the threshold, not a whole number of words
    rng = random.Random(int(density * 1000))
    dirty = bytearray(nbytes)
    for i in rng.sample(range(nbytes * 8), int(nbytes * 8 * density)):
        dirty[i // 8] |= 1 << (i % 8)
    dirty[-1] |= 0x80  # a run that reaches the very last bit
    for nbits in (None, nbytes * 8 - 3, threshold, threshold - 1):
        want = bitmap_py.page_ranges(dirty, nbits)
        assert native_bitmap.page_ranges(dirty, nbits) == want
        assert native_bitmap.popcount(dirty, nbits) == bitmap_py.popcount(dirty, nbits) \
            == sum(count for _, count in want)
    # Spot-check the twin itself against the bit-by-bit reference on a prefix.
    prefix = bytes(dirty[:4096])
    assert bitmap_py.page_ranges(prefix) == ref_page_ranges(prefix)


@needs_native
def test_large_bitmap_from_threads():
    """Concurrent calls on the GIL-released path all return the single-threaded answer."""
    import threading

    nbytes = native_bitmap.NOGIL_THRESHOLD_BITS // 8 * 4
    dirty = random.Random(3).randbytes(nbytes)
    want = (native_bitmap.popcount(dirty), native_bitmap.page_ranges(dirty))
    got = []

    def work():
        got.append((native_bitmap.popcount(dirty), native_bitmap.page_ranges(dirty)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == [want] * 4


# --- choosing the implementation -------------------------------------------------------

@pytest.mark.skipif(not REQUIRE_NATIVE, reason="set VIRTNODE_REQUIRE_NATIVE=1 (make test does)")
def test_required_native_is_in_use():
    """With VIRTNODE_REQUIRE_NATIVE=1 the public module is the compiled kernel."""
    assert public_bitmap.IMPLEMENTATION == "native"
    assert public_bitmap.popcount is native_bitmap.popcount


def test_load_python_is_the_twin():
    """load(kernel, "python") returns the pure-Python twin whatever is built."""
    module = _native.load("bitmap", "python")
    assert module is bitmap_py
    assert _native.implementation_of(module) == "python"


@pytest.fixture
def unimportable_native(monkeypatch):
    """Makes `import _native._bitmap` fail as if it were never built."""
    monkeypatch.delitem(sys.modules, "_native._bitmap", raising=False)
    monkeypatch.setitem(sys.modules, "_native._bitmap", None)  # import raises ImportError
    if hasattr(_native, "_bitmap"):
        monkeypatch.delattr(_native, "_bitmap")


def test_load_native_missing_raises(unimportable_native, monkeypatch):
    """load("bitmap", "native") raises NativeMissingError naming the module when it is missing."""
    monkeypatch.delenv("VIRTNODE_REQUIRE_NATIVE", raising=False)
    with pytest.raises(NativeMissingError) as info:
        _native.load("bitmap", "native")
    assert info.value.module == "_native._bitmap"
    assert "Compiled kernel _native._bitmap is not importable" in str(info.value)
    assert isinstance(info.value, ImportError)


def test_load_auto_required_missing_raises(unimportable_native, monkeypatch):
    """With VIRTNODE_REQUIRE_NATIVE=1, "auto" refuses to fall back to the twin."""
    monkeypatch.setenv("VIRTNODE_REQUIRE_NATIVE", "1")
    with pytest.raises(NativeMissingError, match=r"_native\._bitmap"):
        _native.load("bitmap", "auto")


def test_load_auto_falls_back_with_a_warning(unimportable_native, monkeypatch, caplog):
    """Without the requirement, "auto" falls back to the twin and logs one warning."""
    monkeypatch.delenv("VIRTNODE_REQUIRE_NATIVE", raising=False)
    with caplog.at_level("WARNING", logger="_native"):
        module = _native.load("bitmap", "auto")
    assert module is bitmap_py
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "_native._bitmap" in caplog.records[0].getMessage()


def test_public_module_falls_back(unimportable_native, monkeypatch):
    """`_native.bitmap` imported without a build uses the twin and says so."""
    monkeypatch.delenv("VIRTNODE_REQUIRE_NATIVE", raising=False)
    monkeypatch.delitem(sys.modules, "_native.bitmap", raising=False)
    if hasattr(_native, "bitmap"):
        monkeypatch.delattr(_native, "bitmap")
    module = importlib.import_module("_native.bitmap")
    assert module.IMPLEMENTATION == "python"
    assert module.popcount is bitmap_py.popcount


@pytest.mark.parametrize(("args", "message"), [
    (("nope",), "Unknown kernel 'nope'; known kernels: bitmap"),
    (("bitmap", "fast"), "Unknown implementation 'fast' for kernel 'bitmap'; "
                         "choose one of: auto, native, python"),
])
def test_load_rejects_unknown_names(args, message):
    """load() names the unknown kernel or implementation and lists the known ones."""
    with pytest.raises(ValueError) as info:
        _native.load(*args)
    assert str(info.value) == message
