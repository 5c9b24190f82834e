"""What a VMI asks of the pod network: its interfaces, bindings, MACs, ports, DNS.

Owns reading `spec.networks` and `spec.domain.devices.interfaces` into a plan
(`InterfacePlan` per interface on the pod network) and refusing, with the exact
field path and what is allowed, everything this node does not plumb yet:
multus networks, bindings other than masquerade and bridge, IPv6, DHCP
options. Pure: no kernel, no files (the host's resolv.conf is parsed from
text given to it). Called by handler/net/pod.py. Never drops a field it does
not support: it is an error, never ignored.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from handler.net.errors import NetworkSpecError
from protos.kubevirt.v1 import vmi_pb2

BINDINGS = ("masquerade", "bridge")
OTHER_BINDINGS = ("sriov", "slirp", "macvtap", "passt", "binding")
DEFAULT_VM_NETWORK = IPv4Network("10.0.2.0/24")  # KubeVirt's masquerade network
PROTOCOLS = {"TCP": "tcp", "UDP": "udp"}
_DEV = "spec.domain.devices.interfaces"


@dataclass(frozen=True)
class Port:
    """One forwarded port of a masquerade interface (nft's protocol name: tcp, udp)."""

    protocol: str
    number: int


@dataclass(frozen=True)
class InterfacePlan:
    """One VMI interface on the pod network, as the node will plumb it."""

    name: str                  # the VMI interface (and network) name
    binding: str               # masquerade or bridge
    mac: str                   # the guest's MAC: the spec's, else a stable generated one
    ports: tuple[Port, ...]    # masquerade: only these are forwarded; empty: everything
    vm_network: IPv4Network    # masquerade: the guest's side of the NAT (10.0.2.0/24)

    @property
    def guest_gateway(self) -> IPv4Address:
        """Masquerade: the bridge's address in the sandbox, the guest's router (10.0.2.1)."""
        return self.vm_network.network_address + 1

    @property
    def guest_address(self) -> IPv4Address:
        """Masquerade: the guest's address behind the NAT (10.0.2.2)."""
        return self.vm_network.network_address + 2


@dataclass(frozen=True)
class DNS:
    """What the guest gets as resolvers: nameservers and search domains."""

    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()


def generated_mac(vmi_uid: str, interface: str) -> str:
    """A stable MAC for an interface without one: locally administered, unicast (02:...),
    the rest taken from a hash of the VMI uid and the interface name."""
    digest = hashlib.sha256(f"{vmi_uid}/{interface}".encode()).digest()
    return ":".join(f"{b:02x}" for b in (0x02, *digest[:5]))


def vmi_label(vmi: vmi_pb2.VirtualMachineInstance) -> str:
    return f"{vmi.metadata.namespace or 'default'}/{vmi.metadata.name}"


def plan(vmi: vmi_pb2.VirtualMachineInstance, vmi_uid: str) -> list[InterfacePlan]:
    """The interfaces on the pod network, in spec order; NetworkSpecError naming every
    field this node cannot plumb (nothing is plumbed then)."""
    problems: list[str] = []
    networks = {net.name: (i, net) for i, net in enumerate(vmi.spec.networks)}
    for i, net in enumerate(vmi.spec.networks):
        where = f"spec.networks[{i}]"
        if net.HasField("multus"):
            problems.append(f"{where}.multus: multus (secondary) networks are not supported on this "
                            f"node yet; only the pod network is (networks[].pod)")
        elif not net.HasField("pod"):
            problems.append(f"{where}: the network has no source; set pod: {{}}")
        elif net.pod.HasField("vm_ipv6_network_cidr"):
            problems.append(f"{where}.pod.vmIPv6NetworkCIDR: IPv6 is not supported on this node's "
                            f"pod network yet; remove it")
        elif net.pod.HasField("vm_network_cidr"):
            problems.extend(_check_vm_network(f"{where}.pod.vmNetworkCIDR", net.pod.vm_network_cidr))
    plans = []
    for i, iface in enumerate(vmi.spec.domain.devices.interfaces):
        where = f"{_DEV}[{i}]"
        found = networks.get(iface.name)
        if found is None:
            problems.append(f"{where}.name: interface \"{iface.name}\" has no network of that name "
                            f"in spec.networks")
            continue
        _, net = found
        if not net.HasField("pod"):
            continue  # its network is refused above
        other = [b for b in OTHER_BINDINGS if iface.HasField(b)]
        if other:
            problems.append(f"{where}.{other[0]}: binding \"{other[0]}\" is not supported on the pod "
                            f"network of this node; use one of: {', '.join(BINDINGS)}")
            continue
        binding = next((b for b in BINDINGS if iface.HasField(b)), None)
        if binding is None:
            problems.append(f"{where}: the interface has no binding; set one of: {', '.join(BINDINGS)}")
            continue
        if iface.HasField("dhcp_options"):
            problems.append(f"{where}.dhcpOptions: DHCP options (boot file, TFTP, NTP, private "
                            f"options) are not served by this node yet; remove them")
        ports, port_problems = _ports(iface, where, binding)
        problems.extend(port_problems)
        vm_network = DEFAULT_VM_NETWORK
        if net.pod.HasField("vm_network_cidr") and binding == "masquerade":
            try:
                vm_network = IPv4Network(net.pod.vm_network_cidr)
            except ValueError:
                pass  # reported above
        plans.append(InterfacePlan(
            name=iface.name, binding=binding,
            mac=(iface.mac_address.lower().replace("-", ":") if iface.mac_address
                 else generated_mac(vmi_uid, iface.name)),
            ports=tuple(ports), vm_network=vm_network))
    pods = [i for i, net in enumerate(vmi.spec.networks) if net.HasField("pod")]
    for i in pods[1:]:
        problems.append(f"spec.networks[{i}].pod: networks[{pods[0]}] is already the pod network; a "
                        f"VMI has at most one")
    if problems:
        raise NetworkSpecError(vmi_label(vmi), problems)
    return plans


def _check_vm_network(where: str, value: str) -> list[str]:
    try:
        network = IPv4Network(value, strict=True)
    except ValueError:
        return [f"{where}: \"{value}\" is not an IPv4 network; use a CIDR like 10.0.2.0/24"]
    if network.prefixlen > 30:
        return [f"{where}: \"{value}\" is too small; the gateway and the guest need two addresses "
                f"(a /30 or larger, like 10.0.2.0/24)"]
    return []


def _ports(iface, where: str, binding: str) -> tuple[list[Port], list[str]]:
    if not iface.ports:
        return [], []
    if binding != "masquerade":
        return [], [f"{where}.ports: ports only apply to masquerade; a {binding}-bound guest holds "
                    f"the pod address and receives every port; remove ports or use masquerade"]
    ports, problems = [], []
    for j, port in enumerate(iface.ports):
        protocol = PROTOCOLS.get(port.protocol or "TCP")
        if protocol is None:
            problems.append(f"{where}.ports[{j}].protocol: \"{port.protocol}\" is not supported; use "
                            f"one of: TCP, UDP")
        elif not port.HasField("port") or not 0 < port.port < 65536:
            problems.append(f"{where}.ports[{j}].port: use a number from 1 to 65535")
        else:
            ports.append(Port(protocol, port.port))
    return ports, problems


def hostname_of(vmi: vmi_pb2.VirtualMachineInstance) -> str:
    """The guest's hostname (DHCP option 12): spec.hostname, else the VMI's name."""
    return vmi.spec.hostname or vmi.metadata.name


def dns_for(vmi: vmi_pb2.VirtualMachineInstance, host_resolv_conf: str) -> DNS:
    """Resolvers for the guest: the host's (loopback ones dropped: the guest cannot reach
    them), unless dnsPolicy is None, plus spec.dnsConfig's, as kubelet builds a pod's."""
    host = DNS() if vmi.spec.dns_policy == "None" else parse_resolv_conf(host_resolv_conf)
    extra = vmi.spec.dns_config
    nameservers = _unique([*host.nameservers, *extra.nameservers])
    searches = _unique([*host.searches, *extra.searches])
    return DNS(tuple(nameservers), tuple(searches))


def parse_resolv_conf(text: str) -> DNS:
    """IPv4 nameservers that are not loopback, and the search domains, of a resolv.conf."""
    nameservers, searches = [], []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            try:
                ip = ipaddress.ip_address(fields[1])
            except ValueError:
                continue
            if ip.version == 4 and not ip.is_loopback and not ip.is_unspecified:
                nameservers.append(str(ip))
        elif fields and fields[0] in ("search", "domain"):
            searches = [d.rstrip(".") for d in fields[1:] if d.rstrip(".")]  # the last one wins
    return DNS(tuple(_unique(nameservers)[:3]), tuple(_unique(searches)))


def _unique(items: list[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item and item not in seen:
            seen.append(item)
    return seen
