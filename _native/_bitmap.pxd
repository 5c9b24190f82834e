# C-level entry points of _native._bitmap, for other kernels to cimport.
# Both read the first `nbits` bits of the buffer at `p`, which must hold at
# least ceil(nbits / 8) readable bytes for the whole call.

from libc.stdint cimport int64_t


cdef struct RangeBuffer:
    int64_t *items      # (first_page, page_count) pairs, flattened
    Py_ssize_t length   # number of ranges held
    Py_ssize_t capacity # number of ranges that fit without growing


cdef Py_ssize_t count_bits(const unsigned char *p, Py_ssize_t nbits) noexcept nogil
cdef int scan_ranges(const unsigned char *p, Py_ssize_t nbits, RangeBuffer *out) except -1 nogil
