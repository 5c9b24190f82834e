"""The node's pod network in embedded mode: a host bridge, and one veth into each VMI's sandbox.

Owns `PodNetwork`, the API the handler's VMI loop calls, and `PodAttachment`,
what it hands back. Layout (docs/network.md):

    host:     bridge vn0 (gateway, first address of the CIDR) ── vh-<uid[:8]> (veth)
    sandbox:  eth0 (the veth's peer, the pod IP, default route via the gateway)
              masquerade: k6t-eth0 (10.0.2.1/24) ── tap0 (owned by QEMU's user) ── guest 10.0.2.2,
                          nftables DNAT pod IP -> guest and masquerade guest -> pod IP
              bridge:     k6t-eth0 (169.254.75.10/32) with eth0 and tap0 as ports; the guest takes
                          the pod IP by DHCP

Every step is idempotent: `setup()` run again (after a handler restart, or a
failure half-way) finds what exists, fixes what differs and gives the VMI the
same pod IP. `teardown()` removes the host's veth and frees the address; what
is inside the namespace goes with it. Links are links.py's, addresses
ipam.py's, rules nft.py's, the reading of the spec spec.py's. Never plumbs a
namespace that does not exist, and never touches links it did not name.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

from handler.net import namespaces, nft, nsexec, spec
from handler.net.errors import FirewallError, NetworkError
from handler.net.ipam import AddressPool
from handler.net.links import Links
from handler.net.spec import InterfacePlan
from protos.kubevirt.v1 import vmi_pb2
from protos.launcher.v1 import cmd_pb2

log = logging.getLogger(__name__)

POD_INTERFACE = "eth0"
BRIDGE_PREFIX = "k6t-"
BRIDGE_BINDING_ADDRESS = IPv4Interface("169.254.75.10/32")  # the DHCP responder's, as KubeVirt's
LEASE_SECONDS = 86400
DEFAULT_MTU = 1500


def host_veth_name(vmi_uid: str) -> str:
    """The host end of the VMI's veth: `vh-` and the first 8 characters of its uid."""
    return f"vh-{vmi_uid[:8]}"


def tap_name(index: int) -> str:
    return f"tap{index}"


@dataclass
class PodAttachment:
    """What setup() made for one VMI."""

    pod_ip: str                                                    # "" when no interface uses the pod network
    interfaces: list[cmd_pb2.PreparedInterface] = field(default_factory=list)  # SyncOptions.interfaces
    status: list[dict] = field(default_factory=list)              # VMI status.interfaces entries


AUTO_POOL = IPv4Network("10.244.0.0/16")   # where `auto` looks for a free /24
CHOICE_FILE = "pod-network.json"


def choose(state_dir: Path, bridge: str = "auto", cidr: str = "auto") -> tuple[str, str]:
    """The node's bridge and CIDR: as given, or for `auto` the ones this state directory chose
    before, or the first 10.244.N.0/24 no host link uses, with bridge `vnN`. The choice is kept
    in <state>/pod-network.json, so a restarted handler keeps its addresses; a second embedded
    node on the machine sees the first one's bridge address and takes the next subnet."""
    path = Path(state_dir) / CHOICE_FILE
    try:
        kept = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        kept = {}
    if bridge == "auto" and cidr == "auto" and kept.get("bridge") and kept.get("cidr"):
        return kept["bridge"], kept["cidr"]
    if cidr == "auto":
        with Links() as host:
            used = [a.network for name in host.names() for a in host.addresses(name)]
        for n, candidate in enumerate(AUTO_POOL.subnets(new_prefix=24)):
            if not any(candidate.overlaps(u) for u in used):
                cidr = str(candidate)
                bridge = f"vn{n}" if bridge == "auto" else bridge
                break
        else:
            raise NetworkError(f"No free /24 in {AUTO_POOL} for the pod network; pass --pod-cidr")
    if bridge == "auto":
        bridge = f"vn{IPv4Network(cidr).network_address.packed[2]}"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"bridge": bridge, "cidr": cidr}))
    os.replace(tmp, path)
    return bridge, cidr


