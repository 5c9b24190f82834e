"""What the node and the launcher tell the conversion: resolved paths, sockets, devices.

Owns DomainContext and the small records in it. The VMI says what the guest
should look like; the context says where things are on this node (disk images,
tap devices, sockets, firmware files, allocated host devices) and how the node
runs guests (KVM or TCG, O_DIRECT support). The handler and the launcher fill
it in; the conversion only reads it. Never touches the filesystem: a path here
is trusted to exist, and nothing here opens it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["DomainContext", "DiskSource", "PreparedInterface", "KernelBootFiles",
           "FirmwareFiles", "HostDevicePCI", "HostDeviceMdev", "PCI_ADDRESS"]

# dddd:bb:ss.f, as sysfs names PCI devices (and as KubeVirt's pciAddress fields are written).
PCI_ADDRESS = re.compile(r"^([0-9a-fA-F]{4}):([0-9a-fA-F]{2}):([0-1][0-9a-fA-F])\.([0-7])$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class DiskSource:
    """A volume resolved on the node: the image or device QEMU opens for it.

    `direct_io` says whether O_DIRECT works where the image lives; None means the
    context's `direct_io_supported` decides. It picks the default cache mode.
    """

    path: str
    format: Literal["raw", "qcow2"] = "raw"
    kind: Literal["file", "block"] = "file"
    readonly: bool = False
    direct_io: bool | None = None

    def __post_init__(self) -> None:
        if self.format not in ("raw", "qcow2"):
            raise ValueError(f"DiskSource format {self.format!r} is not raw or qcow2")
        if self.kind not in ("file", "block"):
            raise ValueError(f"DiskSource kind {self.kind!r} is not file or block")


@dataclass(frozen=True)
class PreparedInterface:
    """A tap device the handler made for the VMI interface `name` (same name as in the spec).

    `mac` is the MAC the handler planned for the guest (used when the spec sets none).
    """

    name: str
    tap: str
    mac: str = ""


@dataclass(frozen=True)
class KernelBootFiles:
    """The kernel and initrd of spec.domain.firmware.kernelBoot, extracted on the node."""

    kernel: str | None = None
    initrd: str | None = None


@dataclass(frozen=True)
class FirmwareFiles:
    """OVMF files on the node (Debian's ovmf package) and this VM's own NVRAM file.

    `code`/`vars_template` boot without secure boot; `secure_code` and
    `secure_vars_template` (keys enrolled) are used when secure boot is on.
    """

    code: str
    vars_template: str
    nvram: str
    secure_code: str | None = None
    secure_vars_template: str | None = None


@dataclass(frozen=True)
class HostDevicePCI:
    """A PCI device (vfio-pci bound) the handler allocated to a gpu/hostDevice entry."""

    address: str

    def __post_init__(self) -> None:
        if not PCI_ADDRESS.match(self.address):
            raise ValueError(f"PCI address {self.address!r} is not dddd:bb:ss.f")


@dataclass(frozen=True)
class HostDeviceMdev:
    """A mediated device (vGPU) the handler created for a gpu/hostDevice entry."""

    uuid: str

    def __post_init__(self) -> None:
        if not _UUID.match(self.uuid):
            raise ValueError(f"mdev UUID {self.uuid!r} is not a lower-case canonical UUID")


@dataclass(frozen=True)
class DomainContext:
    """Node- and launcher-derived inputs of the VMI -> domain conversion."""

    accelerator: Literal["kvm", "tcg"]
    serial_socket: str
    uid: str
    vnc_socket: str | None = None
    agent_socket: str | None = None
    disks: Mapping[str, DiskSource] = field(default_factory=dict)
    interfaces: Sequence[PreparedInterface] = ()
    kernel_boot: KernelBootFiles | None = None
    firmware_files: FirmwareFiles | None = None
    host_devices: Mapping[str, HostDevicePCI | HostDeviceMdev] = field(default_factory=dict)
    memballoon_stats_period: int = 10
    shared_memory_file: str | None = None
    emulator: str = "/usr/bin/qemu-system-x86_64"
    smbios: Mapping[str, str] = field(default_factory=dict)
    direct_io_supported: bool = True

    def __post_init__(self) -> None:
        if self.accelerator not in ("kvm", "tcg"):
            raise ValueError(f"accelerator {self.accelerator!r} is not kvm or tcg")
        unknown = set(self.smbios) - {"manufacturer", "product", "family", "sku", "version"}
        if unknown:
            raise ValueError(f"smbios keys {sorted(unknown)} are not manufacturer, product, "
                             "family, sku or version")
        if self.memballoon_stats_period < 0:
            raise ValueError("memballoon_stats_period is negative")

    def interface(self, name: str) -> PreparedInterface | None:
        """The prepared tap of the VMI interface `name`, if the handler made one."""
        for prepared in self.interfaces:
            if prepared.name == name:
                return prepared
        return None
