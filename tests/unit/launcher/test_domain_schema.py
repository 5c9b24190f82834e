"""Every golden domain XML is valid against libvirt's own domain schema (virt-xml-validate)."""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.unit.launcher.test_domain_golden import CASES, GOLDEN

INSTALL_HINT = ("virt-xml-validate (Debian's libvirt-clients) and xmllint (libxml2-utils) are "
                "needed to check golden domain XML against libvirt's schema; run "
                "`apt-get install libvirt-clients libxml2-utils` (make install does)")


def _validate(path) -> tuple[str, int, str]:
    run = subprocess.run(["virt-xml-validate", str(path), "domain"], capture_output=True,
                         text=True, timeout=60)
    return path.parent.name, run.returncode, (run.stdout + run.stderr).strip()


def test_golden_domain_xml_is_valid_for_libvirt() -> None:
    """libvirt's RelaxNG schema accepts every expected.xml (the XML libvirt 9.0 will be given)."""
    if not shutil.which("virt-xml-validate") or not shutil.which("xmllint"):
        pytest.fail(INSTALL_HINT)
    files = [GOLDEN / case / "expected.xml" for case in CASES]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(_validate, files))
    failed = [f"{case}: {out}" for case, rc, out in results if rc != 0]
    assert not failed, "libvirt's schema rejects:\n" + "\n".join(failed)
