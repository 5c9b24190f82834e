"""The pure parts of the test guest build: no apt, no QEMU, milliseconds.

Depends parsing, the MBR and its CHS addresses, module load order, the cpio
writer, syslinux.cfg, NoCloud meta-data and the QEMU command line of
tests.guest.boot.
"""

from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import pytest

from tests.guest import boot, bootdisk, build, debs, initramfs, nocloud


# --- debs -----------------------------------------------------------------------


def test_parse_depends_keeps_the_first_alternative_and_drops_versions_and_arch() -> None:
    field = "libc6 (>= 2.34), libglib2.0-0 (>= 2.56) | libfoo, perl:any, libx [amd64], "
    assert debs.parse_depends(field) == ["libc6", "libglib2.0-0", "perl", "libx"]
    assert debs.parse_depends("") == []


def test_deb_filename_escapes_the_epoch_colon() -> None:
    package = debs.Package("busybox-static", "1:1.35.0-4", "amd64", ())
    assert package.filename == "busybox-static_1%3a1.35.0-4_amd64.deb"


def test_library_packages_are_followed_and_others_not() -> None:
    assert debs.is_library_package("libglib2.0-0")
    assert debs.is_library_package("zlib1g")
    assert not debs.is_library_package("adduser")


# --- bootdisk ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lba", "chs"),
    [
        (0, (0, 1, 0)),  # head 0, sector 1, cylinder 0
        (62, (0, 63, 0)),
        (63, (1, 1, 0)),
        (2048, (32, 33, 0)),  # the usual 1 MiB partition start
        (16065, (0, 1, 1)),  # one full cylinder (255 heads * 63 sectors)
        (1024 * 16065, (254, 0xFF, 0xFF)),  # beyond CHS: capped at 1023/254/63
    ],
)
def test_chs_addresses(lba: int, chs: tuple[int, int, int]) -> None:
    assert tuple(bootdisk._chs(lba)) == chs


def test_chs_high_cylinder_bits_go_into_the_sector_byte() -> None:
    head, sector_byte, cylinder_low = bootdisk._chs(300 * 16065)
    assert (head, sector_byte & 0x3F) == (0, 1)
    assert ((sector_byte & 0xC0) << 2) | cylinder_low == 300


def test_master_boot_record_layout() -> None:
    code = bytes(range(256)) + bytes(100)
    mbr = bootdisk.master_boot_record(code, 2048, 65536)
    assert len(mbr) == 512
    assert mbr[: len(code)] == code
    assert struct.unpack_from("<I", mbr, 440)[0] == bootdisk.DISK_SIGNATURE
    status, _, kind, _, start, sectors = struct.unpack_from("<B3sB3sII", mbr, 446)
    assert (status, kind, start, sectors) == (0x80, bootdisk.FAT16_LBA, 2048, 65536)
    assert mbr[462:510] == bytes(48)  # the other three entries are empty
    assert mbr[510:] == b"\x55\xaa"


def test_master_boot_record_refuses_oversized_boot_code() -> None:
    with pytest.raises(bootdisk.ImageAssemblyError, match="at most 440"):
        bootdisk.master_boot_record(bytes(441), 2048, 100)


def test_syslinux_config_boots_the_same_kernel_and_command_line() -> None:
    config = bootdisk.syslinux_config(build.CMDLINE)
    assert "SERIAL 0 115200" in config
    assert "LINUX /vmlinuz" in config and "INITRD /initrd.img" in config
    assert f"APPEND {build.CMDLINE}\n" in config


# --- initramfs --------------------------------------------------------------------


class FakeModuleTree(initramfs.ModuleTree):
    def __init__(self, deps: dict[str, list[str]], builtin: set[str] = frozenset()) -> None:
        self.deps = deps
        self.files = {name: Path(f"/m/{name}.ko") for name in deps}
        self.builtin = set(builtin)

    def depends(self, name: str) -> list[str]:
        return self.deps[name]


def test_load_order_puts_dependencies_first_once_and_skips_builtins() -> None:
    tree = FakeModuleTree(
        {
            "virtio_net": ["net_failover", "virtio_ring"],
            "net_failover": ["failover"],
            "failover": [],
            "virtio_ring": [],
            "virtio_blk": ["virtio_ring", "virtio"],
            "virtio": [],
        },
        builtin={"virtio"},
    )
    names = [name for name, _ in tree.load_order(["virtio-net", "virtio_blk"])]
    assert names == ["failover", "net_failover", "virtio_ring", "virtio_net", "virtio_blk"]


def test_load_order_names_the_module_that_needs_a_missing_one() -> None:
    tree = FakeModuleTree({"sr_mod": ["cdrom"]})
    with pytest.raises(initramfs.KernelModuleError, match=r"cdrom \(needed by sr_mod\)"):
        tree.load_order(["sr_mod"])


