"""handler/node.py against a real `python -m apiserver`: register, heartbeat, cordon, run loop.

The Node the handler writes must be one the controller's scheduler accepts
(`controller.scheduling.schedule`) and its node controller reads as alive.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import datetime, timezone

import pytest

from controller import nodes as controller_nodes
from controller.scheduling import schedule
from handler import hostinfo
from handler.node import HEARTBEAT_ANNOTATION, SCHEDULABLE_LABEL, NodeAgent


def fake_host(**changes) -> hostinfo.HostInfo:
    host = hostinfo.HostInfo(
        hostname="fakehost", cpus=4, memory_bytes=8 * 1024**3,
        cpu=hostinfo.CPUInfo("Intel", "Intel-Xeon-Platinum-8480", frozenset({"vmx", "sse4.2", "avx2"})),
        kvm_problem="cannot open /dev/kvm read-write: No such file or directory", has_tun=True,
        has_vhost_net=False, architecture="amd64", kernel="6.1.0-test", os_image="Debian GNU/Linux 12",
        machine_id="0123456789abcdef", boot_id="b00t")
    return dataclasses.replace(host, **changes)


def get(core, name: str) -> dict:
    return core.api_client.sanitize_for_serialization(core.read_node(name))


def small_vmi(name: str = "small") -> dict:
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"},
            "spec": {"domain": {"cpu": {"cores": 1}, "resources": {"requests": {"memory": "128Mi"}},
                                "devices": {}}},
            "status": {}}


def test_register_writes_capacity_labels_info_and_ready(client, core):
    """register() creates a Node with KubeVirt's devices, CPU labels, nodeInfo, addresses and Ready."""
    agent = NodeAgent(client, "node-a", emulation=True, host=fake_host, labels={"zone": "z1"})
    agent.register()
    node = get(core, "node-a")
    labels, status = node["metadata"]["labels"], node["status"]
    assert labels[SCHEDULABLE_LABEL] == "true"
    assert labels["virtnode.io/emulation"] == "true"
    assert labels["cpu-model.node.kubevirt.io/Intel-Xeon-Platinum-8480"] == "true"
    assert labels["cpu-vendor.node.kubevirt.io/Intel"] == "true"
    assert labels["cpu-feature.node.kubevirt.io/sse4.2"] == "true"
    assert labels["kubernetes.io/hostname"] == "node-a" and labels["kubernetes.io/arch"] == "amd64"
    assert labels["kubernetes.io/os"] == "linux" and labels["zone"] == "z1"
    for resources in (status["capacity"], status["allocatable"]):
        assert resources["cpu"] == "4" and resources["memory"] == "8388608Ki" and resources["pods"] == "110"
        assert resources["devices.kubevirt.io/kvm"] == "1k" and resources["devices.kubevirt.io/tun"] == "1k"
        assert "devices.kubevirt.io/vhost-net" not in resources
    info = status["nodeInfo"]
    assert info["kubeletVersion"] == "v1.29.0-virtnode" and info["kernelVersion"] == "6.1.0-test"
    assert info["osImage"] == "Debian GNU/Linux 12" and info["architecture"] == "amd64"
    assert {"type": "InternalIP", "address": "127.0.0.1"} in status["addresses"]
    assert {"type": "Hostname", "address": "node-a"} in status["addresses"]
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True" and ready["lastHeartbeatTime"]
    assert controller_nodes.heartbeat(node) is not None


def test_without_kvm_or_emulation_no_kvm_devices_and_unschedulable(client, core):
    """A host whose /dev/kvm does not work, without emulation, advertises no kvm devices."""
    agent = NodeAgent(client, "node-nokvm", emulation=False, host=lambda: fake_host(has_vhost_net=True))
    agent.register()
    node = get(core, "node-nokvm")
    assert node["status"]["allocatable"]["devices.kubevirt.io/kvm"] == "0"
    assert node["status"]["allocatable"]["devices.kubevirt.io/vhost-net"] == "1k"
    assert node["metadata"]["labels"][SCHEDULABLE_LABEL] == "false"
    assert node["metadata"]["labels"]["virtnode.io/emulation"] == "false"
    assert not agent.schedulable()


def test_register_again_updates_and_drops_stale_cpu_labels(client, core):
    """A second register() (a restarted handler on a changed host) updates status and owned labels only."""
    NodeAgent(client, "node-b", emulation=True, host=fake_host).register()
    core.patch_node("node-b", {"metadata": {"labels": {"team": "x"}}})
    changed = fake_host(cpus=8, cpu=hostinfo.CPUInfo("AMD", "AMD-EPYC-7763", frozenset({"svm"})))
    NodeAgent(client, "node-b", emulation=True, host=lambda: changed).register()
    node = get(core, "node-b")
    labels = node["metadata"]["labels"]
    assert labels["team"] == "x"
    assert labels["cpu-vendor.node.kubevirt.io/AMD"] == "true"
    assert "cpu-vendor.node.kubevirt.io/Intel" not in labels
    assert "cpu-feature.node.kubevirt.io/vmx" not in labels
    assert labels["cpu-feature.node.kubevirt.io/svm"] == "true"
    assert node["status"]["capacity"]["cpu"] == "8"


