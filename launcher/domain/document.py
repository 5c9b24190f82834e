"""The whole domain document: the order of its parts, identity, metadata, lifecycle.

Owns `to_domain_xml` and `domain_name`: it asks each area (compute, firmware,
storage, network, devices) for its elements, places them in libvirt's order,
adds the name, UUID, KubeVirt metadata and lifecycle actions, and raises one
ConversionError with every cause the areas found. Pure: no libvirt, no files,
no clock; the same VMI and context always give the same text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from launcher.domain import compute, devices, firmware, network, storage
from launcher.domain.causes import DEV, DOM, Causes
from launcher.domain.context import DomainContext
from launcher.domain.xmlwriter import append, element, render
from protos.kubevirt.v1 import vmi_pb2

KUBEVIRT_NAMESPACE = "http://kubevirt.io"
REBOOT_POLICIES = {"": "restart", "Reboot": "restart", "Terminate": "destroy"}
DEFAULT_GRACE_PERIOD_SECONDS = 30


def domain_name(vmi: vmi_pb2.VirtualMachineInstance) -> str:
    """<namespace>_<name>, the namespace being "default" when empty (KubeVirt's key)."""
    return f"{vmi.metadata.namespace or 'default'}_{vmi.metadata.name}"


def to_domain_xml(vmi: vmi_pb2.VirtualMachineInstance, ctx: DomainContext) -> str:
    """The domain XML of a defaulted VMI on this node; ConversionError lists every problem."""
    return render(to_domain_element(vmi, ctx))


def to_domain_element(vmi: vmi_pb2.VirtualMachineInstance, ctx: DomainContext) -> ET.Element:
    """Like to_domain_xml, as an ElementTree element (not yet indented)."""
    causes = Causes()
    if not vmi.metadata.name:
        causes.required("metadata.name", "a VMI needs a name")
    if not vmi.spec.HasField("domain"):
        causes.required(DOM, "a VMI spec needs a domain")
        causes.raise_if_any()
    fw = vmi.spec.domain.firmware
    if not fw.uuid:
        causes.required(f"{DOM}.firmware.uuid", "a firmware uuid is required (admission sets it)")

    dom_devices = vmi.spec.domain.devices
    disk_plan = storage.disks(vmi, ctx, causes)
    input_elements, usb_input = devices.inputs(vmi, causes)
    channel_elements = devices.channels(ctx)
    console = devices.serial_console(vmi, ctx)
    if fw.bootloader.bios.use_serial and not console:
        causes.invalid(f"{DOM}.firmware.bootloader.bios.useSerial", "BIOS output to serial needs "
                       "the serial console; remove useSerial or autoattachSerialConsole: false")
    policy = vmi.spec.domain.reboot_policy
    if policy not in REBOOT_POLICIES:
        causes.invalid(f"{DOM}.rebootPolicy",
                       f"rebootPolicy \"{policy}\" is not Reboot or Terminate")

    root = element("domain", {"type": "kvm" if ctx.accelerator == "kvm" else "qemu"})
    append(root, [
        element("name", text=domain_name(vmi)),
        element("uuid", text=fw.uuid) if fw.uuid else None,
        _metadata(vmi, ctx),
        *compute.memory(vmi, causes),
        compute.memory_backing(vmi, ctx, causes),
        compute.vcpu(vmi, causes),
        element("iothreads", text=disk_plan.iothreads) if disk_plan.iothreads else None,
        firmware.sysinfo(vmi, ctx),
        firmware.os_element(vmi, ctx, causes),
        compute.features(vmi),
        compute.cpu(vmi, ctx, causes),
        compute.clock(vmi),
        element("on_poweroff", text="destroy"),
        element("on_reboot", text=REBOOT_POLICIES.get(policy, "restart")),
        element("on_crash", text="destroy"),
    ])
    interface_elements = network.interfaces(vmi, ctx, causes)
    graphics = devices.graphics(vmi, ctx)
    devs = element("devices", {}, element("emulator", text=ctx.emulator))
    append(devs, [
        *disk_plan.disks,
        *devices.controllers(vmi, disk_plan, usb=disk_plan.needs_usb or usb_input,
                             virtio_serial=bool(channel_elements)),
        *interface_elements,
        *console,
        *channel_elements,
        *input_elements,
        *graphics[:1],
        devices.sound(vmi, causes),
        *graphics[1:],
        *devices.host_devices(vmi, ctx, causes),
        devices.watchdog(vmi, causes),
        devices.memballoon(vmi, ctx),
        devices.rng(vmi),
    ])
    devices.unsupported(vmi, causes)
    if dom_devices.log_serial_console and not console:
        causes.invalid(f"{DEV}.logSerialConsole", "logging the serial console needs the serial "
                       "console; remove logSerialConsole or autoattachSerialConsole: false")
    root.append(devs)
    causes.raise_if_any()
    return root


def _metadata(vmi: vmi_pb2.VirtualMachineInstance, ctx: DomainContext) -> ET.Element:
    """KubeVirt's own metadata block: the VMI uid and the deletion grace period."""
    grace = (vmi.spec.termination_grace_period_seconds
             if vmi.spec.HasField("termination_grace_period_seconds")
             else DEFAULT_GRACE_PERIOD_SECONDS)
    return element("metadata", {}, element(
        "kubevirt", {"xmlns": KUBEVIRT_NAMESPACE},
        element("uid", text=ctx.uid),
        element("graceperiod", {}, element("deletionGracePeriodSeconds", text=grace))))
