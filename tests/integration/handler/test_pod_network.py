"""The pod network on the real kernel: host bridge, veth into a sandbox, masquerade NAT, and a
real guest that takes its address by DHCP and serves HTTP on the pod IP.

Each test uses its own bridge name and /24 (so a node's `vn0` is never touched)
and its own sandbox, and removes all of it in teardown whatever happened.
Traffic goes only from the host to addresses inside the namespaces the tests make.
"""

from __future__ import annotations

import json
import os
import pwd
import random
import secrets
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from handler.net import NetworkSpecError, PodNetwork, host_veth_name
from handler.sandbox import Limits, Sandbox, devices
from protos.launcher.v1 import cmd_pb2, cmd_pb2_grpc
from tests.integration.launcher.process import BOOT_TIMEOUT, make_vmi, short_dir
from tests.integration.waiting import wait_for

pytestmark = [pytest.mark.root, pytest.mark.netns]

GUEST, OVERHEAD = 256 << 20, 256 << 20
LAUNCHER_USER = "virtnode"


def ip_json(*args: str) -> list[dict]:
    out = subprocess.run(["ip", "-j", *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out or "[]")


def in_netns(netns: str, *argv: str) -> str:
    return subprocess.run(["ip", "netns", "exec", netns, *argv], check=True, capture_output=True,
                          text=True).stdout


def host_links() -> set[str]:
    return {link["ifname"] for link in ip_json("link", "show")}


def launcher_uid() -> int:
    try:
        return pwd.getpwnam(LAUNCHER_USER).pw_uid
    except KeyError:
        pytest.fail(f"the user {LAUNCHER_USER} is missing; run make install (it creates it)")


def pod_vmi(uid: str, binding: str = "masquerade", ports: tuple[int, ...] = ()):
    """The test guest's VMI with one interface on the pod network."""
    vmi = make_vmi(uid)
    vmi.spec.networks.add(name="default").pod.SetInParent()
    iface = vmi.spec.domain.devices.interfaces.add(name="default")
    getattr(iface, binding).SetInParent()
    for number in ports:
        iface.ports.add(port=number)
    return vmi


@pytest.fixture
def node(tmp_path: Path) -> Iterator[PodNetwork]:
    net = PodNetwork(tmp_path / "net", bridge=f"vnt{secrets.token_hex(3)}",
                     cidr=f"10.251.{random.randrange(256)}.0/24")
    net.ensure_node()
    yield net
    net.remove_node()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    box = Sandbox(str(uuid.uuid4()), tmp_path / "vms")
    box.create(Limits.for_guest(GUEST, OVERHEAD))
    yield box
    box.destroy()


def test_node_bridge_holds_the_gateway(node: PodNetwork) -> None:
    """ensure_node() leaves the bridge up with the first address of the CIDR; twice is fine."""
    node.ensure_node()
    (bridge,) = ip_json("-d", "addr", "show", "dev", node.bridge)
    assert bridge["linkinfo"]["info_kind"] == "bridge" and "UP" in bridge["flags"]
    addresses = [f"{a['local']}/{a['prefixlen']}" for a in bridge["addr_info"] if a["family"] == "inet"]
    assert addresses == [str(node.gateway)]


def test_masquerade_layout(node: PodNetwork, sandbox: Sandbox) -> None:
    """setup() gives the sandbox eth0 with the pod IP and a default route, k6t-eth0 with 10.0.2.1,
    tap0 owned by QEMU's user on that bridge, forwarding on, and the DNAT/masquerade rules."""
    owner = launcher_uid()
    attachment = node.setup(sandbox.vmi_uid, sandbox.netns, pod_vmi(sandbox.vmi_uid, ports=(80, 8443)), owner)
    ns = sandbox.netns
    pod_ip = attachment.pod_ip
    assert pod_ip == str(node.cidr.network_address + 2)  # the first free address after the gateway

    (host,) = ip_json("-d", "link", "show", "dev", host_veth_name(sandbox.vmi_uid))
    assert host["master"] == node.bridge and "UP" in host["flags"]
    assert host["linkinfo"]["info_kind"] == "veth"
    (eth0,) = ip_json("-n", ns, "addr", "show", "dev", "eth0")
    assert [f"{a['local']}/{a['prefixlen']}" for a in eth0["addr_info"] if a["family"] == "inet"] == \
        [f"{pod_ip}/{node.cidr.prefixlen}"]
    (default,) = ip_json("-n", ns, "route", "show", "default")
    assert default["gateway"] == str(node.gateway.ip) and default["dev"] == "eth0"
    (bridge,) = ip_json("-n", ns, "addr", "show", "dev", "k6t-eth0")
    assert [f"{a['local']}/{a['prefixlen']}" for a in bridge["addr_info"] if a["family"] == "inet"] == \
        ["10.0.2.1/24"]
    (tap,) = ip_json("-n", ns, "-d", "link", "show", "dev", "tap0")
    tun = tap["linkinfo"]["info_data"]
    assert tun["type"] == "tap" and tun["persist"] and tun["user"] == LAUNCHER_USER
    assert tap["master"] == "k6t-eth0" and "UP" in tap["flags"]
    assert in_netns(ns, "cat", "/proc/sys/net/ipv4/ip_forward").strip() == "1"

    rules = in_netns(ns, "nft", "list", "ruleset")
    assert f'iifname "eth0" ip daddr {pod_ip} jump inbound' in rules
    assert "tcp dport { 80, 8443 } counter packets 0 bytes 0 dnat to 10.0.2.2" in rules
    assert 'oifname "eth0" ip saddr 10.0.2.2 counter packets 0 bytes 0 masquerade' in rules

    (prepared,) = attachment.interfaces
    assert (prepared.name, prepared.tap) == ("default", "tap0")
    assert prepared.mac.startswith("02:")
    assert (prepared.dhcp.server_interface, prepared.dhcp.server_address, prepared.dhcp.guest_address,
            prepared.dhcp.prefix_length, prepared.dhcp.gateway) == ("k6t-eth0", "10.0.2.1", "10.0.2.2",
                                                                    24, "10.0.2.1")
    assert prepared.dhcp.hostname == "testguest"
    assert attachment.status == [{"name": "default", "ipAddress": pod_ip, "ipAddresses": [pod_ip],
                                   "mac": prepared.mac, "interfaceName": "eth0",
                                   "podInterfaceName": "eth0", "infoSource": "domain"}]


def test_setup_again_repairs_and_keeps_the_pod_ip(node: PodNetwork, sandbox: Sandbox, tmp_path: Path) -> None:
    """setup() run again (a restarted handler: a new PodNetwork on the same state) keeps the pod IP
    and the MAC, and rebuilds what went missing."""
    owner = launcher_uid()
    vmi = pod_vmi(sandbox.vmi_uid)
    first = node.setup(sandbox.vmi_uid, sandbox.netns, vmi, owner)
    subprocess.run(["ip", "-n", sandbox.netns, "link", "del", "tap0"], check=True)
    in_netns(sandbox.netns, "nft", "delete", "table", "ip", "virtnode")
    restarted = PodNetwork(tmp_path / "net", bridge=node.bridge, cidr=str(node.cidr))
    again = restarted.setup(sandbox.vmi_uid, sandbox.netns, vmi, owner)
    assert again.pod_ip == first.pod_ip
    assert again.interfaces == first.interfaces
    (tap,) = ip_json("-n", sandbox.netns, "-d", "link", "show", "dev", "tap0")
    assert tap["linkinfo"]["info_data"]["user"] == LAUNCHER_USER
    assert "dnat to 10.0.2.2" in in_netns(sandbox.netns, "nft", "list", "ruleset")


def test_changing_the_binding_rebuilds_the_sandbox_side(node: PodNetwork, sandbox: Sandbox) -> None:
    """bridge then masquerade: eth0 leaves the bridge and takes the pod IP; the rules follow."""
    ns, owner = sandbox.netns, launcher_uid()
    bridged = node.setup(sandbox.vmi_uid, ns, pod_vmi(sandbox.vmi_uid, binding="bridge"), owner)
    (eth0,) = ip_json("-n", ns, "addr", "show", "dev", "eth0")
    assert eth0["master"] == "k6t-eth0"
    assert bridged.interfaces[0].dhcp.guest_address == bridged.pod_ip
    assert ("bridge", "virtnode") in [(t["family"], t["name"]) for t in nft_tables(ns)]

    masqueraded = node.setup(sandbox.vmi_uid, ns, pod_vmi(sandbox.vmi_uid), owner)
    assert masqueraded.pod_ip == bridged.pod_ip
    (eth0,) = ip_json("-n", ns, "addr", "show", "dev", "eth0")
    assert "master" not in eth0
    assert [a["local"] for a in eth0["addr_info"] if a["family"] == "inet"] == [masqueraded.pod_ip]
    assert [(t["family"], t["name"]) for t in nft_tables(ns)] == [("ip", "virtnode")]


def nft_tables(netns: str) -> list[dict]:
    out = json.loads(in_netns(netns, "nft", "-j", "list", "tables"))
    return [item["table"] for item in out["nftables"] if "table" in item]


def test_two_vmis_get_different_addresses(node: PodNetwork, tmp_path: Path) -> None:
    """Each VMI gets its own pod IP; a released address is handed out again."""
    boxes = [Sandbox(str(uuid.uuid4()), tmp_path / "vms") for _ in range(2)]
    try:
        for box in boxes:
            box.create(Limits.for_guest(GUEST, OVERHEAD))
        a, b = (node.setup(box.vmi_uid, box.netns, pod_vmi(box.vmi_uid), launcher_uid()) for box in boxes)
        assert a.pod_ip != b.pod_ip
        node.teardown(boxes[0].vmi_uid, boxes[0].netns)
        third = Sandbox(str(uuid.uuid4()), tmp_path / "vms")
        boxes.append(third)
        third.create(Limits.for_guest(GUEST, OVERHEAD))
        assert node.setup(third.vmi_uid, third.netns, pod_vmi(third.vmi_uid), launcher_uid()).pod_ip == a.pod_ip
    finally:
        for box in boxes:
            node.teardown(box.vmi_uid, box.netns)
            box.destroy()


def test_teardown_and_sandbox_destroy_leave_nothing(node: PodNetwork, tmp_path: Path) -> None:
    """teardown() then destroying the sandbox leaves no veth, tap, bridge, nft table, namespace or
    address allocation; teardown twice is fine."""
    before = host_links()
    box = Sandbox(str(uuid.uuid4()), tmp_path / "vms")
    box.create(Limits.for_guest(GUEST, OVERHEAD))
    attachment = node.setup(box.vmi_uid, box.netns, pod_vmi(box.vmi_uid), launcher_uid())
    assert node.leftovers(box.vmi_uid, box.netns)  # there is something to remove
    node.teardown(box.vmi_uid, box.netns)
    assert node.leftovers(box.vmi_uid, box.netns) == []
    box.destroy()
    node.teardown(box.vmi_uid, box.netns)
    assert node.leftovers(box.vmi_uid, box.netns) == []
    assert not Path(f"/run/netns/{box.netns}").exists()
    assert host_links() - before == set()
    assert attachment.pod_ip not in json.loads((tmp_path / "net" / "pod-addresses.json").read_text())[
        "allocations"].values()


def test_unsupported_networks_are_refused_before_anything_is_made(node: PodNetwork, sandbox: Sandbox) -> None:
    """A multus network or an unsupported binding is a NetworkSpecError naming the field path and
    what is allowed; no link and no address are made."""
    vmi = pod_vmi(sandbox.vmi_uid)
    extra = vmi.spec.networks.add(name="blue")
    extra.multus.network_name = "blue-net"
    vmi.spec.domain.devices.interfaces.add(name="blue").bridge.SetInParent()
    with pytest.raises(NetworkSpecError) as refused:
        node.setup(sandbox.vmi_uid, sandbox.netns, vmi, launcher_uid())
    assert "spec.networks[1].multus: multus (secondary) networks are not supported" in str(refused.value)
    assert "only the pod network is" in str(refused.value)

    vmi = pod_vmi(sandbox.vmi_uid, binding="sriov")
    with pytest.raises(NetworkSpecError) as refused:
        node.setup(sandbox.vmi_uid, sandbox.netns, vmi, launcher_uid())
    assert ("spec.domain.devices.interfaces[0].sriov: binding \"sriov\" is not supported on the pod "
            "network of this node; use one of: masquerade, bridge") in str(refused.value)
    assert node.leftovers(sandbox.vmi_uid, sandbox.netns) == []
    assert [link["ifname"] for link in ip_json("-n", sandbox.netns, "link", "show")] == ["lo"]


def test_egress_only_when_asked(tmp_path: Path) -> None:
    """egress=True turns host forwarding on and masquerades the pod CIDR leaving by another link;
    egress=False (the default) removes that table again. No traffic is sent."""
    bridge, cidr = f"vnt{secrets.token_hex(3)}", f"10.251.{random.randrange(256)}.0/24"
    forwarding = Path("/proc/sys/net/ipv4/ip_forward")
    was = forwarding.read_text()
    table = "virtnode_" + bridge
    try:
        PodNetwork(tmp_path, bridge=bridge, cidr=cidr, egress=True).ensure_node()
        assert forwarding.read_text().strip() == "1"
        rules = subprocess.run(["nft", "list", "table", "ip", table], check=True, capture_output=True,
                               text=True).stdout
        assert f'ip saddr {cidr} oifname != "{bridge}" counter packets 0 bytes 0 masquerade' in rules
        PodNetwork(tmp_path, bridge=bridge, cidr=cidr).ensure_node()
        tables = subprocess.run(["nft", "list", "tables"], check=True, capture_output=True, text=True).stdout
        assert table not in tables
    finally:
        PodNetwork(tmp_path, bridge=bridge, cidr=cidr).remove_node()
        forwarding.write_text(was)
    assert bridge not in host_links()


# --- a real guest ---------------------------------------------------------------------------


class SandboxedLauncher:
    """A launcher started in the sandbox the way the handler starts it (handler/vmi.py)."""

    def __init__(self, box: Sandbox, images) -> None:
        self.box = box
        self.work = short_dir("vnp-")
        self.vm_dir = self.work / "vm"
        self.socket = self.vm_dir / "launcher.sock"
        image_dir = self.work / "images"
        image_dir.mkdir()
        os.chmod(image_dir, 0o755)
        self.kernel, self.initrd = image_dir / "vmlinuz", image_dir / "initrd.img"
        for src, dst in ((images.kernel, self.kernel), (images.initrd, self.initrd)):
            shutil.copy(src, dst)
            os.chmod(dst, 0o644)
        self.log_path = box.dir / "launcher.log"
        with open(self.log_path, "ab") as log:
            self.proc = box.run(
                [sys.executable, "-m", "launcher", "--vmi-uid", box.vmi_uid, "--namespace", "default",
                 "--name", "testguest", "--dir", str(self.vm_dir), "--socket", str(self.socket),
                 "--accelerator", "emulation", "--user", LAUNCHER_USER,
                 "--caps-cache", str(self.work / "caps"), "--log-level", "debug"],
                env={**os.environ}, stdout=log, stderr=log)
        self.channel = grpc.insecure_channel(f"unix:{self.socket}")
        self.cmd = cmd_pb2_grpc.CmdStub(self.channel)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def handshake(self) -> None:
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"launcher exited with {self.proc.returncode}:\n{self.log()}")
            try:
                return self.cmd.Handshake(cmd_pb2.HandshakeRequest(vmi_uid=self.box.vmi_uid,
                                                                   supported_versions=[1]), timeout=2)
            except grpc.RpcError:
                return None
        wait_for(ready, 60, "the launcher answering its Handshake")

    def sync(self, vmi, interfaces) -> cmd_pb2.SyncResponse:
        options = cmd_pb2.SyncOptions(kernel_boot=cmd_pb2.KernelBootFiles(kernel=str(self.kernel),
                                                                          initrd=str(self.initrd)))
        options.interfaces.extend(interfaces)
        return self.cmd.Sync(cmd_pb2.SyncRequest(vmi_uid=self.box.vmi_uid, vmi=vmi, options=options),
                             timeout=60)

    def boot_log(self) -> str:
        reply = self.cmd.ReadBootLog(cmd_pb2.ReadBootLogRequest(vmi_uid=self.box.vmi_uid, offset=0,
                                                                limit=1 << 20), timeout=10)
        return reply.data.decode(errors="replace")

    def wait_console(self, marker: str, timeout: float = BOOT_TIMEOUT) -> str:
        try:
            return wait_for(lambda: marker in self.boot_log() and self.boot_log(), timeout,
                            f"{marker!r} on the guest's console")
        except AssertionError as e:
            raise AssertionError(f"{e}\nconsole:\n{self.boot_log()[-3000:]}\nlauncher:\n{self.log()}") from None

    def terminate(self) -> None:
        self.cmd.Terminate(cmd_pb2.TerminateRequest(vmi_uid=self.box.vmi_uid, grace_period_seconds=5),
                           timeout=60)
        assert self.proc.wait(60) == 0, self.log()

    def close(self) -> None:
        self.channel.close()
        shutil.rmtree(self.work, ignore_errors=True)


