"""kubectl against the embedded API: what a KubeVirt user types.

Every test runs twice: with Debian's kubectl 1.20 (package kubernetes-client,
unpacked by tests/debian_kubectl.py) and with the kubectl on PATH (a newer one
on these machines), each against its own API process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests import debian_kubectl
from tests.integration.apiserver.process import APIProcess, temporary_api

REPO = Path(__file__).resolve().parents[3]


class Kubectl:
    def __init__(self, binary: str, api: APIProcess) -> None:
        self.binary, self.api = binary, api

    def __call__(self, *args: str, input: str | None = None, timeout: float = 30):
        env = {**os.environ, "KUBECONFIG": str(self.api.kubeconfig)}
        return subprocess.run([self.binary, *args], input=input, capture_output=True, text=True,
                              env=env, timeout=timeout)

    def popen(self, *args: str) -> subprocess.Popen:
        env = {**os.environ, "KUBECONFIG": str(self.api.kubeconfig)}
        return subprocess.Popen([self.binary, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env)


@pytest.fixture(scope="module", params=["debian-1.20", "path"])
def kubectl(request) -> Iterator[Kubectl]:
    if request.param == "debian-1.20":
        try:
            binary = str(debian_kubectl.ensure())
        except debian_kubectl.KubectlUnavailable as e:
            pytest.fail(f"{e} (make install unpacks Debian's kubectl)")
    else:
        binary = shutil.which("kubectl")
        if binary is None:
            pytest.fail("kubectl is missing from PATH: make install installs Debian's kubernetes-client")
    with temporary_api("vnk-") as api:
        yield Kubectl(binary, api)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_apply_get_patch_delete(kubectl: Kubectl) -> None:
    out = ok(kubectl("apply", "-f", str(REPO / "examples/kubevirt/vmi-fedora.yaml")))
    assert "virtualmachineinstance.kubevirt.io/vmi-fedora created" in out
    table = ok(kubectl("get", "vmis"))
    header = table.splitlines()[0].split()
    assert header == ["NAME", "AGE", "PHASE", "IP", "NODENAME", "READY"]
    assert table.splitlines()[1].startswith("vmi-fedora")

    ok(kubectl("apply", "-f", str(REPO / "examples/kubevirt/ubuntu-web-server.yaml")))
    doc = yaml.safe_load(ok(kubectl("get", "vm", "ubuntu-web-server", "-o", "yaml")))
    assert doc["kind"] == "VirtualMachine" and doc["spec"]["runStrategy"] == "Always"
    assert doc["spec"]["template"]["spec"]["networks"] == [{"name": "default", "pod": {}}]

    ok(kubectl("patch", "vm", "ubuntu-web-server", "--type", "merge",
               "-p", '{"spec":{"runStrategy":"Halted"}}'))
    assert ok(kubectl("get", "vm", "ubuntu-web-server", "-o",
                      "jsonpath={.spec.runStrategy}")) == "Halted"
    ok(kubectl("delete", "vm", "ubuntu-web-server"))
    missing = kubectl("get", "vm", "ubuntu-web-server")
    assert missing.returncode != 0 and "NotFound" in missing.stderr


def test_invalid_manifest_lists_every_field(kubectl: Kubectl) -> None:
    result = kubectl("apply", "-f", str(REPO / "examples/invalid/broken-vm.yaml"))
    assert result.returncode != 0
    assert 'The VirtualMachine "broken-vm" is invalid' in result.stderr
    assert "spec.template.spec.domain.devices.interfaces[0].macAddress" in result.stderr
    assert "spec.running" in result.stderr


def test_short_names_and_wide_output(kubectl: Kubectl) -> None:
    ok(kubectl("apply", "-f", str(REPO / "examples/kubevirt/testvm.yaml")))
    assert "testvm" in ok(kubectl("get", "vm"))
    wide = ok(kubectl("get", "vmi", "-o", "wide")).splitlines()[0].split()
    assert "LIVE-MIGRATABLE" in wide and "PAUSED" in wide
    resources = ok(kubectl("api-resources", "--api-group=kubevirt.io"))
    assert "vmi,vmis" in resources and "vmim,vmims" in resources


def test_get_watch_prints_changes(kubectl: Kubectl) -> None:
    watcher = kubectl.popen("get", "vmis", "-w")
    try:
        time.sleep(1.5)
        manifest = (REPO / "examples/kubevirt/vmi-fedora.yaml").read_text().replace(
            "name: vmi-fedora", "name: vmi-watched")
        ok(kubectl("apply", "-f", "-", input=manifest))
        ok(kubectl("label", "vmi", "vmi-watched", "seen=yes"))
        time.sleep(1.5)
    finally:
        watcher.terminate()
        out, _ = watcher.communicate(timeout=10)
    lines = [line for line in out.splitlines() if line.startswith("vmi-watched")]
    assert len(lines) >= 2, out  # created, then relabelled
    assert out.splitlines()[0].split()[:3] == ["NAME", "AGE", "PHASE"]