def test_heartbeat_advances_annotation_and_ready_heartbeat(client, core):
    """heartbeat() moves the RFC 3339 annotation and Ready's lastHeartbeatTime, not its transition time."""
    agent = NodeAgent(client, "node-c", emulation=True, host=fake_host)
    agent.register()
    before = get(core, "node-c")
    time.sleep(1.1)
    agent.heartbeat()
    after = get(core, "node-c")
    stamp = after["metadata"]["annotations"][HEARTBEAT_ANNOTATION]
    assert datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")
    assert stamp > before["metadata"]["annotations"][HEARTBEAT_ANNOTATION]
    ready_before = next(c for c in before["status"]["conditions"] if c["type"] == "Ready")
    ready_after = next(c for c in after["status"]["conditions"] if c["type"] == "Ready")
    assert ready_after["lastHeartbeatTime"] > ready_before["lastHeartbeatTime"]
    assert ready_after["lastTransitionTime"] == ready_before["lastTransitionTime"]
    silent = controller_nodes.silent_for(after, datetime.now(timezone.utc))
    assert silent is not None and silent < 5


def test_cordon_and_uncordon_flip_schedulable_on_next_heartbeat(client, core):
    """kubectl cordon (spec.unschedulable) makes the next beat label the node unschedulable; uncordon undoes it."""
    agent = NodeAgent(client, "node-d", emulation=True, host=fake_host)
    agent.register()
    core.patch_node("node-d", {"spec": {"unschedulable": True}})  # what `kubectl cordon` sends
    agent.heartbeat()
    assert get(core, "node-d")["metadata"]["labels"][SCHEDULABLE_LABEL] == "false"
    assert not agent.schedulable()
    core.patch_node("node-d", {"spec": {"unschedulable": None}})  # `kubectl uncordon`
    agent.heartbeat()
    assert get(core, "node-d")["metadata"]["labels"][SCHEDULABLE_LABEL] == "true"
    assert agent.schedulable()


def test_scheduler_accepts_the_registered_node(client, core):
    """The controller's predicates place a small VMI on the registered node, and not once it is cordoned."""
    agent = NodeAgent(client, "node-e", emulation=True, host=fake_host)
    agent.register()
    decision = schedule(small_vmi(), [get(core, "node-e")], [])
    assert decision.node == "node-e", decision.message
    core.patch_node("node-e", {"spec": {"unschedulable": True}})
    agent.heartbeat()
    decision = schedule(small_vmi(), [get(core, "node-e")], [])
    assert decision.node is None


def test_scheduler_accepts_a_node_of_this_host(client, core):
    """With the real host probe (emulation on), the node fits a small VMI."""
    agent = NodeAgent(client, None, emulation=True)
    assert agent.name == hostinfo.probe().hostname
    agent.register()
    node = get(core, agent.name)
    assert schedule(small_vmi("real"), [node], []).node == agent.name


def test_run_beats_until_stopped_then_marks_unschedulable(client, core):
    """run() registers, keeps beating every interval, and sets schedulable=false when stopped."""
    agent = NodeAgent(client, "node-f", emulation=True, heartbeat_interval=0.2, host=fake_host)
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    first = None
    while time.monotonic() < deadline:
        try:
            stamp = get(core, "node-f")["metadata"]["annotations"][HEARTBEAT_ANNOTATION]
        except Exception:  # noqa: BLE001 - not registered yet
            stamp = None
        if stamp and first is None:
            first = stamp
        if first and stamp and stamp > first:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the heartbeat annotation did not advance")
    assert get(core, "node-f")["metadata"]["labels"][SCHEDULABLE_LABEL] == "true"
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert get(core, "node-f")["metadata"]["labels"][SCHEDULABLE_LABEL] == "false"


def test_run_survives_a_deleted_node_and_an_unreachable_api(client, core, api):
    """An API failure is logged and retried: a deleted Node is registered again."""
    agent = NodeAgent(client, "node-g", emulation=True, heartbeat_interval=0.2, host=fake_host)
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                get(core, "node-g")
                break
            except Exception:  # noqa: BLE001
                time.sleep(0.1)
        core.delete_node("node-g")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if get(core, "node-g")["metadata"]["labels"].get(SCHEDULABLE_LABEL) == "true":
                    break
            except Exception:  # noqa: BLE001 - deleted, not back yet
                pass
            time.sleep(0.1)
        else:
            pytest.fail("the deleted Node was not registered again")
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(10)
