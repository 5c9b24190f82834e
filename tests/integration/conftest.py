"""Fixtures of the integration tests: one built test guest per session.

`guest_images` builds the test guest once per session (a cache hit after
`make install`: well under a second) and hands the same GuestImages to every
test. A machine that lacks a host tool of the build skips the tests that need
the guest, or fails them under VIRTNODE_STRICT_CAPABILITIES=1 like any other
missing capability (see tests/conftest.py).
"""

from __future__ import annotations

import pytest

from tests.conftest import STRICT
from tests.guest import build
from tests.guest.errors import MissingToolError


@pytest.fixture(scope="session")
def guest_images() -> build.GuestImages:
    try:
        return build.build(log=lambda message: None)
    except MissingToolError as exc:
        if STRICT:
            pytest.fail(f"[qemu] {exc} (VIRTNODE_STRICT_CAPABILITIES=1 forbids skipping)")
        pytest.skip(f"[qemu] {exc}")
