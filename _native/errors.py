"""Typed errors of the _native kernels.

Owns the exception classes (and so the exact messages) that every kernel and
its pure-Python twin raise, so the two implementations cannot drift apart in
what a caller sees. Called by `_native._bitmap`, `_native.bitmap_py` and the
`_native` loader; imports nothing of ours and must never grow logic beyond
building messages.
"""

from __future__ import annotations

BYTES_LIKE = "a C-contiguous bytes-like object (bytes, bytearray, memoryview)"


class NativeError(Exception):
    """Base class of every error raised by the _native package."""


class NativeMissingError(NativeError, ImportError):
    """The compiled kernel is required (VIRTNODE_REQUIRE_NATIVE=1) but cannot be imported."""

    def __init__(self, module: str, cause: BaseException | None = None) -> None:
        self.module = module
        reason = f" ({cause})" if cause is not None else ""
        super().__init__(
            f"Compiled kernel {module} is not importable{reason}; run `make install` "
            f"(or `.venv/bin/python setup.py build_ext --inplace`) to build it, "
            f"or unset VIRTNODE_REQUIRE_NATIVE to use the pure-Python twin")


class BitmapError(NativeError, ValueError):
    """An argument given to a bitmap kernel is not allowed; `argument` names it."""

    def __init__(self, argument: str, message: str) -> None:
        self.argument = argument
        super().__init__(message)


class BitmapTypeError(BitmapError, TypeError):
    """An argument of a bitmap kernel has a type it does not accept."""

    def __init__(self, argument: str, allowed: str, value: object) -> None:
        super().__init__(argument, f"Argument {argument!r} must be {allowed}, "
                                   f"not {type(value).__name__}")


class BitmapLayoutError(BitmapError):
    """The bitmap buffer is not laid out as contiguous bytes."""

    def __init__(self, argument: str, detail: str) -> None:
        super().__init__(argument, f"Argument {argument!r} must be {BYTES_LIKE}; "
                                   f"{detail}; pass bytes({argument}) to copy it")


class NbitsRangeError(BitmapError):
    """`nbits` is negative or asks for more bits than the buffer holds."""

    def __init__(self, nbits: int, nbytes: int) -> None:
        self.nbits = nbits
        self.nbytes = nbytes
        if nbits < 0:
            message = f"Argument 'nbits' must be >= 0 (or None for the whole bitmap), got {nbits}"
        else:
            message = (f"Argument 'nbits' is {nbits} but argument 'bitmap' holds only "
                       f"{nbytes * 8} bits ({nbytes} bytes); pass nbits <= {nbytes * 8} "
                       f"or None")
        super().__init__("nbits", message)
