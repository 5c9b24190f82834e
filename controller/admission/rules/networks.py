"""Rules on a VMI's networks and interfaces: names, bindings, MACs, ports.

Owns KubeVirt's network admitter checks: unique names, every interface with a
network and every network with an interface, exactly one binding that suits the
network type, one pod network, MAC syntax and uniqueness, NIC models, ports and
link state. Called through the rule table with a VMI_SPEC target.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from controller.admission import syntax
from controller.admission.messages import duplicate, invalid, not_supported, quoted, required
from controller.admission.targets import Target
from controller.admission.unique import repeats
from protos.errors import FieldCause

BINDINGS = (("bridge", "bridge"), ("masquerade", "masquerade"), ("sriov", "sriov"),
            ("slirp", "slirp"), ("macvtap", "macvtap"), ("passt", "passt"), ("binding", "binding"))
DISCONTINUED = ("slirp", "macvtap", "passt")
MODELS = ("e1000", "e1000e", "igb", "ne2k_pci", "pcnet", "rtl8139", "virtio")
PROTOCOLS = ("TCP", "UDP")
LINK_STATES = ("up", "down", "absent")
_IFACE_NAME = re.compile(r"[A-Za-z0-9_-]+")


def _ifaces(t: Target):
    return t.msg.domain.devices.interfaces


def _ipath(t: Target, i: int, rel: str = "") -> str:
    return t.at(f"domain.devices.interfaces[{i}]" + (f".{rel}" if rel else ""))


def _npath(t: Target, i: int, rel: str = "") -> str:
    return t.at(f"networks[{i}]" + (f".{rel}" if rel else ""))


def bindings_of(iface) -> list[str]:
    """JSON names of the binding fields an interface sets."""
    return [json for field, json in BINDINGS if iface.HasField(field)]


def network_name_required(t: Target) -> Iterator[FieldCause]:
    for i, net in enumerate(t.msg.networks):
        if not net.name:
            yield required(_npath(t, i, "name"), "every network needs a name that an interface uses")


def network_name_duplicate(t: Target) -> Iterator[FieldCause]:
    for name, first, i in repeats((net.name, i) for i, net in enumerate(t.msg.networks)):
        yield duplicate(_npath(t, i, "name"), f"network {quoted(name)} already exists at "
                                              f"networks[{first}]; every network must have a unique name")


def network_source_count(t: Target) -> Iterator[FieldCause]:
    for i, net in enumerate(t.msg.networks):
        found = [n for f, n in (("pod", "pod"), ("multus", "multus")) if net.HasField(f)]
        if len(found) != 1:
            what = ", ".join(found) if found else "none"
            yield invalid(_npath(t, i), f"a network needs exactly one source (found: {what}); "
                                        f"set one of: pod, multus")


def network_default_multiple(t: Target) -> Iterator[FieldCause]:
    first = None
    for i, net in enumerate(t.msg.networks):
        is_default = net.HasField("pod") or (net.HasField("multus") and net.multus.default)
        if not is_default:
            continue
        if first is None:
            first = i
        else:
            yield invalid(_npath(t, i), f"networks[{first}] is already the pod (default) network; "
                                        f"a VMI has at most one pod network or multus network "
                                        f"with default: true")


def network_multus_name(t: Target) -> Iterator[FieldCause]:
    for i, net in enumerate(t.msg.networks):
        if net.HasField("multus") and not net.multus.network_name:
            yield required(_npath(t, i, "multus.networkName"),
                           "name the NetworkAttachmentDefinition ([namespace/]name)")


def network_pod_cidr(t: Target) -> Iterator[FieldCause]:
    for i, net in enumerate(t.msg.networks):
        if not net.HasField("pod"):
            continue
        for field, json, version in (("vm_network_cidr", "vmNetworkCIDR", 4),
                                     ("vm_ipv6_network_cidr", "vmIPv6NetworkCIDR", 6)):
            if not net.pod.HasField(field):
                continue
            value = getattr(net.pod, field)
            try:
                ok = ipaddress.ip_network(value, strict=True).version == version
            except ValueError:
                ok = False
            if not ok:
                example = "10.0.2.0/24" if version == 4 else "fd10:0:2::/120"
                yield invalid(_npath(t, i, f"pod.{json}"),
                              f"{quoted(value)} is not an IPv{version} network; use a CIDR with no host "
                              f"bits set, like {example}")


def network_interface_missing(t: Target) -> Iterator[FieldCause]:
    used = {iface.name for iface in _ifaces(t)}
    for i, net in enumerate(t.msg.networks):
        if net.name and net.name not in used:
            yield invalid(_npath(t, i, "name"),
                          f"network {quoted(net.name)} has no interface; add an interface named "
                          f"{quoted(net.name)} to domain.devices.interfaces, or remove the network")


def interface_name_required(t: Target) -> Iterator[FieldCause]:
    for i, iface in enumerate(_ifaces(t)):
        if not iface.name:
            yield required(_ipath(t, i, "name"), "every interface needs the name of its network")


def interface_name_format(t: Target) -> Iterator[FieldCause]:
    for i, iface in enumerate(_ifaces(t)):
        if iface.name and not _IFACE_NAME.fullmatch(iface.name):
            yield invalid(_ipath(t, i, "name"), f"interface name {quoted(iface.name)} is not valid; use "
                                                f"letters, digits, '-' and '_'")


def interface_name_duplicate(t: Target) -> Iterator[FieldCause]:
    for name, first, i in repeats((iface.name, i) for i, iface in enumerate(_ifaces(t))):
        yield duplicate(_ipath(t, i, "name"),
                        f"interfaces[{first}] and interfaces[{i}] both use network {quoted(name)}; "
                        f"only one interface can be connected to a network")


def interface_network_missing(t: Target) -> Iterator[FieldCause]:
    networks = {net.name for net in t.msg.networks}
    for i, iface in enumerate(_ifaces(t)):
        if iface.name and iface.name not in networks:
            yield invalid(_ipath(t, i, "name"),
                          f"interface {quoted(iface.name)} has no network; add a network named "
                          f"{quoted(iface.name)} to spec networks (interfaces and networks are matched "
                          f"by name)")


def interface_binding_count(t: Target) -> Iterator[FieldCause]:
    for i, iface in enumerate(_ifaces(t)):
        found = bindings_of(iface)
        if len(found) > 1:
            yield invalid(_ipath(t, i), f"more than one binding set ({', '.join(found)}); an "
                                        f"interface has exactly one of: bridge, masquerade, "
                                        f"sriov, binding")


def interface_binding_network(t: Target) -> Iterator[FieldCause]:
    networks = {net.name: net for net in t.msg.networks}
    for i, iface in enumerate(_ifaces(t)):
        net = networks.get(iface.name)
        if net is None:
            continue
        on_pod = net.HasField("pod")
        if iface.HasField("masquerade") and not on_pod:
            yield invalid(_ipath(t, i, "masquerade"),
                          "masquerade is only implemented on the pod network; use bridge or "
                          "sriov for a multus network")
        if iface.HasField("sriov") and on_pod:
            yield invalid(_ipath(t, i, "sriov"),
                          "sriov needs a multus network with an SR-IOV NetworkAttachmentDefinition; "
                          "use masquerade or bridge on the pod network")
        if iface.HasField("bridge") and on_pod and not t.config.permit_bridge_interface_on_pod_network:
            yield invalid(_ipath(t, i, "bridge"),
                          "bridge on the pod network is not enabled in this cluster; use "
                          "masquerade")


def interface_binding_discontinued(t: Target) -> Iterator[FieldCause]:
    for i, iface in enumerate(_ifaces(t)):
        for name in DISCONTINUED:
            if iface.HasField(name):
                yield invalid(_ipath(t, i, name),
                              f"the {name} binding is discontinued (as in KubeVirt); use one of: "
                              f"masquerade, bridge, sriov, or a binding plugin (binding: {{name: "
                              f"...}})")


def interface_model_value(t: Target) -> Iterator[FieldCause]:
    for i, iface in enumerate(_ifaces(t)):
        if iface.HasField("model") and iface.model not in MODELS:
            yield not_supported(_ipath(t, i, "model"), "interface model", iface.model, MODELS)


def interface_mac_format(t: Target) -> Iterator[FieldCause]:
    for i, iface in enumerate(_ifaces(t)):
        if iface.HasField("mac_address"):
            problem = syntax.mac_address(iface.mac_address)
            if problem:
                yield invalid(_ipath(t, i, "macAddress"), problem)


def interface_mac_multicast(t: Target) -> Iterator[FieldCause]:
    for i, iface in enumerate(_ifaces(t)):
        mac = iface.mac_address
        if mac and syntax.mac_address(mac) is None and syntax.mac_is_multicast(mac):
            yield invalid(_ipath(t, i, "macAddress"),
                          f"{quoted(mac)} is a multicast address; use a unicast MAC (the lowest bit of "
                          f"the first octet clear), like 02:00:00:00:00:01")


def interface_mac_duplicate(t: Target) -> Iterator[FieldCause]:
    def normalised(mac: str) -> str | None:
        if not mac or syntax.mac_address(mac) is not None:
            return None
        return mac.lower().replace("-", ":")

    macs = ((normalised(iface.mac_address), i) for i, iface in enumerate(_ifaces(t)))
    for _, first, i in repeats(macs):
        yield duplicate(_ipath(t, i, "macAddress"),
                        f"MAC {quoted(_ifaces(t)[i].mac_address)} is already used by "
                        f"interfaces[{first}]; every interface needs a different MAC address")


def interface_port_number(t: Target) -> Iterator[FieldCause]:
    for i, iface in enumerate(_ifaces(t)):
        for j, port in enumerate(iface.ports):
            if not port.HasField("port") or not 0 < port.port < 65536:
                shown = port.port if port.HasField("port") else "missing"
                yield invalid(_ipath(t, i, f"ports[{j}].port"),
                              f"port {shown} is not valid; use a number from 1 to 65535")


def interface_port_protocol(t: Target) -> Iterator[FieldCause]:
    for i, iface in enumerate(_ifaces(t)):
        for j, port in enumerate(iface.ports):
            if port.HasField("protocol") and port.protocol not in PROTOCOLS:
                yield not_supported(_ipath(t, i, f"ports[{j}].protocol"), "protocol",
                                    port.protocol, PROTOCOLS)


def interface_port_name(t: Target) -> Iterator[FieldCause]:
    for i, iface in enumerate(_ifaces(t)):
        for j, port in enumerate(iface.ports):
            if port.name and (len(port.name) > 15 or syntax.dns_label(port.name)
                              or not any(c.isalpha() for c in port.name) or "--" in port.name):
                yield invalid(_ipath(t, i, f"ports[{j}].name"),
                              f"port name {quoted(port.name)} is not valid; use at most 15 lowercase "
                              f"letters, digits and single '-', with at least one letter")


def interface_port_duplicate(t: Target) -> Iterator[FieldCause]:
    for i, iface in enumerate(_ifaces(t)):
        names: dict[str, int] = {}
        numbers: dict[tuple[int, str], int] = {}
        for j, port in enumerate(iface.ports):
            if port.name:
                if port.name in names:
                    yield duplicate(_ipath(t, i, f"ports[{j}].name"),
                                    f"port name {quoted(port.name)} is already used by ports[{names[port.name]}]; "
                                    f"port names must be unique")
                else:
                    names[port.name] = j
            if port.HasField("port"):
                key = (port.port, port.protocol or "TCP")
                if key in numbers:
                    yield duplicate(_ipath(t, i, f"ports[{j}].port"),
                                    f"port {key[0]}/{key[1]} is already listed at ports[{numbers[key]}]; "
                                    f"list each port and protocol once")
                else:
                    numbers[key] = j


def interface_state_value(t: Target) -> Iterator[FieldCause]:
    networks = {net.name: net for net in t.msg.networks}
    for i, iface in enumerate(_ifaces(t)):
        if not iface.HasField("state"):
            continue
        if iface.state not in LINK_STATES:
            yield not_supported(_ipath(t, i, "state"), "interface state", iface.state, LINK_STATES)
        elif iface.state == "absent":
            net = networks.get(iface.name)
            if not iface.HasField("bridge") or net is None or not net.HasField("multus"):
                yield invalid(_ipath(t, i, "state"),
                              "state absent is only supported for a bridge interface on a multus "
                              "network; use up or down")
