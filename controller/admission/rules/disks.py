"""Rules on a VMI's disks: names, targets, buses, boot order, driver options.

Owns KubeVirt's ValidateDisks checks and the disk side of the disk <-> volume
mapping (every disk names a volume; the volume side is volumes.py's). Boot
order spans disks and interfaces and lives here. Called with a VMI_SPEC target.
"""

from __future__ import annotations

from collections.abc import Iterator

from controller.admission import syntax
from controller.admission.messages import duplicate, invalid, not_supported, quoted, required
from controller.admission.targets import Target
from controller.admission.unique import repeats
from protos.errors import FieldCause

TARGETS = (("disk", "disk"), ("lun", "lun"), ("cdrom", "cdrom"))
DISK_BUSES = ("virtio", "sata", "scsi", "usb")
CDROM_BUSES = ("sata", "scsi")
CACHE_MODES = ("none", "writethrough", "writeback")
IO_MODES = ("native", "threads")
ERROR_POLICIES = ("stop", "ignore", "report", "enospace")
TRAY_STATES = ("open", "closed")


def _disks(t: Target):
    return t.msg.domain.devices.disks


def _path(t: Target, i: int, rel: str = "") -> str:
    return t.at(f"domain.devices.disks[{i}]" + (f".{rel}" if rel else ""))


def _targets_set(disk) -> list[str]:
    return [json for field, json in TARGETS if disk.HasField(field)]


def name_required(t: Target) -> Iterator[FieldCause]:
    for i, disk in enumerate(_disks(t)):
        if not disk.name:
            yield required(_path(t, i, "name"), "every disk needs a name matching a volume's name")


def name_duplicate(t: Target) -> Iterator[FieldCause]:
    for name, first, i in repeats((disk.name, i) for i, disk in enumerate(_disks(t))):
        yield duplicate(_path(t, i, "name"), f"disks[{first}] and disks[{i}] must not have the same "
                                             f"name {quoted(name)}; disk names must be unique")


def target_count(t: Target) -> Iterator[FieldCause]:
    for i, disk in enumerate(_disks(t)):
        found = _targets_set(disk)
        if len(found) > 1:
            yield invalid(_path(t, i), f"more than one target set ({', '.join(found)}); a disk "
                                       f"has exactly one of: disk, lun, cdrom")


def bus_value(t: Target) -> Iterator[FieldCause]:
    for i, disk in enumerate(_disks(t)):
        for field, json in (("disk", "disk"), ("lun", "lun")):
            target = getattr(disk, field)
            if disk.HasField(field) and target.HasField("bus") and target.bus not in DISK_BUSES:
                what = "a disk" if field == "disk" else "a LUN"
                note = " (KubeVirt dropped IDE)" if target.bus == "ide" else ""
                yield FieldCause(_path(t, i, f"{json}.bus"),
                                 f'bus "{target.bus}" is not supported for {what}{note}; use one '
                                 f'of: {", ".join(DISK_BUSES)}', "FieldValueNotSupported")


def cdrom_bus_value(t: Target) -> Iterator[FieldCause]:
    for i, disk in enumerate(_disks(t)):
        if disk.HasField("cdrom") and disk.cdrom.HasField("bus") and disk.cdrom.bus not in CDROM_BUSES:
            yield FieldCause(_path(t, i, "cdrom.bus"),
                             f'bus "{disk.cdrom.bus}" is not supported for a CD-ROM; use one of: '
                             f'{", ".join(CDROM_BUSES)}', "FieldValueNotSupported")


def readonly_bus(t: Target) -> Iterator[FieldCause]:
    for i, disk in enumerate(_disks(t)):
        if disk.HasField("disk") and disk.disk.readonly and disk.disk.bus == "sata":
            yield invalid(_path(t, i, "disk.readonly"),
                          "sata hard disks cannot be read-only; use bus virtio, scsi or usb, or "
                          "a cdrom target")


def pci_address_bus(t: Target) -> Iterator[FieldCause]:
    for i, disk in enumerate(_disks(t)):
        if disk.HasField("disk") and disk.disk.pci_address and disk.disk.bus not in ("virtio", ""):
            yield invalid(_path(t, i, "disk.pciAddress"),
                          f"a PCI address can only be set on a virtio disk, not bus "
                          f"{quoted(disk.disk.bus)}; use bus virtio or drop pciAddress")


def boot_order_minimum(t: Target) -> Iterator[FieldCause]:
    devices = t.msg.domain.devices
    for i, disk in enumerate(devices.disks):
        if disk.HasField("boot_order") and disk.boot_order < 1:
            yield invalid(_path(t, i, "bootOrder"), "bootOrder must be 1 or more when set "
                                                    "(1 boots first); leave it unset to not boot")
    for i, iface in enumerate(devices.interfaces):
        if iface.HasField("boot_order") and iface.boot_order < 1:
            yield invalid(t.at(f"domain.devices.interfaces[{i}].bootOrder"),
                          "bootOrder must be 1 or more when set (1 boots first); leave it unset "
                          "to not boot")