@pytest.fixture
def tun_granted() -> Iterator[None]:
    """QEMU's user may open /dev/net/tun, as the handler grants it at start."""
    uid, tun = launcher_uid(), Path("/dev/net/tun")
    was = devices.has_grant(uid, tun)
    devices.grant_devices(uid, [tun])
    yield
    if not was:
        devices.revoke_devices(uid, [tun])


def http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return reply.read().decode()


def refused(address: str, port: int) -> bool:
    """True when a TCP connection to address:port is refused (nobody listens there)."""
    try:
        socket.create_connection((address, port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.fixture
def guest_sandbox(node: PodNetwork, tmp_path: Path, tun_granted) -> Iterator[Sandbox]:
    """A sandbox for a real guest; afterwards nothing of it or of its pod network remains."""
    before = host_links()
    box = Sandbox(str(uuid.uuid4()), tmp_path / "vms")
    box.create(Limits.for_guest(GUEST, OVERHEAD))
    try:
        yield box
    finally:
        node.teardown(box.vmi_uid, box.netns)
        box.destroy()
    assert node.leftovers(box.vmi_uid, box.netns) == []
    assert not Path(f"/run/netns/{box.netns}").exists()
    assert host_links() - before == set()


@pytest.fixture
def launcher(guest_sandbox: Sandbox, guest_images) -> Iterator[SandboxedLauncher]:
    started = SandboxedLauncher(guest_sandbox, guest_images)
    try:
        started.handshake()
        yield started
    finally:
        started.close()


@pytest.mark.qemu
@pytest.mark.slow
def test_a_real_guest_behind_masquerade(node: PodNetwork, guest_sandbox: Sandbox,
                                        launcher: SandboxedLauncher) -> None:
    """The guest takes 10.0.2.2 from the launcher's DHCP, and the host reaches its web page on the
    pod IP; with ports listed, a port not in the list is not forwarded; a repeated Sync keeps DHCP
    serving (the guest gets its address again after a reset)."""
    box = guest_sandbox
    vmi = pod_vmi(box.vmi_uid)
    attachment = node.setup(box.vmi_uid, box.netns, vmi, launcher_uid())
    assert launcher.sync(vmi, attachment.interfaces).started
    console = launcher.wait_console("VIRTNODE-GUEST-IP ")
    assert "VIRTNODE-GUEST-IP 10.0.2.2" in console
    launcher.wait_console("VIRTNODE-HTTP-READY port=80")

    page = http_get(f"http://{attachment.pod_ip}/")
    assert "hostname: virtnode-guest" in page

    # Only port 8080 forwarded now: port 80 reaches the sandbox itself, where nobody listens.
    only_8080 = node.setup(box.vmi_uid, box.netns, pod_vmi(box.vmi_uid, ports=(8080,)), launcher_uid())
    assert only_8080.pod_ip == attachment.pod_ip
    assert refused(attachment.pod_ip, 80)
    node.setup(box.vmi_uid, box.netns, pod_vmi(box.vmi_uid, ports=(80,)), launcher_uid())
    assert "hostname: virtnode-guest" in http_get(f"http://{attachment.pod_ip}:80/")

    assert not launcher.sync(vmi, attachment.interfaces).started  # nothing to do the second time
    launcher.cmd.Reset(cmd_pb2.ResetRequest(vmi_uid=box.vmi_uid), timeout=30)
    wait_for(lambda: launcher.boot_log().count("VIRTNODE-GUEST-IP 10.0.2.2") >= 2, BOOT_TIMEOUT,
             "the reset guest taking 10.0.2.2 again")
    launcher.terminate()


@pytest.mark.qemu
@pytest.mark.slow
def test_a_real_guest_on_the_bridge_binding(node: PodNetwork, guest_sandbox: Sandbox,
                                            launcher: SandboxedLauncher) -> None:
    """With the bridge binding the guest takes the pod IP itself by DHCP and serves on it; its DHCP
    never leaves the sandbox for the node bridge."""
    box = guest_sandbox
    vmi = pod_vmi(box.vmi_uid, binding="bridge")
    attachment = node.setup(box.vmi_uid, box.netns, vmi, launcher_uid())
    (eth0,) = ip_json("-n", box.netns, "-d", "addr", "show", "dev", "eth0")
    assert eth0["master"] == "k6t-eth0"
    assert not [a for a in eth0["addr_info"] if a["family"] == "inet"]  # the guest holds the pod IP
    assert launcher.sync(vmi, attachment.interfaces).started
    assert f"VIRTNODE-GUEST-IP {attachment.pod_ip}" in launcher.wait_console("VIRTNODE-GUEST-IP ")
    launcher.wait_console("VIRTNODE-HTTP-READY port=80")
    assert "hostname: virtnode-guest" in http_get(f"http://{attachment.pod_ip}/")
    rules = in_netns(box.netns, "nft", "list", "table", "bridge", "virtnode")
    assert 'oifname "eth0" udp sport 67 counter packets 0' not in rules  # the offers were kept in
    launcher.terminate()
