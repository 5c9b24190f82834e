"""`virtctl validate`: what a user sees when checking manifests offline."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from virtctl.cli import main

REPO = Path(__file__).resolve().parents[2]
KUBEVIRT_EXAMPLES = sorted((REPO / "examples" / "kubevirt").glob("*.yaml"))


def run(argv: list[str], capsys, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("manifest", KUBEVIRT_EXAMPLES, ids=lambda p: p.name)
def test_kubevirt_documentation_examples_are_valid(manifest: Path, capsys) -> None:
    """Manifests from KubeVirt's documentation load, default and validate unchanged."""
    code, out, err = run(["validate", "-f", str(manifest)], capsys)
    assert code == 0, out + err
    assert "is valid" in out


def test_examples_directory_is_read_whole(capsys) -> None:
    """A directory argument validates every manifest in it and names each object."""
    code, out, _ = run(["validate", "-f", str(REPO / "examples" / "kubevirt")], capsys)
    assert code == 0
    assert out.count("is valid") == len(KUBEVIRT_EXAMPLES)
    assert "VirtualMachine default/ubuntu-web-server is valid" in out


def test_unknown_field_is_reported_with_its_full_path(capsys) -> None:
    """A misspelt field is an error at its exact path, not silently dropped."""
    code, out, _ = run(["validate", "-f", str(REPO / "examples/invalid/unknown-field.yaml")], capsys)
    assert code == 1
    assert "spec.domain.devices.disks[1].disk.buss:" in out


def test_every_problem_in_an_object_is_reported_at_once(capsys) -> None:
    """A VM with many mistakes gets one line per mistake, each starting with its path."""
    code, out, _ = run(["validate", "-f", str(REPO / "examples/invalid/broken-vm.yaml")], capsys)
    assert code == 1
    assert "VirtualMachine default/broken-vm is invalid" in out
    tpl = "spec.template.spec."
    for path in ("spec.running", f"{tpl}domain.devices.disks[0].disk.bus",
                 f"{tpl}domain.devices.disks[1].name", f"{tpl}domain.devices.interfaces[0].macAddress",
                 f"{tpl}domain.resources.requests.memory", f"{tpl}volumes[1].name"):
        assert any(line.strip().startswith(path) for line in out.splitlines()), (path, out)


def test_stdin_and_yaml_output_print_defaulted_objects(capsys, monkeypatch) -> None:
    """`-f -` reads standard input and `-o yaml` prints the objects with defaults applied."""
    manifest = (REPO / "examples/kubevirt/vmi-fedora.yaml").read_text()
    code, out, err = run(["validate", "-f", "-", "-o", "yaml"], capsys, stdin=manifest,
                         monkeypatch=monkeypatch)
    assert code == 0, err
    obj = yaml.safe_load(out)
    spec = obj["spec"]
    assert spec["networks"] == [{"name": "default", "pod": {}}]
    assert spec["domain"]["devices"]["interfaces"][0]["masquerade"] == {}
    assert spec["domain"]["machine"]["type"] == "q35"
    assert spec["domain"]["firmware"]["uuid"]


def test_defaulted_output_validates_again(tmp_path: Path, capsys) -> None:
    """What `-o yaml` prints is itself a valid manifest (defaulting is a fixed point)."""
    code, out, _ = run(["validate", "-f", str(REPO / "examples/kubevirt"), "-o", "yaml"], capsys)
    assert code == 0
    again = tmp_path / "defaulted.yaml"
    again.write_text(out)
    code, out2, _ = run(["validate", "-f", str(again), "-o", "yaml"], capsys)
    assert code == 0
    assert out2 == out


def test_missing_file_is_a_usage_error_naming_it(capsys) -> None:
    """An unreadable path exits 2 with a message that names it."""
    code, _, err = run(["validate", "-f", "/nonexistent/vm.yaml"], capsys)
    assert code == 2
    assert "/nonexistent/vm.yaml" in err


def test_empty_input_is_an_error(capsys, monkeypatch) -> None:
    """Validating nothing is not success: an empty document stream exits 2."""
    code, _, err = run(["validate", "-f", "-"], capsys, stdin="---\n", monkeypatch=monkeypatch)
    assert code == 2
    assert "no objects" in err


def test_console_script_is_installed() -> None:
    """The `virtctl` console script runs validate from a shell pipeline."""
    virtctl = Path(sys.executable).parent / "virtctl"
    if not virtctl.exists():
        pytest.fail(f"{virtctl} missing: run make install (pip install -e .)")
    broken = (REPO / "examples/invalid/unknown-field.yaml").read_text()
    proc = subprocess.run([str(virtctl), "validate", "-f", "-"], input=broken,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "disks[1].disk.buss" in proc.stdout
