"""virtctl apply, create -f, get, describe and delete against the embedded API."""

from __future__ import annotations

import json

import yaml

from tests.integration.apiserver.process import REPO
from tests.integration.virtctl.conftest import ok

TESTVM = REPO / "examples/kubevirt/testvm.yaml"


def test_apply_creates_then_unchanged_then_configured(virtctl, conn) -> None:
    """apply creates a missing object, leaves an identical one alone, and patches a changed one."""
    assert ok(virtctl("apply", "-f", str(TESTVM))).strip() == "virtualmachine.kubevirt.io/testvm created"
    assert ok(virtctl("apply", "-f", str(TESTVM))).strip() == "virtualmachine.kubevirt.io/testvm unchanged"
    changed = TESTVM.read_text().replace("memory: 64M", "memory: 128M")
    assert "configured" in ok(virtctl("apply", "-f", "-", input=changed))
    vm = conn.get(conn.resolve("vm"), "default", "testvm")
    assert vm["spec"]["template"]["spec"]["domain"]["resources"]["requests"]["memory"] == "128M"


def test_get_table_yaml_json_name(virtctl) -> None:
    """get prints the server's table like kubectl, and -o yaml/json/name print the objects."""
    ok(virtctl("apply", "-f", str(REPO / "examples/kubevirt/vmi-fedora.yaml")))
    lines = ok(virtctl("get", "vmis")).splitlines()
    assert lines[0].split() == ["NAME", "AGE", "PHASE", "IP", "NODENAME", "READY"]
    assert lines[1].startswith("vmi-fedora ") and "<none>" in lines[1]
    wide = ok(virtctl("get", "vmi", "-o", "wide")).splitlines()[0].split()
    assert wide[-2:] == ["LIVE-MIGRATABLE", "PAUSED"]
    assert ok(virtctl("get", "vmis", "-A")).splitlines()[0].split()[:2] == ["NAMESPACE", "NAME"]
    doc = yaml.safe_load(ok(virtctl("get", "vmi", "vmi-fedora", "-o", "yaml")))
    assert doc["kind"] == "VirtualMachineInstance" and doc["metadata"]["name"] == "vmi-fedora"
    listed = json.loads(ok(virtctl("get", "virtualmachineinstances.kubevirt.io", "-o", "json")))
    assert listed["kind"] == "List" and [i["metadata"]["name"] for i in listed["items"]] == ["vmi-fedora"]
    assert ok(virtctl("get", "vmi/vmi-fedora", "-o", "name")).strip() == \
        "virtualmachineinstance.kubevirt.io/vmi-fedora"


def test_get_label_selector_and_empty_namespace(virtctl) -> None:
    """-l filters on the server, and an empty result says so on stderr like kubectl."""
    manifest = TESTVM.read_text().replace("name: testvm", "name: labelled", 1).replace(
        "spec:\n  running", "  labels: {tier: web}\nspec:\n  running", 1)
    ok(virtctl("apply", "-f", "-", input=manifest))
    assert [l.split()[0] for l in ok(virtctl("get", "vm", "-l", "tier=web")).splitlines()[1:]] == ["labelled"]
    empty = virtctl("get", "vm", "-n", "kube-public")
    assert empty.returncode == 0 and empty.stdout == ""
    assert "No resources found in kube-public namespace." in empty.stderr


def test_describe_shows_conditions_and_events(virtctl, conn) -> None:
    """describe prints the object, its conditions and the events about it, not others'."""
    ok(virtctl("apply", "-f", str(TESTVM)))
    vm_type = conn.resolve("vm")
    vm = conn.get(vm_type, "default", "testvm")
    vm["status"] = {"conditions": [{"type": "Ready", "status": "False", "reason": "NotStarted"}]}
    conn.request("PUT", vm_type.path("default", "testvm", "status"), body=vm)
    events = conn.resolve("events")
    for name, obj in (("e1", "testvm"), ("e2", "someone-else")):
        conn.create(events, "default", {
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
            "involvedObject": {"kind": "VirtualMachine", "name": obj, "namespace": "default"},
            "reason": "SuccessfulCreate", "message": f"Started the VM {obj}", "type": "Normal",
            "source": {"component": "virt-controller"}, "lastTimestamp": "2025-01-01T00:00:00Z"})
    out = ok(virtctl("describe", "vm", "testvm"))
    assert out.startswith("Name:         testvm\nNamespace:    default\n")
    assert "Conditions:" in out and "NotStarted" in out
    assert "Started the VM testvm" in out and "someone-else" not in out


def test_delete_by_name_and_file(virtctl) -> None:
    """delete removes objects named on the line or in manifests; a missing one is exit 1."""
    ok(virtctl("apply", "-f", str(TESTVM)))
    assert ok(virtctl("delete", "vm", "testvm")).strip() == 'virtualmachine.kubevirt.io "testvm" deleted'
    gone = virtctl("delete", "vm", "testvm")
    assert gone.returncode == 1
    assert 'Error from server (NotFound): virtualmachines.kubevirt.io "testvm" not found' in gone.stderr
    ok(virtctl("delete", "vm", "testvm", "--ignore-not-found"))
    ok(virtctl("create", "-f", str(TESTVM)))
    assert "deleted" in ok(virtctl("delete", "-f", str(TESTVM)))


def test_errors_carry_the_servers_message(virtctl) -> None:
    """Server failures exit 1 with the Status message; bad usage exits 2."""
    ok(virtctl("create", "-f", str(TESTVM)))
    again = virtctl("create", "-f", str(TESTVM))
    assert again.returncode == 1
    assert 'Error from server (AlreadyExists): virtualmachines.kubevirt.io "testvm" already exists' in again.stderr
    broken = virtctl("apply", "-f", str(REPO / "examples/invalid/broken-vm.yaml"))
    assert broken.returncode == 1 and "Error from server (Invalid)" in broken.stderr
    assert "spec.running" in broken.stderr
    unknown = virtctl("get", "flavours")
    assert unknown.returncode == 1 and 'doesn\'t have a resource type "flavours"' in unknown.stderr
    assert virtctl("delete", "vm").returncode == 2
    assert virtctl("create").returncode == 2
    ok(virtctl("delete", "vm", "testvm"))


def test_no_cluster_is_a_clear_error(tmp_path) -> None:
    """Without any kubeconfig virtctl says how to get one instead of a traceback."""
    from tests.integration.virtctl.conftest import run_virtctl

    result = run_virtctl("get", "vm", "--state-dir", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "No embedded node in" in result.stderr and "virtctl up" in result.stderr
    missing = run_virtctl("get", "vm", "--kubeconfig", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr
