"""Disks: spec.domain.devices.disks[] with their volumes' resolved sources -> <disk>.

Owns device naming (vd* for virtio, sd* for sata/scsi/usb, allocated in order per
prefix), the driver settings (format, cache mode with KubeVirt's O_DIRECT rule,
io mode, error policy, discard, I/O threads), boot order, read-only and
serial, and what the disks need from the rest of the domain (a virtio-scsi or
USB controller, a number of I/O threads). Never opens or inspects an image: the
context's DiskSource says where it is and what format it has.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from launcher.domain.addresses import guest_pci_address
from launcher.domain.causes import DEV, DOM, Causes
from launcher.domain.compute import vcpu_count
from launcher.domain.context import DiskSource, DomainContext
from launcher.domain.xmlwriter import append, element
from protos.kubevirt.v1 import schema_pb2, vmi_pb2

DISK_BUSES = ("virtio", "sata", "scsi", "usb")
CDROM_BUSES = ("sata", "scsi")
CACHE_MODES = ("none", "writethrough", "writeback")
IO_MODES = ("native", "threads")
ERROR_POLICIES = ("stop", "ignore", "report", "enospace")
IO_THREADS_POLICIES = ("shared",)
# Volume sources the handler can turn into an image or device (all but downwardMetrics).
DISK_VOLUME_SOURCES = ("container_disk", "cloud_init_no_cloud", "cloud_init_config_drive",
                       "persistent_volume_claim", "data_volume", "empty_disk", "host_disk",
                       "ephemeral", "config_map", "secret", "service_account")


@dataclass
class DiskPlan:
    """The <disk> elements and what they need elsewhere in the domain."""

    disks: list[ET.Element] = field(default_factory=list)
    needs_scsi: bool = False
    needs_usb: bool = False
    iothreads: int = 0


def device_name(prefix: str, index: int) -> str:
    """vda, vdb, ..., vdz, vdaa, ... (index counts from 0)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return prefix + letters


def virtio_model(vmi: vmi_pb2.VirtualMachineInstance) -> str:
    """KubeVirt's virtio device model: non-transitional unless useVirtioTransitional."""
    return ("virtio-transitional" if vmi.spec.domain.devices.use_virtio_transitional
            else "virtio-non-transitional")


def _target(disk: schema_pb2.Disk) -> tuple[str, str, object]:
    """(libvirt device, KubeVirt target field, target message)."""
    if disk.HasField("lun"):
        return "lun", "lun", disk.lun
    if disk.HasField("cdrom"):
        return "cdrom", "cdrom", disk.cdrom
    return "disk", "disk", disk.disk


