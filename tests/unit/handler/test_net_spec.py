"""Reading a VMI for the pod network: bindings, MACs, ports, DNS, and every refusal with its path."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from controller.admission import ClusterConfig, default
from handler.net import spec
from handler.net.errors import NetworkSpecError
from protos import codec

UID = "6f1c1f0e-8d1a-4c55-9d0a-8b1f3f1d2a10"


def vmi(networks: str, interfaces: str, extra: str = ""):
    text = f"""
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {{name: vm1, namespace: lab, uid: "{UID}"}}
spec:
  domain:
    memory: {{guest: 128Mi}}
    devices:
      interfaces: {interfaces}
  networks: {networks}
{extra}"""
    return default(codec.load_documents(text)[0], ClusterConfig())


POD = "[{name: default, pod: {}}]"


def test_masquerade_plan_defaults() -> None:
    """A masquerade interface: generated stable MAC, all ports, KubeVirt's 10.0.2.0/24."""
    (plan,) = spec.plan(vmi(POD, "[{name: default, masquerade: {}}]"), UID)
    assert (plan.name, plan.binding, plan.ports) == ("default", "masquerade", ())
    assert plan.vm_network == IPv4Network("10.0.2.0/24")
    assert (str(plan.guest_gateway), str(plan.guest_address)) == ("10.0.2.1", "10.0.2.2")
    assert plan.mac == spec.generated_mac(UID, "default")


def test_generated_mac_is_stable_local_and_unicast() -> None:
    """The same uid and interface always give the same MAC; it is locally administered unicast."""
    mac = spec.generated_mac(UID, "default")
    assert mac == spec.generated_mac(UID, "default") != spec.generated_mac(UID, "other")
    first = int(mac.split(":")[0], 16)
    assert first & 0x02 and not first & 0x01 and len(mac.split(":")) == 6


def test_spec_mac_ports_and_vm_network_are_taken() -> None:
    """macAddress, ports (TCP by default, UDP) and pod.vmNetworkCIDR come from the spec."""
    (plan,) = spec.plan(vmi("[{name: default, pod: {vmNetworkCIDR: 10.11.12.0/28}}]",
                            "[{name: default, masquerade: {}, macAddress: '02:AA:bb:cc:dd:01', "
                            "ports: [{port: 80}, {port: 53, protocol: UDP}]}]"), UID)
    assert plan.mac == "02:aa:bb:cc:dd:01"
    assert plan.ports == (spec.Port("tcp", 80), spec.Port("udp", 53))
    assert (str(plan.guest_gateway), str(plan.guest_address)) == ("10.11.12.1", "10.11.12.2")


def test_bridge_binding_is_planned() -> None:
    """A bridge interface on the pod network is planned as such."""
    (plan,) = spec.plan(vmi(POD, "[{name: default, bridge: {}}]"), UID)
    assert plan.binding == "bridge"


def test_no_pod_interface_means_no_plan() -> None:
    """A VMI without interfaces (autoattachPodInterface: false) has nothing to plumb."""
    bare = vmi("[]", "[]")
    del bare.spec.networks[:]
    del bare.spec.domain.devices.interfaces[:]
    assert spec.plan(bare, UID) == []


