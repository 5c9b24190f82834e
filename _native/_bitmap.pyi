# Stub of the compiled dirty-bitmap kernel (_bitmap.pyx); the same signatures
# as its pure-Python twin _native/bitmap_py.py.
from typing_extensions import Buffer

# Bit count from which a call releases the GIL (compiled kernel only).
NOGIL_THRESHOLD_BITS: int

def popcount(bitmap: Buffer, nbits: int | None = None) -> int: ...
def page_ranges(bitmap: Buffer, nbits: int | None = None) -> list[tuple[int, int]]: ...
