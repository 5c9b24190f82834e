"""Interfaces: spec.domain.devices.interfaces[] with the handler's taps -> <interface>.

Owns the guest side of networking: one <interface type='ethernet'> per VMI
interface on the tap the handler prepared in the sandbox (masquerade and bridge
bindings both end in a tap), with the MAC, NIC model, boot order, link state,
ACPI index and PCI address from the spec. Never creates taps or addresses:
handler/net does, and says which tap belongs to which interface.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from launcher.domain.addresses import guest_pci_address
from launcher.domain.causes import DEV, Causes
from launcher.domain.context import DomainContext
from launcher.domain.storage import virtio_model
from launcher.domain.xmlwriter import element
from protos.kubevirt.v1 import vmi_pb2

TAP_BINDINGS = ("masquerade", "bridge")
OTHER_BINDINGS = ("sriov", "slirp", "macvtap", "passt", "binding")
NIC_MODELS = ("virtio", "e1000", "e1000e", "igb", "rtl8139", "ne2k_pci", "pcnet")


def interfaces(vmi: vmi_pb2.VirtualMachineInstance, ctx: DomainContext,
               causes: Causes) -> list[ET.Element]:
    out = []
    devices = vmi.spec.domain.devices
    if devices.network_interface_multiqueue:
        causes.unsupported(f"{DEV}.networkInterfaceMultiqueue",
                           "multi-queue NICs are not supported; remove it")
    for i, iface in enumerate(devices.interfaces):
        where = f"{DEV}.interfaces[{i}]"
        other = [b for b in OTHER_BINDINGS if iface.HasField(b)]
        if other:
            json = "binding" if other[0] == "binding" else other[0]
            causes.unsupported(f"{where}.{json}", f"binding \"{json}\" is not supported by this "
                               f"node's launcher; use one of: {', '.join(TAP_BINDINGS)}")
            continue
        prepared = ctx.interface(iface.name)
        if prepared is None:
            causes.required(f"{where}.name", f"interface \"{iface.name}\" has no tap device "
                            "prepared on this node")
            continue
        model = iface.model or "virtio"
        if model not in NIC_MODELS:
            causes.unsupported(f"{where}.model", f"model \"{model}\" is not supported; use one "
                               f"of: {', '.join(NIC_MODELS)}")
            continue
        if iface.state and iface.state not in ("up", "down"):
            causes.invalid(f"{where}.state", f"state \"{iface.state}\" is not up or down")
            continue
        mac = iface.mac_address or prepared.mac
        out.append(element(
            "interface", {"type": "ethernet"},
            element("mac", {"address": mac.lower()}) if mac else None,
            element("target", {"dev": prepared.tap, "managed": "no"}),
            element("model", {"type": virtio_model(vmi) if model == "virtio" else model}),
            element("boot", {"order": iface.boot_order}) if iface.HasField("boot_order") else None,
            element("link", {"state": "down"}) if iface.state == "down" else None,
            element("alias", {"name": f"ua-{iface.name}"}),
            element("acpi", {"index": iface.acpi_index}) if iface.HasField("acpi_index") else None,
            guest_pci_address(iface.pci_address, f"{where}.pciAddress", causes),
        ))
    return out
