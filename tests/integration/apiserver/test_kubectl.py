"""Debian's kubectl against the embedded API: what a KubeVirt user types."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.apiserver.process import kubectl

REPO = Path(__file__).resolve().parents[3]



@pytest.fixture(autouse=True)
def _kubectl_present() -> None:
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is missing: make install installs Debian's kubernetes-client")


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_apply_get_patch_delete(api) -> None:
    out = ok(kubectl(api, "apply", "-f", str(REPO / "examples/kubevirt/vmi-fedora.yaml")))
    assert "virtualmachineinstance.kubevirt.io/vmi-fedora created" in out
    table = ok(kubectl(api, "get", "vmis"))
    header = table.splitlines()[0].split()
    assert header == ["NAME", "AGE", "PHASE", "IP", "NODENAME", "READY"]
    assert table.splitlines()[1].startswith("vmi-fedora")

    ok(kubectl(api, "apply", "-f", str(REPO / "examples/kubevirt/ubuntu-web-server.yaml")))
    doc = yaml.safe_load(ok(kubectl(api, "get", "vm", "ubuntu-web-server", "-o", "yaml")))
    assert doc["kind"] == "VirtualMachine" and doc["spec"]["runStrategy"] == "Always"
    assert doc["spec"]["template"]["spec"]["networks"] == [{"name": "default", "pod": {}}]

    ok(kubectl(api, "patch", "vm", "ubuntu-web-server", "--type", "merge",
               "-p", '{"spec":{"runStrategy":"Halted"}}'))
    assert ok(kubectl(api, "get", "vm", "ubuntu-web-server", "-o",
                      "jsonpath={.spec.runStrategy}")) == "Halted"
    ok(kubectl(api, "delete", "vm", "ubuntu-web-server"))
    missing = kubectl(api, "get", "vm", "ubuntu-web-server")
    assert missing.returncode != 0 and "NotFound" in missing.stderr


def test_invalid_manifest_lists_every_field(api) -> None:
    result = kubectl(api, "apply", "-f", str(REPO / "examples/invalid/broken-vm.yaml"))
    assert result.returncode != 0
    assert 'The VirtualMachine "broken-vm" is invalid' in result.stderr
    assert "spec.template.spec.domain.devices.interfaces[0].macAddress" in result.stderr
    assert "spec.running" in result.stderr


def test_short_names_and_wide_output(api) -> None:
    ok(kubectl(api, "apply", "-f", str(REPO / "examples/kubevirt/testvm.yaml")))
    assert "testvm" in ok(kubectl(api, "get", "vm"))
    wide = ok(kubectl(api, "get", "vmi", "-o", "wide")).splitlines()[0].split()
    assert "LIVE-MIGRATABLE" in wide and "PAUSED" in wide
    resources = ok(kubectl(api, "api-resources", "--api-group=kubevirt.io"))
    assert "vmi,vmis" in resources and "vmim,vmims" in resources


def test_get_watch_prints_changes(api) -> None:
    env_cmd = ["kubectl", "get", "vmis", "-w"]
    import os

    watcher = subprocess.Popen(env_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "KUBECONFIG": str(api.kubeconfig)})
    try:
        time.sleep(1.5)
        manifest = (REPO / "examples/kubevirt/vmi-fedora.yaml").read_text().replace(
            "name: vmi-fedora", "name: vmi-watched")
        ok(kubectl(api, "apply", "-f", "-", input=manifest))
        ok(kubectl(api, "label", "vmi", "vmi-watched", "seen=yes"))
        time.sleep(1.5)
    finally:
        watcher.terminate()
        out, _ = watcher.communicate(timeout=10)
    lines = [line for line in out.splitlines() if line.startswith("vmi-watched")]
    assert len(lines) >= 2, out  # created, then relabelled
    assert out.splitlines()[0].split()[:3] == ["NAME", "AGE", "PHASE"]
