"""virtctl start/stop/restart/pause/unpause: what each does to the stored VM and VMI."""

from __future__ import annotations

import pytest
import yaml

from tests.integration.apiserver.process import REPO
from tests.integration.virtctl.conftest import ok

TESTVM = (REPO / "examples/kubevirt/testvm.yaml").read_text()


@pytest.fixture
def make_vm(virtctl, conn):
    """Creates VM `name` with a runStrategy and, optionally, its VMI in `phase`."""
    made = []

    def make(name: str, strategy: str, phase: str | None = None) -> None:
        doc = yaml.safe_load(TESTVM)
        doc["metadata"]["name"] = name
        del doc["spec"]["running"]
        doc["spec"]["runStrategy"] = strategy
        ok(virtctl("create", "-f", "-", input=yaml.safe_dump(doc)))
        made.append(name)
        if phase:
            vmi_type = conn.resolve("vmi")
            vmi = conn.create(vmi_type, "default", {
                "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
                "metadata": {"name": name}, "spec": doc["spec"]["template"]["spec"]})
            vmi["status"] = {"phase": phase}
            conn.request("PUT", vmi_type.path("default", name, "status"), body=vmi)

    yield make
    for name in made:
        virtctl("delete", "vm", name, "--ignore-not-found")
        virtctl("delete", "vmi", name, "--ignore-not-found")


def _vm(conn, name: str) -> dict:
    return conn.get(conn.resolve("vm"), "default", name)


def _vmi(conn, name: str) -> dict:
    return conn.get(conn.resolve("vmi"), "default", name)


def test_start_halted_sets_always(virtctl, conn, make_vm) -> None:
    """start on a Halted VM switches its runStrategy to Always."""
    make_vm("halted", "Halted")
    assert ok(virtctl("start", "halted")).strip() == "VM halted was scheduled to start"
    assert _vm(conn, "halted")["spec"]["runStrategy"] == "Always"


def test_start_running_vm_is_a_conflict(virtctl, make_vm) -> None:
    """start on a VM whose VMI runs exits 1 with virt-api's message."""
    make_vm("busy", "Manual", phase="Running")
    result = virtctl("start", "busy")
    assert result.returncode == 1
    assert 'Error from server (Conflict): Operation cannot be fulfilled on virtualmachine.kubevirt.io ' \
           '"busy": VM is already running' in result.stderr


def test_start_manual_adds_a_start_request(virtctl, conn, make_vm) -> None:
    """start on a Manual VM leaves the runStrategy and asks the controller with a Start request."""
    make_vm("manual", "Manual")
    ok(virtctl("start", "manual"))
    vm = _vm(conn, "manual")
    assert vm["spec"]["runStrategy"] == "Manual"
    assert vm["status"]["stateChangeRequests"] == [{"action": "Start"}]


def test_stop_always_sets_halted(virtctl, conn, make_vm) -> None:
    """stop on an Always VM switches its runStrategy to Halted."""
    make_vm("always", "Always", phase="Running")
    assert ok(virtctl("stop", "always")).strip() == "VM always was scheduled to stop"
    assert _vm(conn, "always")["spec"]["runStrategy"] == "Halted"


def test_stop_manual_names_the_vmi_and_force_sets_its_grace(virtctl, conn, make_vm) -> None:
    """stop --force on a Manual VM sets the VMI's grace period and a Stop request with its uid."""
    make_vm("manual-stop", "Manual", phase="Running")
    uid = _vmi(conn, "manual-stop")["metadata"]["uid"]
    ok(virtctl("stop", "manual-stop", "--force", "--grace-period", "5"))
    assert _vm(conn, "manual-stop")["status"]["stateChangeRequests"] == [{"action": "Stop", "uid": uid}]
    assert _vmi(conn, "manual-stop")["spec"]["terminationGracePeriodSeconds"] == 5


def test_stop_without_a_vmi_and_grace_without_force(virtctl, make_vm) -> None:
    """stop of a Manual VM that is not running is 409; --grace-period without --force is usage."""
    make_vm("idle", "Manual")
    result = virtctl("stop", "idle")
    assert result.returncode == 1 and "VM is not running" in result.stderr
    usage = virtctl("stop", "idle", "--grace-period", "3")
    assert usage.returncode == 2 and "Can not set gracePeriod without --force=true" in usage.stderr


def test_restart_asks_stop_then_start(virtctl, conn, make_vm) -> None:
    """restart writes [Stop(uid), Start]; on a Halted VM it is refused."""
    make_vm("rs", "Always", phase="Running")
    uid = _vmi(conn, "rs")["metadata"]["uid"]
    ok(virtctl("restart", "rs"))
    assert _vm(conn, "rs")["status"]["stateChangeRequests"] == [
        {"action": "Stop", "uid": uid}, {"action": "Start"}]
    again = virtctl("restart", "rs")
    assert again.returncode == 1 and "stop/start already underway" in again.stderr
    make_vm("rs-halted", "Halted")
    refused = virtctl("restart", "rs-halted")
    assert refused.returncode == 1 and "Halted does not support manual restart" in refused.stderr


def test_dry_run_changes_nothing(virtctl, conn, make_vm) -> None:
    """--dry-run checks the request on the server and stores nothing."""
    make_vm("dry", "Halted")
    assert "(dry run)" in ok(virtctl("start", "dry", "--dry-run"))
    assert _vm(conn, "dry")["spec"]["runStrategy"] == "Halted"


def test_pause_and_unpause_hand_off_to_the_handler(virtctl, conn, make_vm) -> None:
    """pause/unpause set virtnode.io/pause-requested on a running VMI; a second pause is 409."""
    make_vm("pz", "Always", phase="Running")
    assert ok(virtctl("pause", "vm", "pz")).strip() == "VM pz was scheduled to pause"
    assert _vmi(conn, "pz")["metadata"]["annotations"]["virtnode.io/pause-requested"] == "true"
    twice = virtctl("pause", "vmi", "pz")
    assert twice.returncode == 1 and "VMI is already paused" in twice.stderr
    waited = virtctl("unpause", "vmi", "pz", "--wait", "0.5")
    assert waited.returncode == 0   # no Paused condition: already what unpause waits for
    assert _vmi(conn, "pz")["metadata"]["annotations"]["virtnode.io/pause-requested"] == "false"
    not_paused = virtctl("unpause", "vmi", "pz")
    assert not_paused.returncode == 1 and "VMI is not paused" in not_paused.stderr
    timeout = virtctl("pause", "vmi", "pz", "--wait", "0.5")
    assert timeout.returncode == 1 and "did not report Paused=True" in timeout.stderr


def test_console_and_logs_of_a_vmi_not_running_here_say_so(virtctl) -> None:
    """console and logs name the VMI and why they cannot reach it when it has no launcher here."""
    created = virtctl("create", "-f", "-", input=VMI_NOT_HERE)
    assert created.returncode == 0, created.stderr
    for verb in ("console", "logs"):
        result = virtctl(verb, "not-here")
        assert result.returncode == 1 and result.stdout == ""
        assert "VMI not-here has no launcher on the node" in result.stderr


VMI_NOT_HERE = """
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: not-here}
spec:
  domain:
    memory: {guest: 64Mi}
    devices: {autoattachPodInterface: false}
"""
