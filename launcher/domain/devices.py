"""Everything in <devices> that is not a disk or a NIC.

Owns the serial console and its <console>, VNC graphics and video, the guest
agent channel, memory balloon, RNG, input devices, watchdog, sound, assigned host
devices (GPUs and hostDevices as PCI or mediated devices), and the controllers
the devices need (USB only when something sits on USB, virtio-serial for
channels, virtio-scsi for SCSI disks). Never allocates host devices: the handler
did, and the context says which address belongs to which spec entry.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from launcher.domain.addresses import pci_attrs
from launcher.domain.causes import DEV, Causes
from launcher.domain.context import DomainContext, HostDeviceMdev, HostDevicePCI
from launcher.domain.storage import DiskPlan, virtio_model
from launcher.domain.xmlwriter import element
from protos.kubevirt.v1 import vmi_pb2

GUEST_AGENT_CHANNEL = "org.qemu.guest_agent.0"
WATCHDOG_ACTIONS = ("poweroff", "reset", "shutdown")
INPUT_BUSES = ("virtio", "usb")
SOUND_MODELS = ("ich9", "ac97")


def _attached(devices, field: str) -> bool:
    """autoattach* switches are on unless written false."""
    return getattr(devices, field) if devices.HasField(field) else True


def serial_console(vmi: vmi_pb2.VirtualMachineInstance, ctx: DomainContext) -> list[ET.Element]:
    """<serial> bound to the launcher's socket, and the <console> on it (ttyS0)."""
    if not _attached(vmi.spec.domain.devices, "autoattach_serial_console"):
        return []
    source = {"mode": "bind", "path": ctx.serial_socket}
    return [element("serial", {"type": "unix"}, element("source", source),
                    element("target", {"port": 0})),
            element("console", {"type": "unix"}, element("source", source),
                    element("target", {"type": "serial", "port": 0}))]


def channels(ctx: DomainContext) -> list[ET.Element]:
    if not ctx.agent_socket:
        return []
    return [element("channel", {"type": "unix"},
                    element("source", {"mode": "bind", "path": ctx.agent_socket}),
                    element("target", {"type": "virtio", "name": GUEST_AGENT_CHANNEL}))]


def graphics(vmi: vmi_pb2.VirtualMachineInstance, ctx: DomainContext) -> list[ET.Element]:
    """VNC on a unix socket plus a VGA card, unless turned off or the node gives no socket."""
    if not _attached(vmi.spec.domain.devices, "autoattach_graphics_device") or not ctx.vnc_socket:
        return []
    return [element("graphics", {"type": "vnc"},
                    element("listen", {"type": "socket", "socket": ctx.vnc_socket})),
            element("video", {}, element("model", {"type": "vga", "vram": 16384, "heads": 1}))]


def inputs(vmi: vmi_pb2.VirtualMachineInstance, causes: Causes) -> tuple[list[ET.Element], bool]:
    """(<input> elements, whether one sits on USB)."""
    devices = vmi.spec.domain.devices
    out, usb = [], False
    specs = [(f"{DEV}.inputs[{i}]", d.name, d.bus or "usb", d.type or "tablet")
             for i, d in enumerate(devices.inputs)]
    if not specs and devices.autoattach_input_device:
        specs = [(f"{DEV}.autoattachInputDevice", "default-0", "virtio", "tablet")]
    for where, name, bus, kind in specs:
        if kind != "tablet":
            causes.unsupported(f"{where}.type",
                               f"input type \"{kind}\" is not supported; use tablet")
            continue
        if bus not in INPUT_BUSES:
            causes.unsupported(f"{where}.bus", f"input bus \"{bus}\" is not supported; use one "
                               f"of: {', '.join(INPUT_BUSES)}")
            continue
        usb |= bus == "usb"
        out.append(element("input", {"type": kind, "bus": bus,
                                     "model": virtio_model(vmi) if bus == "virtio" else None},
                           element("alias", {"name": f"ua-{name}"}) if name else None))
    return out, usb


def sound(vmi: vmi_pb2.VirtualMachineInstance, causes: Causes) -> ET.Element | None:
    devices = vmi.spec.domain.devices
    if not devices.HasField("sound"):
        return None
    model = devices.sound.model or "ich9"
    if model not in SOUND_MODELS:
        causes.unsupported(f"{DEV}.sound.model", f"sound model \"{model}\" is not supported; "
                           f"use one of: {', '.join(SOUND_MODELS)}")
        return None
    return element("sound", {"model": model},
                   element("alias", {"name": f"ua-{devices.sound.name}"})
                   if devices.sound.name else None)