def test_cpio_archive_is_newc_with_parents_and_a_trailer() -> None:
    archive = initramfs.CpioArchive()
    archive.file("etc/acpi/PWRF/00000080", b"#!/bin/sh\n", mode=0o755)
    archive.symlink("bin/sh", "busybox")
    archive.char_device("dev/console", 5, 1)
    data = gzip.decompress(archive.gzipped())
    entries = []
    offset = 0
    while True:
        assert data[offset : offset + 6] == b"070701"
        fields = [int(data[offset + 6 + 8 * i : offset + 14 + 8 * i], 16) for i in range(13)]
        mode, filesize, rdevmajor, rdevminor, namesize = fields[1], fields[6], fields[9], fields[10], fields[11]
        name = data[offset + 110 : offset + 110 + namesize - 1].decode()
        offset += 110 + namesize
        offset += -offset % 4
        body = data[offset : offset + filesize]
        offset += filesize
        offset += -offset % 4
        entries.append((name, mode, body, (rdevmajor, rdevminor)))
        if name == "TRAILER!!!":
            break
    names = [name for name, *_ in entries]
    assert names == ["etc", "etc/acpi", "etc/acpi/PWRF", "etc/acpi/PWRF/00000080", "bin", "bin/sh",
                     "dev", "dev/console", "TRAILER!!!"]
    by_name = {name: (mode, body, rdev) for name, mode, body, rdev in entries}
    assert by_name["etc/acpi/PWRF/00000080"][0] == initramfs.S_IFREG | 0o755
    assert by_name["bin/sh"][1] == b"busybox"
    assert by_name["dev/console"][2] == (5, 1)
    assert offset == len(data)


def test_cpio_archive_is_reproducible() -> None:
    def make() -> bytes:
        archive = initramfs.CpioArchive()
        archive.file("init", b"#!/bin/sh\n", mode=0o755)
        return archive.gzipped()

    assert make() == make()


# --- the guest's recipe ---------------------------------------------------------------


def test_power_button_handler_and_init_agree_on_markers() -> None:
    init = (build.GUEST_DIR / "init.sh").read_text()
    assert "VIRTNODE-POWER-BUTTON" in build.POWER_BUTTON and "poweroff" in build.POWER_BUTTON
    assert "acpid -c /etc/acpi -l " in init  # without -l busybox acpid dies on a missing /var/log
    for marker in ("VIRTNODE-GUEST-READY", "VIRTNODE-SEED", "VIRTNODE-HTTP-READY", "VIRTNODE-AGENT-READY",
                   "VIRTNODE-ACPI-READY", "VIRTNODE-USERDATA-DONE"):
        assert marker in init


def test_modules_cover_every_way_a_seed_is_attached() -> None:
    assert {"virtio_blk", "ata_piix", "ahci", "sr_mod", "isofs", "button", "evdev"} <= set(build.MODULES)


# --- nocloud --------------------------------------------------------------------------


def test_meta_data_names_instance_and_hostname() -> None:
    assert nocloud.meta_data("vm1") == "instance-id: vm1\nlocal-hostname: vm1\n"
    assert nocloud.meta_data("vm1", "i-42").startswith("instance-id: i-42\n")


@pytest.mark.skipif(shutil.which("xorriso") is None, reason="needs xorriso (Debian package xorriso)")
def test_seed_iso_has_volume_id_cidata_and_both_files(tmp_path: Path) -> None:
    seed = nocloud.make_seed(tmp_path / "seed.iso", "vm1", "#!/bin/sh\necho hi\n", network_config="version: 2\n")
    assert nocloud.volume_id(seed) == "cidata"
    data = seed.read_bytes()
    assert b"local-hostname: vm1" in data and b"#!/bin/sh\necho hi" in data and b"version: 2" in data


def test_volume_id_refuses_a_non_iso(tmp_path: Path) -> None:
    path = tmp_path / "not.iso"
    path.write_bytes(bytes(40000))
    with pytest.raises(nocloud.ImageAssemblyError, match="ISO 9660"):
        nocloud.volume_id(path)


# --- boot: the QEMU command line ------------------------------------------------------


def fake_images(tmp_path: Path) -> build.GuestImages:
    return build.GuestImages(
        kernel=tmp_path / "vmlinuz", initrd=tmp_path / "initrd.img", disk=tmp_path / "disk.qcow2",
        cmdline=build.CMDLINE, key="k", kernel_version="6.1", packages={}, cached=True,
    )


@pytest.fixture
def qemu_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    real = shutil.which
    monkeypatch.setattr(boot.shutil, "which", lambda name: "/usr/bin/" + name if name == boot.QEMU else real(name))


def test_qemu_command_line_is_tcg_with_a_local_only_network(tmp_path: Path, qemu_on_path: None) -> None:
    guest = boot.Guest(fake_images(tmp_path), seed=tmp_path / "seed.iso", http=True, agent=True)
    try:
        argv = guest.argv()
    finally:
        shutil.rmtree(guest.workdir)
    joined = " ".join(argv)
    assert argv[argv.index("-accel") + 1] == "tcg" and "kvm" not in joined
    netdev = argv[argv.index("-netdev") + 1]
    assert netdev == f"user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:{guest.http_port}-:80"
    assert f"socket,path={guest.agent_path},server=on,wait=off,id=qga0" in argv
    assert "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0" in argv
    assert argv[argv.index("-append") + 1] == build.CMDLINE
    assert f"file={tmp_path / 'seed.iso'},if=none,id=seed0,format=raw,readonly=on" in argv


def test_qemu_command_line_without_network_has_no_nic(tmp_path: Path, qemu_on_path: None) -> None:
    guest = boot.Guest(fake_images(tmp_path))
    try:
        argv = guest.argv()
    finally:
        shutil.rmtree(guest.workdir)
    assert "-netdev" not in argv and "-nodefaults" in argv