class PodNetwork:
    """The pod network of this node: its bridge and CIDR, and each VMI's attachment to it."""

    def __init__(self, state_dir: Path, *, bridge: str = "vn0", cidr: str = "10.244.0.0/24",
                 egress: bool = False, mtu: int | None = None,
                 resolv_conf: Path = Path("/etc/resolv.conf")) -> None:
        try:
            self.cidr = IPv4Network(cidr, strict=True)
        except ValueError as exc:
            raise NetworkError(f"The pod network CIDR {cidr!r} is not an IPv4 network: {exc}") from exc
        if self.cidr.prefixlen > 29:
            raise NetworkError(f"The pod network CIDR {cidr} is too small; use a /29 or larger")
        if not bridge or len(bridge) > 15 or "/" in bridge or bridge != bridge.strip():
            raise NetworkError(f"The node bridge name {bridge!r} is not a valid link name "
                               f"(1 to 15 characters, no '/' or spaces)")
        self.bridge = bridge
        self.gateway = IPv4Interface(f"{self.cidr.network_address + 1}/{self.cidr.prefixlen}")
        self.egress = egress
        self._mtu = mtu
        self.resolv_conf = resolv_conf
        self.state_dir = Path(state_dir)
        self.pool = AddressPool(self.state_dir / "pod-addresses.json", self.cidr,
                                reserved={self.gateway.ip})

    def __repr__(self) -> str:
        return f"PodNetwork(bridge={self.bridge!r}, cidr='{self.cidr}', egress={self.egress})"

    @property
    def mtu(self) -> int:
        """The pod links' MTU: as configured, else that of the host's default route, else 1500."""
        if self._mtu is None:
            with Links() as host:
                self._mtu = host.default_route_mtu() or DEFAULT_MTU
        return self._mtu

    # -- the node ------------------------------------------------------------------------------

    def ensure_node(self) -> None:
        """The node bridge, up, with the gateway address; with egress, forwarding and masquerade
        of the pod CIDR out of the host. Idempotent."""
        with Links() as host:
            host.ensure_bridge(self.bridge, self.mtu)
            host.set_addresses(self.bridge, [self.gateway])
        if self.egress:
            nsexec.write_sysctl(None, "net.ipv4.ip_forward", "1")
            nft.apply(None, nft.egress_ruleset(self.bridge, self.cidr))
        else:
            nft.delete_table(None, "ip", nft.node_table(self.bridge))
        log.info("Pod network bridge %s ready with gateway %s (egress %s)", self.bridge, self.gateway,
                 "on" if self.egress else "off")

    def remove_node(self) -> None:
        """Remove the node bridge and the egress table (a node leaving for good; host ip_forward
        is left as it is: other software may rely on it). Idempotent."""
        nft.delete_table(None, "ip", nft.node_table(self.bridge))
        with Links() as host:
            host.delete(self.bridge)

    # -- one VMI ---------------------------------------------------------------------------

    def setup(self, vmi_uid: str, netns: str, vmi: vmi_pb2.VirtualMachineInstance,
              owner_uid: int) -> PodAttachment:
        """Plumb the VMI's pod interfaces into its sandbox's namespace `netns`; taps belong to
        `owner_uid` (QEMU's user). Idempotent; the same VMI keeps its pod IP. A VMI the node
        cannot plumb raises NetworkSpecError before anything is made."""
        plans = spec.plan(vmi, vmi_uid)
        if not plans:
            return PodAttachment(pod_ip="")
        namespaces.require(netns)
        self.ensure_node()
        pod_ip = self.pool.allocate(vmi_uid)
        mtu = self.mtu
        with Links() as host:
            host.ensure_veth(host_veth_name(vmi_uid), POD_INTERFACE, netns, mtu)
            host.set_up(host_veth_name(vmi_uid), master=self.bridge)
        dns = spec.dns_for(vmi, self._read_resolv_conf())
        attachment = PodAttachment(pod_ip=str(pod_ip))
        # One pod network per VMI (admission's rule), so one interface plan: tap0 on k6t-eth0.
        for index, plan in enumerate(plans):
            tap, bridge = tap_name(index), BRIDGE_PREFIX + POD_INTERFACE
            if plan.binding == "masquerade":
                dhcp = self._masquerade(netns, plan, pod_ip, tap, bridge, owner_uid, mtu)
            else:
                dhcp = self._bridge(netns, plan, pod_ip, tap, bridge, owner_uid, mtu)
            dhcp.dns_servers.extend(dns.nameservers)
            dhcp.search_domains.extend(dns.searches)
            dhcp.hostname = spec.hostname_of(vmi)
            dhcp.mtu = mtu
            dhcp.lease_seconds = LEASE_SECONDS
            attachment.interfaces.append(cmd_pb2.PreparedInterface(name=plan.name, tap=tap, mac=plan.mac,
                                                                   dhcp=dhcp))
            attachment.status.append({
                "name": plan.name, "ipAddress": str(pod_ip), "ipAddresses": [str(pod_ip)],
                "mac": plan.mac, "interfaceName": POD_INTERFACE, "podInterfaceName": POD_INTERFACE,
                "infoSource": "domain"})
        log.info("Pod network of VMI %s ready: %s in %s, %s", vmi_uid, pod_ip, netns,
                 ", ".join(f"{p.name} ({p.binding})" for p in plans))
        return attachment

    def _masquerade(self, netns: str, plan: InterfacePlan, pod_ip: IPv4Address, tap: str,
                    bridge: str, owner_uid: int, mtu: int) -> cmd_pb2.PreparedInterface.Dhcp:
        gateway = IPv4Interface(f"{plan.guest_gateway}/{plan.vm_network.prefixlen}")
        with Links(netns) as ns:
            ns.detach(POD_INTERFACE)  # a bridge binding before would have made it a port
            ns.set_addresses(POD_INTERFACE, [IPv4Interface(f"{pod_ip}/{self.cidr.prefixlen}")])
            ns.set_up(POD_INTERFACE, mtu=mtu)
            ns.set_default_route(self.gateway.ip, POD_INTERFACE)
            ns.ensure_bridge(bridge, mtu)
            ns.set_addresses(bridge, [gateway])
            ns.ensure_tap(tap, owner_uid, mtu)
            ns.set_up(tap, master=bridge)
        nsexec.write_sysctl(netns, "net.ipv4.ip_forward", "1")
        nft.delete_table(netns, "bridge", nft.POD_BRIDGE_TABLE)
        nft.apply(netns, nft.masquerade_ruleset(POD_INTERFACE, pod_ip, plan.guest_address, plan.ports))
        return cmd_pb2.PreparedInterface.Dhcp(
            server_interface=bridge, server_address=str(plan.guest_gateway),
            guest_address=str(plan.guest_address), prefix_length=plan.vm_network.prefixlen,
            gateway=str(plan.guest_gateway))

    def _bridge(self, netns: str, plan: InterfacePlan, pod_ip: IPv4Address, tap: str,
                bridge: str, owner_uid: int, mtu: int) -> cmd_pb2.PreparedInterface.Dhcp:
        with Links(netns) as ns:
            ns.set_addresses(POD_INTERFACE, [])  # the guest holds the pod IP
            ns.ensure_bridge(bridge, mtu)
            ns.set_addresses(bridge, [BRIDGE_BINDING_ADDRESS])
            ns.set_up(POD_INTERFACE, mtu=mtu, master=bridge)
            ns.ensure_tap(tap, owner_uid, mtu)
            ns.set_up(tap, master=bridge)
        nft.delete_table(netns, "ip", nft.POD_TABLE)
        nft.apply(netns, nft.bridge_isolation_ruleset(POD_INTERFACE))
        return cmd_pb2.PreparedInterface.Dhcp(
            server_interface=bridge, server_address=str(BRIDGE_BINDING_ADDRESS.ip),
            guest_address=str(pod_ip), prefix_length=self.cidr.prefixlen, gateway=str(self.gateway.ip))

    def _read_resolv_conf(self) -> str:
        try:
            return self.resolv_conf.read_text()
        except OSError:
            return ""

    def teardown(self, vmi_uid: str, netns: str | None = None) -> None:
        """Remove the VMI's veth (its peer goes with it) and free its pod IP; with `netns` (when it
        still exists) also the taps, bridge and tables inside. Idempotent."""
        if netns is not None and namespaces.exists(netns):
            with Links(netns) as ns:
                for name in ns.names():
                    if name.startswith("tap") or name.startswith(BRIDGE_PREFIX) or name == POD_INTERFACE:
                        ns.delete(name)
            for family, table in nft.tables(netns):
                if table == nft.POD_TABLE:
                    nft.delete_table(netns, family, table)
        with Links() as host:
            host.delete(host_veth_name(vmi_uid))
        self.pool.release(vmi_uid)
        log.info("Pod network of VMI %s removed", vmi_uid)

    def leftovers(self, vmi_uid: str, netns: str | None = None) -> list[str]:
        """What of the VMI's pod network still exists, in words (empty once all is gone): the
        host veth, the pod IP, and, while `netns` exists, our links and tables in it."""
        found = []
        with Links() as host:
            if host.get(host_veth_name(vmi_uid)) is not None:
                found.append(f"host link {host_veth_name(vmi_uid)}")
        held = self.pool.allocations().get(vmi_uid)
        if held is not None:
            found.append(f"pod IP {held} allocated to VMI {vmi_uid} in {self.pool.path}")
        if netns is not None and namespaces.exists(netns):
            with Links(netns) as ns:
                found += [f"link {name} in {netns}" for name in ns.names()
                          if name.startswith(("tap", BRIDGE_PREFIX)) or name == POD_INTERFACE]
            try:
                found += [f"nft table {family} {table} in {netns}" for family, table in nft.tables(netns)]
            except FirewallError as exc:
                found.append(f"nft tables of {netns} unreadable: {exc}")
        return found