def host_devices(vmi: vmi_pb2.VirtualMachineInstance, ctx: DomainContext,
                 causes: Causes) -> list[ET.Element]:
    """GPUs and hostDevices as <hostdev>, from the handler's allocations."""
    out = []
    devices = vmi.spec.domain.devices
    entries = [(f"{DEV}.gpus[{i}]", "gpu", g, g.virtual_gpu_options.display)
               for i, g in enumerate(devices.gpus)]
    entries += [(f"{DEV}.hostDevices[{i}]", "hostdevice", h, None)
                for i, h in enumerate(devices.host_devices)]
    for where, prefix, spec, display in entries:
        allocated = ctx.host_devices.get(spec.name)
        if allocated is None:
            causes.required(f"{where}.deviceName", f"no \"{spec.device_name}\" device was "
                            f"allocated on this node for \"{spec.name}\"")
            continue
        alias = element("alias", {"name": f"ua-{prefix}-{spec.name}"})
        if isinstance(allocated, HostDevicePCI):
            out.append(element("hostdev", {"mode": "subsystem", "type": "pci", "managed": "no"},
                               element("source", {},
                                       element("address", pci_attrs(allocated.address))),
                               alias))
        elif isinstance(allocated, HostDeviceMdev):
            on = display is not None and display.enabled
            ramfb = on and (display.ram_fb.enabled if display.ram_fb.HasField("enabled") else True)
            out.append(element("hostdev", {"mode": "subsystem", "type": "mdev", "managed": "no",
                                           "model": "vfio-pci", "display": "on" if on else "off",
                                           "ramfb": "on" if ramfb else None},
                               element("source", {}, element("address", {"uuid": allocated.uuid})),
                               alias))
    return out


def watchdog(vmi: vmi_pb2.VirtualMachineInstance, causes: Causes) -> ET.Element | None:
    devices = vmi.spec.domain.devices
    if not devices.HasField("watchdog"):
        return None
    where = f"{DEV}.watchdog"
    if not devices.watchdog.HasField("i6300esb"):
        causes.required(f"{where}.i6300esb", "a watchdog needs a model; use i6300esb")
        return None
    action = devices.watchdog.i6300esb.action or "reset"
    if action not in WATCHDOG_ACTIONS:
        causes.invalid(f"{where}.i6300esb.action", f"action \"{action}\" is not one of: "
                       f"{', '.join(WATCHDOG_ACTIONS)}")
        return None
    return element("watchdog", {"model": "i6300esb", "action": action},
                   element("alias", {"name": f"ua-{devices.watchdog.name}"})
                   if devices.watchdog.name else None)


def memballoon(vmi: vmi_pb2.VirtualMachineInstance, ctx: DomainContext) -> ET.Element:
    if not _attached(vmi.spec.domain.devices, "autoattach_mem_balloon"):
        return element("memballoon", {"model": "none"})
    # Free page reporting hands freed pages back to the host; not with hugepages (KubeVirt).
    reporting = not vmi.spec.domain.memory.HasField("hugepages")
    return element("memballoon", {"model": virtio_model(vmi),
                                  "freePageReporting": "on" if reporting else "off"},
                   element("stats", {"period": ctx.memballoon_stats_period})
                   if ctx.memballoon_stats_period else None)


def rng(vmi: vmi_pb2.VirtualMachineInstance) -> ET.Element | None:
    if not vmi.spec.domain.devices.HasField("rng"):
        return None
    return element("rng", {"model": virtio_model(vmi)},
                   element("backend", {"model": "random"}, text="/dev/urandom"))


def controllers(vmi: vmi_pb2.VirtualMachineInstance, plan: DiskPlan, usb: bool,
                virtio_serial: bool) -> list[ET.Element]:
    """USB (none unless needed), virtio-serial for channels, virtio-scsi for SCSI disks."""
    model = virtio_model(vmi)
    return [
        element("controller", {"type": "usb", "index": 0,
                               "model": "qemu-xhci" if usb else "none"}),
        element("controller", {"type": "scsi", "index": 0, "model": model})
        if plan.needs_scsi else None,
        element("controller", {"type": "virtio-serial", "index": 0, "model": model})
        if virtio_serial else None,
    ]


def unsupported(vmi: vmi_pb2.VirtualMachineInstance, causes: Causes) -> None:
    """Devices the API models that this launcher cannot give a guest (yet)."""
    devices = vmi.spec.domain.devices
    for i, fs in enumerate(devices.filesystems):
        causes.unsupported(f"{DEV}.filesystems[{i}]", "virtiofs filesystems are not supported; "
                           "attach the volume as a disk")
    if devices.HasField("tpm") and (not devices.tpm.HasField("enabled") or devices.tpm.enabled):
        causes.unsupported(f"{DEV}.tpm", "a TPM is not supported (the node has no swtpm); "
                           "remove it or set enabled: false")
    if devices.HasField("client_passthrough"):
        causes.unsupported(f"{DEV}.clientPassthrough",
                           "USB redirection is not supported; remove it")
    if devices.autoattach_vsock:
        causes.unsupported(f"{DEV}.autoattachVSOCK", "VSOCK is not supported; remove it")
