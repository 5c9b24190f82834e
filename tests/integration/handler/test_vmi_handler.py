"""The handler turns a VMI assigned to its node into a running guest, survives its own restart,
and leaves nothing behind when the VMI is deleted."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from handler.metrics import MetricsServer, render
from handler.sandbox import netns_name
from tests.integration.handler.env import NODE, HandlerNode, gone, http_get
from tests.integration.waiting import wait_for

pytestmark = [pytest.mark.root, pytest.mark.netns, pytest.mark.qemu, pytest.mark.slow]


def test_vmi_runs_survives_a_handler_restart_and_is_cleaned_up(guest_images) -> None:
    node = HandlerNode(guest_images)
    try:
        node.start_handler()
        uid = node.create_vmi("tiny")
        running = node.wait_phase("tiny", "Running")
        ready = {c["type"]: c["status"] for c in running["status"]["conditions"]}
        assert ready["Ready"] == "True"
        qemu_pid = node.booted(uid)
        assert qemu_pid > 0
        record = node.record(uid)
        # the launcher runs in the VMI's own network namespace
        assert os.stat(f"/proc/{record.pid}/ns/net").st_ino == os.stat(f"/run/netns/{netns_name(uid)}").st_ino

        # stop the handler's loops (not its launchers), start a new handler: it adopts
        node.stop_handler()
        handler = node.start_handler()
        launcher = node.launcher(uid)
        assert launcher.domain().status.qemu_pid == qemu_pid  # the same guest
        launcher.close()
        assert node.phase("tiny") == "Running"

        node.delete_vmi("tiny")
        wait_for(lambda: gone(record.directory), 90, "every process and the directory of the VM gone")
        wait_for(lambda: not handler.registry.records(), 30, "the launcher record removed")
        assert not (node.config.state_dir / "sandboxes" / uid).exists()
        assert not Path(f"/run/netns/{netns_name(uid)}").exists()
        reasons = [e[1] for e in node.events("tiny")]
        assert {"Created", "Started", "ShuttingDown"} <= set(reasons), reasons
    finally:
        node.close()


def leftovers(uid: str, record_dir: str, node: HandlerNode) -> list[str]:
    """Everything of the VMI that could outlive it on the host."""
    import subprocess

    found = node.handler.network.leftovers(uid, netns_name(uid))
    if not gone(record_dir):
        found.append(f"processes or directory {record_dir}")
    if (node.config.state_dir / "sandboxes" / uid).exists():
        found.append("sandbox directory")
    if Path(f"/run/netns/{netns_name(uid)}").exists():
        found.append("netns")
    cgroups = subprocess.run(["find", "/sys/fs/cgroup", "-maxdepth", "4", "-name", f"*{uid}*"],
                             capture_output=True, text=True).stdout.split()
    found += [f"cgroup {c}" for c in cgroups]
    if f"vh-{uid[:8]}" in subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout:
        found.append("host veth")
    return found


def test_kubevirt_style_vmi_containerdisk_cloudinit_pod_network(guest_images) -> None:
    """A VMI written as for KubeVirt — containerDisk, cloudInitNoCloud, the default pod network
    with masquerade — boots, answers on its pod IP, and leaves nothing behind when deleted."""

    node = HandlerNode(guest_images)
    spec = {"terminationGracePeriodSeconds": 10, "domain": {
        "memory": {"guest": "256Mi"},
        "devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}},
                              {"name": "seed", "disk": {"bus": "virtio"}}]}},
        "volumes": [{"name": "root", "containerDisk": {"image": "virtnode/test-guest"}},
                    {"name": "seed", "cloudInitNoCloud": {
                        "userData": "#!/bin/sh\necho from-user-data > /var/www/user.txt\n"}}]}
    try:
        node.start_handler()
        uid = node.create_vmi("web", spec)
        running = node.wait_phase("web", "Running", 180)
        (iface,) = running["status"]["interfaces"]
        assert iface["name"] == "default" and iface["ipAddress"].startswith("10.244.")
        client = node.launcher(uid)
        wait_for(lambda: b"VIRTNODE-USERDATA-DONE rc=0" in client.read_boot_log().data, 180,
                 "the user-data script done")
        log = client.read_boot_log().data.decode(errors="replace")
        client.close()
        assert "VIRTNODE-GUEST-IP 10.0.2.2" in log and "VIRTNODE-SEED hostname=web" in log
        page = wait_for(lambda: http_get(f"http://{iface['ipAddress']}/user.txt"), 60, "the guest's page")
        assert page.strip() == "from-user-data"
        record_dir = node.record(uid).directory

        # the node's metrics, as Prometheus scrapes them, with KubeVirt's names
        with MetricsServer("127.0.0.1", 0, lambda: render(node.handler.samples(), NODE)) as server:
            text = http_get(f"{server.url}/metrics")
        series = _series(text)
        web = {"node": "node-a", "namespace": "default", "name": "web"}
        assert _value(series, "kubevirt_vmi_cpu_usage_seconds_total", **web) > 0, text
        assert _value(series, "kubevirt_vmi_memory_resident_bytes", **web) > 64 * 2**20
        assert _value(series, "kubevirt_vmi_network_receive_bytes_total", interface="default", **web) > 0
        assert _value(series, "kubevirt_vmi_network_transmit_bytes_total", interface="default", **web) > 0
        assert _value(series, "kubevirt_vmi_storage_read_traffic_bytes_total", drive="root", **web) > 0
        assert _value(series, "kubevirt_vmi_phase_count", node="node-a", phase="running") == 1
        assert _value(series, "kubevirt_vmi_info", **web) == 1

        node.delete_vmi("web")
        wait_for(lambda: not leftovers(uid, record_dir, node), 90, "nothing of the VMI left",
                 interval=1)
    finally:
        node.close()


def _series(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Prometheus text -> (metric name, labels, value) per sample line."""
    out = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            name, _, labels = key.partition("{")
            pairs = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels))
            out.append((name, pairs, float(value)))
    return out


def _value(series, metric: str, **labels: str) -> float:
    """The one sample of `metric` whose labels include `labels`."""
    (value,) = [v for n, ls, v in series if n == metric and labels.items() <= ls.items()]
    return value

