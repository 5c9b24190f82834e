"""Builds virtnode's Cython kernels in _native/.

Every .pyx under _native/ becomes an extension module next to its source. Each
kernel has a pure-Python twin (`*_py.py`), so VIRTNODE_NO_NATIVE=1 skips the
compile step on machines without a C compiler; `make test` then fails the
parity test that requires the native build (VIRTNODE_REQUIRE_NATIVE=1).
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent


def native_extensions() -> list:
    if os.environ.get("VIRTNODE_NO_NATIVE") == "1":
        return []
    sources = sorted((HERE / "_native").glob("*.pyx"))
    if not sources:
        return []
    from Cython.Build import cythonize
    from setuptools import Extension

    extensions = [
        Extension(f"_native.{src.stem}", [str(src.relative_to(HERE))],
                  extra_compile_args=["-O3"])
        for src in sources
    ]
    return cythonize(extensions, language_level=3, quiet=True,
                     compiler_directives={"boundscheck": False, "wraparound": False,
                                          "cdivision": True})


setup(ext_modules=native_extensions())