def _json(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def _volume_kind(volume: schema_pb2.Volume) -> str | None:
    """The volume's source as KubeVirt spells it (containerDisk), if it can back a disk."""
    for name in DISK_VOLUME_SOURCES:
        if volume.HasField(name):
            return _json(name)
    return None


def _io_threads(vmi: vmi_pb2.VirtualMachineInstance, causes: Causes) -> tuple[int, dict[int, int]]:
    """(number of I/O threads, disk index -> thread id) for virtio disks."""
    dom = vmi.spec.domain
    policy = dom.io_threads_policy
    if policy and policy not in IO_THREADS_POLICIES:
        causes.unsupported(f"{DOM}.ioThreadsPolicy", f"ioThreadsPolicy \"{policy}\" is not "
                           "supported; use shared or leave it unset")
        policy = ""
    assigned: dict[int, int] = {}
    next_id = 2 if policy == "shared" else 1
    shared_used = False
    for i, disk in enumerate(dom.devices.disks):
        device, json, target = _target(disk)
        if device == "cdrom" or target.bus != "virtio":
            if disk.dedicated_io_thread:
                causes.invalid(f"{DEV}.disks[{i}].dedicatedIOThread",
                               "a dedicated I/O thread needs bus virtio")
            continue
        if disk.dedicated_io_thread:
            assigned[i] = next_id
            next_id += 1
        elif policy == "shared":
            assigned[i] = 1
            shared_used = True
    count = next_id - 1
    if policy == "shared" and not shared_used:
        count = max(count, 1)
    return count, assigned


def disks(vmi: vmi_pb2.VirtualMachineInstance, ctx: DomainContext, causes: Causes) -> DiskPlan:
    plan = DiskPlan()
    volumes = {v.name: v for v in vmi.spec.volumes}
    counters = {"vd": 0, "sd": 0}
    plan.iothreads, threads = _io_threads(vmi, causes)
    devices = vmi.spec.domain.devices
    queues = vcpu_count(vmi) if devices.block_multi_queue else None
    for i, disk in enumerate(devices.disks):
        where = f"{DEV}.disks[{i}]"
        device, json, target = _target(disk)
        allowed = CDROM_BUSES if device == "cdrom" else DISK_BUSES
        bus = target.bus
        if not bus:
            causes.required(f"{where}.{json}.bus",
                            f"a bus is required; use one of: {', '.join(allowed)}")
            continue
        if bus not in allowed:
            extra = " (KubeVirt dropped IDE)" if bus == "ide" else ""
            causes.unsupported(f"{where}.{json}.bus", f"bus \"{bus}\" is not supported for a "
                               f"{device}{extra}; use one of: {', '.join(allowed)}")
            continue
        source = _source(disk, volumes, ctx, where, causes)
        prefix = "vd" if bus == "virtio" else "sd"
        dev = device_name(prefix, counters[prefix])
        counters[prefix] += 1
        if source is None:
            continue
        plan.needs_scsi |= bus == "scsi"
        plan.needs_usb |= bus == "usb"
        node = _disk(vmi, ctx, disk, i, device, json, target, source, dev, causes)
        if node is None:
            continue
        driver = node.find("driver")
        if bus == "virtio" and i in threads:
            driver.set("iothread", str(threads[i]))
        if bus == "virtio" and queues is not None and device != "cdrom":
            driver.set("queues", str(queues))
        plan.disks.append(node)
    return plan


def _source(disk: schema_pb2.Disk, volumes: dict, ctx: DomainContext, where: str,
            causes: Causes) -> DiskSource | None:
    volume = volumes.get(disk.name)
    if volume is None:
        causes.required(f"{where}.name", f"no volume named \"{disk.name}\"")
        return None
    kind = _volume_kind(volume)
    if kind is None:
        causes.unsupported(f"{where}.name", f"volume \"{disk.name}\" cannot back a disk; "
                           "disks use one of: "
                           f"{', '.join(map(_json, DISK_VOLUME_SOURCES))} volumes")
        return None
    source = ctx.disks.get(disk.name)
    if source is None:
        causes.required(f"{where}.name", f"volume \"{disk.name}\" ({kind}) has no prepared "
                        "image or device on this node")
    return source


def _cache(disk: schema_pb2.Disk, source: DiskSource, ctx: DomainContext, where: str,
           causes: Causes) -> str | None:
    direct = source.direct_io if source.direct_io is not None else ctx.direct_io_supported
    if disk.cache:
        if disk.cache not in CACHE_MODES:
            causes.invalid(f"{where}.cache", f"cache \"{disk.cache}\" is not one of: "
                           f"{', '.join(CACHE_MODES)}")
            return None
        if disk.cache == "none" and not direct:
            causes.invalid(f"{where}.cache", "cache none needs O_DIRECT, which the storage of "
                           "this volume does not support; use writethrough or writeback")
            return None
        return disk.cache
    return "none" if direct else "writethrough"


def _disk(vmi, ctx: DomainContext, disk: schema_pb2.Disk, i: int, device: str, json: str,
          target, source: DiskSource, dev: str, causes: Causes) -> ET.Element | None:
    where = f"{DEV}.disks[{i}]"
    bus = target.bus
    readonly = device == "cdrom" or bool(target.readonly) or source.readonly
    if device == "lun":
        if bus != "scsi":
            causes.unsupported(f"{where}.lun.bus", f"a lun passes SCSI commands through and needs "
                               f"bus scsi, not \"{bus}\"")
            return None
        if source.kind != "block":
            causes.unsupported(f"{where}.lun", f"a lun needs a block volume; volume "
                               f"\"{disk.name}\" is a file")
            return None
        if disk.lun.reservation:
            causes.unsupported(f"{where}.lun.reservation",
                               "SCSI persistent reservations are not supported; remove it")
    if device == "disk" and bus == "sata" and readonly:
        causes.unsupported(f"{where}.disk.readonly" if target.readonly else f"{where}.disk.bus",
                           "a sata hard disk cannot be read-only; use bus virtio or scsi, "
                           "or a cdrom")
        return None
    cache = _cache(disk, source, ctx, where, causes)
    io = disk.io or ("native" if cache == "none" and source.kind == "block" else None)
    if disk.io and disk.io not in IO_MODES:
        causes.invalid(f"{where}.io", f"io \"{disk.io}\" is not one of: {', '.join(IO_MODES)}")
        return None
    if io == "native" and cache not in ("none", None):
        causes.invalid(f"{where}.io", f"io native needs cache none, not \"{cache}\"")
        return None
    policy = disk.error_policy or "stop"
    if policy not in ERROR_POLICIES:
        causes.invalid(f"{where}.errorPolicy", f"errorPolicy \"{policy}\" is not one of: "
                       f"{', '.join(ERROR_POLICIES)}")
        return None
    if cache is None:
        return None
    node = element("disk", {"type": source.kind, "device": device,
                            "model": virtio_model(vmi) if bus == "virtio" else None})
    append(node, [
        element("driver", {"name": "qemu", "type": source.format, "cache": cache,
                           "error_policy": policy, "io": io,
                           "discard": None if readonly else "unmap"}),
        element("source", {"file" if source.kind == "file" else "dev": source.path}),
        element("target", {"dev": dev, "bus": bus,
                           "tray": (disk.cdrom.tray or "closed") if device == "cdrom" else None}),
        _blockio(disk, where, causes),
        element("boot", {"order": disk.boot_order}) if disk.HasField("boot_order") else None,
        element("readonly") if readonly else None,
        element("shareable") if disk.shareable else None,
        element("serial", text=disk.serial) if disk.serial else None,
        element("alias", {"name": f"ua-{disk.name}"}),
        guest_pci_address(disk.disk.pci_address, f"{where}.disk.pciAddress", causes)
        if device == "disk" and bus == "virtio" else None,
    ])
    if device == "disk" and disk.disk.pci_address and bus != "virtio":
        causes.invalid(f"{where}.disk.pciAddress", "a pciAddress needs bus virtio")
    return node


def _blockio(disk: schema_pb2.Disk, where: str, causes: Causes) -> ET.Element | None:
    if not disk.HasField("block_size"):
        return None
    size = disk.block_size
    if size.HasField("match_volume"):
        causes.unsupported(f"{where}.blockSize.matchVolume", "matching the volume's block size "
                           "is not supported; give blockSize.custom")
        return None
    if size.custom.HasField("discard_granularity"):
        causes.unsupported(f"{where}.blockSize.custom.discardGranularity",
                           "discardGranularity is not supported by the node's libvirt; remove it")
    if not size.custom.logical and not size.custom.physical:
        return None
    return element("blockio", {"logical_block_size": size.custom.logical or None,
                               "physical_block_size": size.custom.physical or None})
