"""Golden files: each tests/golden/launcher/<case>/vmi.yaml (+ context.json) -> expected.xml.

A case is a VMI as a user writes it; the test decodes it, applies admission's
defaults (as the API server would before the launcher sees it), builds the
DomainContext from the base below overlaid with the case's context.json, and
compares the conversion byte for byte with expected.xml. `UPDATE_GOLDEN=1`
rewrites the expected files instead; review the XML diff before committing.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest

from controller.admission import ClusterConfig, default
from launcher.domain import (DiskSource, DomainContext, FirmwareFiles, HostDeviceMdev,
                             HostDevicePCI, KernelBootFiles, PreparedInterface, to_domain_xml)
from protos import codec

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "launcher"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "vmi.yaml").is_file())
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

# What the launcher of every case has unless its context.json says otherwise.
BASE_CONTEXT = {
    "accelerator": "tcg",
    "uid": "7f3c2a10-5b8e-4d6f-9a21-0c4e8b7d6f15",
    "serial_socket": "/var/run/virtnode/vm/serial.sock",
    "vnc_socket": "/var/run/virtnode/vm/vnc.sock",
    "agent_socket": "/var/run/virtnode/vm/agent.sock",
    "interfaces": [{"name": "default", "tap": "tap0", "mac": "02:00:00:00:00:01"}],
}


def context_from_json(doc: dict) -> DomainContext:
    """A DomainContext from BASE_CONTEXT overlaid with a context.json document."""
    merged = {**BASE_CONTEXT, **doc}
    merged["disks"] = {k: DiskSource(**v) for k, v in merged.get("disks", {}).items()}
    merged["interfaces"] = tuple(PreparedInterface(**i) for i in merged.get("interfaces", ()))
    if merged.get("kernel_boot") is not None:
        merged["kernel_boot"] = KernelBootFiles(**merged["kernel_boot"])
    if merged.get("firmware_files") is not None:
        merged["firmware_files"] = FirmwareFiles(**merged["firmware_files"])
    merged["host_devices"] = {
        k: HostDevicePCI(v["pci"]) if "pci" in v else HostDeviceMdev(v["mdev"])
        for k, v in merged.get("host_devices", {}).items()}
    return DomainContext(**merged)


def load_case(case: str):
    """(defaulted VMI, context) of a golden case."""
    folder = GOLDEN / case
    source = folder / "vmi.yaml"
    (vmi,) = codec.load_documents(source.read_text(), source=str(source))
    ctx_file = folder / "context.json"
    ctx = context_from_json(json.loads(ctx_file.read_text()) if ctx_file.exists() else {})
    return default(vmi, ClusterConfig()), ctx


def test_there_are_enough_golden_cases() -> None:
    """The golden set covers at least 15 shapes of VMI."""
    assert len(CASES) >= 15, CASES


@pytest.mark.parametrize("case", CASES)
def test_domain_xml_matches_golden(case: str) -> None:
    """The conversion of each golden VMI is exactly its expected.xml."""
    vmi, ctx = load_case(case)
    got = to_domain_xml(vmi, ctx)
    expected_file = GOLDEN / case / "expected.xml"
    if UPDATE:
        expected_file.write_text(got)
        return
    assert expected_file.exists(), f"{expected_file} is missing; run with UPDATE_GOLDEN=1"
    expected = expected_file.read_text()
    if got != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), got.splitlines(True),
                                            f"{case}/expected.xml", f"{case} (converted)"))
        pytest.fail(f"domain XML of {case} differs from its golden file "
                    f"(UPDATE_GOLDEN=1 rewrites it):\n{diff}")


@pytest.mark.parametrize("case", CASES)
def test_conversion_is_deterministic(case: str) -> None:
    """Converting the same VMI twice gives the same text (no dict or set order leaks)."""
    vmi, ctx = load_case(case)
    assert to_domain_xml(vmi, ctx) == to_domain_xml(vmi, ctx)