def boot_order_duplicate(t: Target) -> Iterator[FieldCause]:
    devices = t.msg.domain.devices
    items = [(d, f"disks[{i}]") for i, d in enumerate(devices.disks)]
    items += [(n, f"interfaces[{i}]") for i, n in enumerate(devices.interfaces)]
    orders = ((dev.boot_order if dev.HasField("boot_order") and dev.boot_order >= 1 else None, where)
              for dev, where in items)
    for order, first, where in repeats(orders):
        yield duplicate(t.at(f"domain.devices.{where}.bootOrder"),
                        f"bootOrder {order} is already used by {first}; every disk and "
                        f"interface needs a different boot order")


def volume_missing(t: Target) -> Iterator[FieldCause]:
    volumes = {v.name for v in t.msg.volumes}
    for i, disk in enumerate(_disks(t)):
        if disk.name and disk.name not in volumes:
            yield invalid(_path(t, i, "name"),
                          f"disk {quoted(disk.name)} has no volume; add a volume named {quoted(disk.name)} "
                          f"to spec volumes (disks and volumes are matched by name)")


def cache_value(t: Target) -> Iterator[FieldCause]:
    for i, disk in enumerate(_disks(t)):
        if disk.HasField("cache") and disk.cache not in CACHE_MODES:
            yield not_supported(_path(t, i, "cache"), "cache mode", disk.cache, CACHE_MODES)


def io_value(t: Target) -> Iterator[FieldCause]:
    for i, disk in enumerate(_disks(t)):
        if disk.HasField("io") and disk.io not in IO_MODES:
            yield not_supported(_path(t, i, "io"), "io mode", disk.io, IO_MODES)


def error_policy_value(t: Target) -> Iterator[FieldCause]:
    for i, disk in enumerate(_disks(t)):
        if disk.HasField("error_policy") and disk.error_policy not in ERROR_POLICIES:
            yield not_supported(_path(t, i, "errorPolicy"), "errorPolicy", disk.error_policy,
                                ERROR_POLICIES)


def serial_format(t: Target) -> Iterator[FieldCause]:
    for i, disk in enumerate(_disks(t)):
        if disk.HasField("serial"):
            problem = syntax.serial(disk.serial)
            if problem:
                yield invalid(_path(t, i, "serial"), problem)


def io_thread_bus(t: Target) -> Iterator[FieldCause]:
    for i, disk in enumerate(_disks(t)):
        if not disk.dedicated_io_thread:
            continue
        buses = [getattr(disk, f).bus for f, _ in TARGETS if disk.HasField(f)]
        if any(bus and bus != "virtio" for bus in buses):
            yield invalid(_path(t, i, "dedicatedIOThread"),
                          f"dedicated IOThreads are only supported on the virtio bus, not "
                          f"{quoted(buses[0])}; use bus virtio or drop dedicatedIOThread")


def lun_volume_source(t: Target) -> Iterator[FieldCause]:
    volumes = {v.name: v for v in t.msg.volumes}
    for i, disk in enumerate(_disks(t)):
        vol = volumes.get(disk.name)
        if disk.HasField("lun") and vol is not None and not (
                vol.HasField("persistent_volume_claim") or vol.HasField("data_volume")):
            yield invalid(_path(t, i, "lun"),
                          f"a LUN needs a block volume; volume {quoted(disk.name)} must be a "
                          f"persistentVolumeClaim or dataVolume")


def block_size(t: Target) -> Iterator[FieldCause]:
    for i, disk in enumerate(_disks(t)):
        custom = disk.block_size.custom
        if not disk.block_size.HasField("custom"):
            continue
        path = _path(t, i, "blockSize.custom")
        for name in ("logical", "physical"):
            size = getattr(custom, name)
            if size < 512 or size > 2 * 1024 * 1024 or size & (size - 1):
                yield invalid(f"{path}.{name}", f"{name} block size {size} is not valid; use a "
                                                f"power of 2 from 512 to 2097152 bytes")
        if custom.logical > custom.physical:
            yield invalid(f"{path}.logical", f"logical block size {custom.logical} is larger "
                                             f"than physical {custom.physical}; it must be at "
                                             f"most the physical size")


def cdrom_tray_value(t: Target) -> Iterator[FieldCause]:
    for i, disk in enumerate(_disks(t)):
        if disk.HasField("cdrom") and disk.cdrom.HasField("tray") and disk.cdrom.tray not in TRAY_STATES:
            yield not_supported(_path(t, i, "cdrom.tray"), "tray", disk.cdrom.tray, TRAY_STATES)
