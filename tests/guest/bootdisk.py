"""The guest's bootable disk: one FAT partition with syslinux, as qcow2.

Plain SeaBIOS boots it: syslinux's MBR code chain-loads the active partition,
whose syslinux loads the same kernel and initramfs as direct boot, with the
same command line. Built from files only, with no loop device and no root:
mkfs.vfat formats an image file, mtools copies into it, the mtools-based
`syslinux` installs the boot loader, and the partition table is written here.
Called by build.py only.
"""

from __future__ import annotations

import struct
from pathlib import Path

from tests.guest import hosttools
from tests.guest.errors import ImageAssemblyError, MissingToolError

SECTOR = 512
PARTITION_START = 2048  # sectors: the usual 1 MiB alignment
FAT16_LBA = 0x0E
DISK_SIGNATURE = 0x5649524E  # "VIRN"; fixed so builds are reproducible


def syslinux_config(cmdline: str) -> str:
    """syslinux.cfg: boot straight into the guest, serial console on COM1."""
    return (
        "SERIAL 0 115200\n"
        "DEFAULT virtnode\n"
        "PROMPT 0\n"
        "TIMEOUT 0\n"
        "LABEL virtnode\n"
        "  LINUX /vmlinuz\n"
        "  INITRD /initrd.img\n"
        f"  APPEND {cmdline}\n"
    )


def make_disk(kernel: Path, initrd: Path, cmdline: str, out: Path, work: Path) -> None:
    """Writes a bootable qcow2 disk holding kernel and initrd to `out`."""
    if not hosttools.SYSLINUX_MBR.exists():
        raise MissingToolError(
            f"The test guest build needs {hosttools.SYSLINUX_MBR} (Debian package syslinux-common); "
            "install it with 'apt-get install syslinux-common' or run 'make install' as root"
        )
    payload = kernel.stat().st_size + initrd.stat().st_size
    fat_mib = max(32, -(-(payload + (8 << 20)) // (1 << 20)))
    fat = work / "fat.img"
    with fat.open("wb") as f:
        f.truncate(fat_mib << 20)
    hosttools.run(
        ["mkfs.vfat", "-n", "VIRTNODE", "-i", f"{DISK_SIGNATURE:08X}", "-h", str(PARTITION_START), str(fat)],
        failure="Could not format the guest disk's FAT partition with mkfs.vfat",
        error=ImageAssemblyError,
    )
    config = work / "syslinux.cfg"
    config.write_text(syslinux_config(cmdline))
    for source, name in ((kernel, "vmlinuz"), (initrd, "initrd.img"), (config, "syslinux.cfg")):
        hosttools.run(
            ["mcopy", "-i", str(fat), str(source), f"::/{name}"],
            failure=f"Could not copy {name} onto the guest disk with mcopy",
            error=ImageAssemblyError,
        )
    hosttools.run(
        ["syslinux", "--install", str(fat)],
        failure="Could not install syslinux on the guest disk",
        error=ImageAssemblyError,
    )
    raw = work / "disk.raw"
    fat_sectors = (fat_mib << 20) // SECTOR
    with raw.open("wb") as disk:
        disk.write(master_boot_record(hosttools.SYSLINUX_MBR.read_bytes(), PARTITION_START, fat_sectors))
        disk.seek(PARTITION_START * SECTOR)
        with fat.open("rb") as src:
            while chunk := src.read(1 << 20):
                disk.write(chunk)
    hosttools.run(
        ["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", str(raw), str(out)],
        failure="Could not convert the guest disk to qcow2 with qemu-img",
        error=ImageAssemblyError,
    )
    fat.unlink()
    raw.unlink()


def master_boot_record(boot_code: bytes, start: int, sectors: int) -> bytes:
    """Sector 0: boot code, disk signature and one active partition entry."""
    if len(boot_code) > 440:
        raise ImageAssemblyError(f"The MBR boot code is {len(boot_code)} bytes; at most 440 fit")
    entry = struct.pack(
        "<B3sB3sII", 0x80, _chs(start), FAT16_LBA, _chs(start + sectors - 1), start, sectors
    )
    mbr = bytearray(SECTOR)
    mbr[: len(boot_code)] = boot_code
    struct.pack_into("<I", mbr, 440, DISK_SIGNATURE)
    mbr[446 : 446 + 16] = entry
    mbr[510:512] = b"\x55\xaa"
    return bytes(mbr)


def _chs(lba: int, heads: int = 255, per_track: int = 63) -> bytes:
    """The legacy CHS address of an LBA (capped at 1023/254/63), as the MBR stores it."""
    cylinder, rest = divmod(lba, heads * per_track)
    head, sector = divmod(rest, per_track)
    sector += 1
    if cylinder > 1023:
        cylinder, head, sector = 1023, 254, 63
    return bytes((head, ((cylinder >> 2) & 0xC0) | sector, cylinder & 0xFF))
