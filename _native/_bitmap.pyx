# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Dirty-page bitmap kernels, compiled: popcount and bitmap -> page ranges.

Owns the fast path for reading a KVM-style dirty log (bit i is bit i % 8 of
byte i // 8, least significant bit first), as the handler's migration and
dirty-rate code do once per iteration over the whole guest. Its pure-Python
twin `_native.bitmap_py` defines the behaviour and the errors; this module must
match it exactly. Callers import `_native.bitmap`, which picks this module when
it is built. It never keeps a reference to the caller's buffer after a call
returns and never writes to it.
"""

from cpython.number cimport PyNumber_Index
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy, memset

from _native.errors import BYTES_LIKE, BitmapLayoutError, BitmapTypeError, NbitsRangeError

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>

    /* Eight bytes at p as one word whose bit i is bit i % 8 of byte i / 8.
       memcpy makes the load legal at any alignment; compilers emit one mov. */
    static inline uint64_t vn_load_le64(const unsigned char *p) {
        uint64_t word;
        memcpy(&word, p, sizeof word);
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        word = __builtin_bswap64(word);
    #endif
        return word;
    }

    /* Set bits in nwords whole words at p. Built for the baseline ISA, x86-64
       has no popcnt instruction and __builtin_popcountll becomes a libgcc call
       per word (about 5x slower), so on x86 a second copy of the loop is
       compiled for popcnt and picked at run time when the CPU has it. */
    #define VN_COUNT_WORDS_BODY                                              \
        int64_t total = 0;                                                  \
        for (Py_ssize_t w = 0; w < nwords; w++)                             \
            total += __builtin_popcountll(vn_load_le64(p + 8 * w));         \
        return total;

    static int64_t vn_count_words_baseline(const unsigned char *p, Py_ssize_t nwords) {
        VN_COUNT_WORDS_BODY
    }

    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(__POPCNT__)
    __attribute__((target("popcnt")))
    static int64_t vn_count_words_popcnt(const unsigned char *p, Py_ssize_t nwords) {
        VN_COUNT_WORDS_BODY
    }

    static int64_t vn_count_words(const unsigned char *p, Py_ssize_t nwords) {
        static int has_popcnt = -1;
        if (has_popcnt < 0) {
            __builtin_cpu_init();
            has_popcnt = __builtin_cpu_supports("popcnt") ? 1 : 0;
        }
        return has_popcnt ? vn_count_words_popcnt(p, nwords)
                          : vn_count_words_baseline(p, nwords);
    }
    #else
    #define vn_count_words vn_count_words_baseline
    #endif
    """
    uint64_t vn_load_le64(const unsigned char *p) noexcept nogil
    int64_t vn_count_words(const unsigned char *p, Py_ssize_t nwords) noexcept nogil
    int __builtin_popcountll(unsigned long long x) noexcept nogil
    int __builtin_ctzll(unsigned long long x) noexcept nogil

cdef uint64_t ALL_ONES = 0xFFFFFFFFFFFFFFFFULL

# Below this many bits a call finishes in a few microseconds: keep the GIL
# rather than pay for handing it over (and possibly waiting a switch interval
# to get it back).
cdef Py_ssize_t NOGIL_MIN_BITS = 1 << 18
# The same threshold, readable from Python (the tests go above it).
NOGIL_THRESHOLD_BITS = NOGIL_MIN_BITS


cdef inline uint64_t tail_word(const unsigned char *p, Py_ssize_t nbits) noexcept nogil:
    """The first `nbits` (1..63) bits at p as a word, higher bits clear."""
    cdef unsigned char buf[8]
    memset(buf, 0, 8)
    # SAFETY: reads ceil(nbits / 8) <= 8 bytes, all inside the caller's
    # ceil(total_nbits / 8) readable bytes.
    memcpy(buf, p, <size_t>((nbits + 7) >> 3))
    return vn_load_le64(buf) & ((<uint64_t>1 << nbits) - 1)


cdef Py_ssize_t count_bits(const unsigned char *p, Py_ssize_t nbits) noexcept nogil:
    cdef Py_ssize_t nfull = nbits >> 6
    # SAFETY: vn_count_words reads words 0 .. nfull - 1, bytes [0, 8 * nfull),
    # and 8 * nfull <= nbits / 8, inside the bytes the caller vouches for.
    cdef Py_ssize_t total = vn_count_words(p, nfull)
    if nbits & 63:
        total += __builtin_popcountll(tail_word(p + 8 * nfull, nbits & 63))
    return total


cdef int push_range(RangeBuffer *out, int64_t first, int64_t count) except -1 nogil:
    """Append (first, count) to `out`, growing it geometrically."""
    cdef Py_ssize_t capacity
    cdef int64_t *items
    if out.length == out.capacity:
        capacity = out.capacity * 2 if out.capacity else 256
        items = <int64_t *> realloc(out.items, <size_t>capacity * 2 * sizeof(int64_t))
        if items == NULL:
            with gil:
                raise MemoryError("Cannot grow the page range buffer")
        out.items = items
        out.capacity = capacity
    out.items[2 * out.length] = first
    out.items[2 * out.length + 1] = count
    out.length += 1
    return 0


cdef int scan_ranges(const unsigned char *p, Py_ssize_t nbits, RangeBuffer *out) except -1 nogil:
    cdef Py_ssize_t nfull = nbits >> 6
    cdef Py_ssize_t nwords = (nbits + 63) >> 6
    cdef Py_ssize_t w, base
    cdef Py_ssize_t start = -1  # first page of the open run, or -1 outside a run
    cdef uint64_t word, pending
    cdef int pos, bit
    for w in range(nwords):
        # SAFETY: as in count_bits; the last, partial word goes through
        # tail_word, which reads only the bytes that hold its bits.
        word = vn_load_le64(p + 8 * w) if w < nfull else tail_word(p + 8 * w, nbits & 63)
        # Fast path: nothing changes inside this word.
        if start < 0:
            if word == 0:
                continue
        elif word == ALL_ONES:
            continue
        base = w << 6
        pos = 0
        while True:
            # Bits below `pos` are done; find the next bit that flips the state.
            pending = (word if start < 0 else ~word) & (ALL_ONES << pos)
            if pending == 0:
                break
            bit = __builtin_ctzll(pending)
            if start < 0:
                start = base + bit
            else:
                push_range(out, start, base + bit - start)
                start = -1
            pos = bit
    if start >= 0:
        push_range(out, start, nbits - start)
    return 0


cdef object byte_view(object bitmap):
    """`bitmap` as a flat memoryview of unsigned bytes, or a BitmapError (as the twin)."""
    try:
        view = memoryview(bitmap)
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


cdef const unsigned char[::1] acquire(object bitmap):
    """A typed view of `bitmap`: direct for flat byte buffers, else via byte_view."""
    cdef const unsigned char[::1] data
    if bitmap is None:
        # A typed memoryview accepts None (as an empty view); the twin does not.
        raise BitmapTypeError("bitmap", BYTES_LIKE, bitmap)
    try:
        data = bitmap
    except (TypeError, ValueError, BufferError):
        data = byte_view(bitmap)
    return data


cdef Py_ssize_t checked_nbits(object nbits, Py_ssize_t nbytes) except -1:
    """The number of bits to read: `nbits`, or the whole buffer when it is None."""
    if nbits is None:
        return nbytes * 8
    try:
        count = PyNumber_Index(nbits)
    except TypeError:
        raise BitmapTypeError("nbits", "an int or None", nbits) from None
    if count < 0 or count > nbytes * 8:
        raise NbitsRangeError(count, nbytes)
    return count


def popcount(bitmap, nbits=None):
    """Number of set bits among the first `nbits` bits of `bitmap` (all of it by default)."""
    cdef const unsigned char[::1] data = acquire(bitmap)
    cdef Py_ssize_t n = checked_nbits(nbits, data.shape[0])
    cdef Py_ssize_t total
    if n == 0:
        return 0
    cdef const unsigned char *p = &data[0]
    # SAFETY: `data` holds a buffer export for the whole call, so the memory
    # cannot be freed or resized (a bytearray refuses to resize while exported);
    # n <= 8 * len(data) was checked above. Another thread may still write to
    # a mutable buffer while the GIL is released: the count is then racy but
    # every read stays in bounds.
    if n >= NOGIL_MIN_BITS:
        with nogil:
            total = count_bits(p, n)
    else:
        total = count_bits(p, n)
    return total


def page_ranges(bitmap, nbits=None):
    """Maximal runs of set bits as (first_page, page_count), in ascending order.

    Only the first `nbits` bits count (all of the buffer by default), so a run
    that reaches bit `nbits` ends there.
    """
    cdef const unsigned char[::1] data = acquire(bitmap)
    cdef Py_ssize_t n = checked_nbits(nbits, data.shape[0])
    cdef RangeBuffer found
    cdef Py_ssize_t i
    cdef list ranges = []
    if n == 0:
        return ranges
    cdef const unsigned char *p = &data[0]
    found.items = NULL
    found.length = 0
    found.capacity = 0
    try:
        # SAFETY: as in popcount; `found` is ours alone and freed below.
        if n >= NOGIL_MIN_BITS:
            with nogil:
                scan_ranges(p, n, &found)
        else:
            scan_ranges(p, n, &found)
        for i in range(found.length):
            ranges.append((found.items[2 * i], found.items[2 * i + 1]))
    finally:
        free(found.items)
    return ranges
