"""Suite-wide test configuration: capability probing for the markers.

A test marked `root`, `netns` or `qemu` is skipped, with a reason that says how
to enable it, when this machine cannot run it. Under `make test` (and so in CI)
VIRTNODE_STRICT_CAPABILITIES=1 turns every such skip into a failure, so a
missing package can never hide a test.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

import pytest

STRICT = os.environ.get("VIRTNODE_STRICT_CAPABILITIES") == "1"
# As in the handler (handler/__init__.py): tests fork helpers while gRPC threads run.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")


@functools.cache
def missing_capability(marker: str) -> str | None:
    """Why this machine cannot run tests with `marker`, or None when it can."""
    if marker in ("root", "netns") and os.geteuid() != 0:
        return "needs root; run the suite as root (make test does)"
    if marker == "netns":
        try:
            subprocess.run(["ip", "netns", "list"], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError):
            return "needs iproute2 and network namespace support"
    if marker == "qemu" and not shutil.which("qemu-system-x86_64"):
        return "needs qemu-system-x86_64; run make install (it installs qemu-system-x86)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in ("root", "netns", "qemu"):
        if item.get_closest_marker(marker) is None:
            continue
        why = missing_capability(marker)
        if why is None:
            continue
        if STRICT:
            pytest.fail(f"[{marker}] {why} (VIRTNODE_STRICT_CAPABILITIES=1 forbids skipping)")
        pytest.skip(f"[{marker}] {why}")