@pytest.mark.parametrize(("networks", "interfaces", "message"), [
    ("[{name: default, pod: {}}, {name: blue, multus: {networkName: blue-net}}]",
     "[{name: default, masquerade: {}}, {name: blue, bridge: {}}]",
     "spec.networks[1].multus: multus (secondary) networks are not supported on this node yet; "
     "only the pod network is (networks[].pod)"),
    (POD, "[{name: default, sriov: {}}]",
     'spec.domain.devices.interfaces[0].sriov: binding "sriov" is not supported on the pod network '
     "of this node; use one of: masquerade, bridge"),
    (POD, "[{name: default, binding: {name: passt}}]",
     'spec.domain.devices.interfaces[0].binding: binding "binding" is not supported'),
    (POD, "[{name: default, bridge: {}, ports: [{port: 80}]}]",
     "spec.domain.devices.interfaces[0].ports: ports only apply to masquerade"),
    (POD, "[{name: default, masquerade: {}, dhcpOptions: {bootFileName: pxelinux.0}}]",
     "spec.domain.devices.interfaces[0].dhcpOptions: DHCP options"),
    ("[{name: default, pod: {vmIPv6NetworkCIDR: 'fd10:0:2::/120'}}]", "[{name: default, masquerade: {}}]",
     "spec.networks[0].pod.vmIPv6NetworkCIDR: IPv6 is not supported"),
    ("[{name: default, pod: {vmNetworkCIDR: 10.0.2.0/31}}]", "[{name: default, masquerade: {}}]",
     'spec.networks[0].pod.vmNetworkCIDR: "10.0.2.0/31" is too small'),
    ("[{name: default, pod: {}}, {name: second, pod: {}}]",
     "[{name: default, masquerade: {}}, {name: second, masquerade: {}}]",
     "spec.networks[1].pod: networks[0] is already the pod network; a VMI has at most one"),
    (POD, "[{name: default, masquerade: {}, ports: [{port: 80, protocol: SCTP}]}]",
     'spec.domain.devices.interfaces[0].ports[0].protocol: "SCTP" is not supported; use one of: TCP, UDP'),
])
def test_refusals_name_the_field_and_what_is_allowed(networks: str, interfaces: str, message: str) -> None:
    """Every unsupported field is a NetworkSpecError naming the VMI, the exact path and the choices."""
    with pytest.raises(NetworkSpecError) as refused:
        spec.plan(vmi(networks, interfaces), UID)
    text = str(refused.value)
    assert text.startswith("The networks of VMI lab/vm1 cannot be set up on this node: ")
    assert message in text
    assert refused.value.transient is False


def test_all_refusals_are_reported_at_once() -> None:
    """A multus network and an sriov interface: both paths in one error."""
    with pytest.raises(NetworkSpecError) as refused:
        spec.plan(vmi("[{name: default, pod: {}}, {name: blue, multus: {networkName: b}}]",
                      "[{name: default, sriov: {}}, {name: blue, bridge: {}}]"), UID)
    assert [p.split(":")[0] for p in refused.value.problems] == [
        "spec.networks[1].multus", "spec.domain.devices.interfaces[0].sriov"]


def test_resolv_conf_loopback_servers_are_dropped() -> None:
    """The host's nameservers reach the guest, except loopback ones it could not reach."""
    dns = spec.parse_resolv_conf("# generated\nnameserver 127.0.0.53\nnameserver 10.255.255.53\n"
                                 "nameserver ::1\nnameserver 192.0.2.1 # second\nsearch lab.example. corp\n"
                                 "options edns0\n")
    assert dns == spec.DNS(("10.255.255.53", "192.0.2.1"), ("lab.example", "corp"))


def test_dns_config_and_policy() -> None:
    """spec.dnsConfig adds servers and searches; dnsPolicy None drops the host's."""
    extra = "  dnsConfig: {nameservers: [192.0.2.9], searches: [svc.local]}\n"
    host = "nameserver 10.255.255.53\nsearch corp\n"
    both = spec.dns_for(vmi(POD, "[{name: default, masquerade: {}}]", extra), host)
    assert both == spec.DNS(("10.255.255.53", "192.0.2.9"), ("corp", "svc.local"))
    only = spec.dns_for(vmi(POD, "[{name: default, masquerade: {}}]", extra + "  dnsPolicy: None\n"), host)
    assert only == spec.DNS(("192.0.2.9",), ("svc.local",))


def test_hostname_is_spec_hostname_else_name() -> None:
    """DHCP's hostname is spec.hostname when set, else the VMI's name."""
    assert spec.hostname_of(vmi(POD, "[{name: default, masquerade: {}}]")) == "vm1"
    named = vmi(POD, "[{name: default, masquerade: {}}]", "  hostname: web\n")
    assert spec.hostname_of(named) == "web"
