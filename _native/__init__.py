"""Cython hot paths, each with a pure-Python twin of identical behaviour.

Owns the choice between a compiled kernel and its twin. A kernel `name` is
built from `_<name>.pyx` into `_native._<name>`, its twin is `<name>_py.py`,
and `_native/<name>.py` is the public module that callers import
(`from _native import bitmap`): it re-exports the compiled kernel when it is
importable and the twin otherwise, logging one warning when it falls back.
With VIRTNODE_REQUIRE_NATIVE=1 (as `make test` sets) a missing build raises
NativeMissingError instead, so a suite can never silently test only the twin.

This package depends on nothing else of ours and never imports a kernel at
package import time.
"""

from __future__ import annotations

import importlib
import logging
import os
from types import ModuleType

from _native.errors import NativeMissingError

__all__ = ["IMPLEMENTATIONS", "KERNELS", "implementation_of", "load", "native_required"]

log = logging.getLogger(__name__)

KERNELS = ("bitmap",)
IMPLEMENTATIONS = ("auto", "native", "python")
REQUIRE_NATIVE_ENV = "VIRTNODE_REQUIRE_NATIVE"


def native_required() -> bool:
    """Whether the environment forbids falling back to a pure-Python twin."""
    return os.environ.get(REQUIRE_NATIVE_ENV) == "1"


def load(kernel: str, implementation: str = "auto") -> ModuleType:
    """The module implementing `kernel`: "native", "python", or "auto" (native when built).

    "native" raises NativeMissingError when the compiled module cannot be
    imported; "auto" falls back to the twin unless native_required().
    """
    if kernel not in KERNELS:
        raise ValueError(f"Unknown kernel {kernel!r}; known kernels: {', '.join(KERNELS)}")
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"Unknown implementation {implementation!r} for kernel {kernel!r}; "
                         f"choose one of: {', '.join(IMPLEMENTATIONS)}")
    if implementation == "python":
        return importlib.import_module(f"_native.{kernel}_py")
    module = f"_native._{kernel}"
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if implementation == "native" or native_required():
            raise NativeMissingError(module, exc) from exc
        log.warning("Compiled kernel %s is not importable (%s); using the pure-Python twin "
                    "_native.%s_py, which is much slower; run `make install` to build it",
                    module, exc, kernel)
        return importlib.import_module(f"_native.{kernel}_py")


def implementation_of(module: ModuleType) -> str:
    """ "native" for a compiled kernel module, "python" for a twin."""
    return "python" if module.__name__.endswith("_py") else "native"
