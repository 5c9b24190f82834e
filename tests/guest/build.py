"""Builds the virtnode test guest from Debian packages, cached.

Run as `python tests/guest/build.py` (make install does), or call `build()`
from tests and tools. The guest is the Debian kernel, busybox-static and
qemu-guest-agent with the libraries it needs, all taken from .debs that
`apt-get download` fetches and `dpkg-deb -x` unpacks; nothing is installed on
the host. Outputs, under `<repo>/.cache/guest/<key>/`:

    vmlinuz        the kernel, for direct boot (-kernel)
    initrd.img     gzip cpio initramfs: /init (init.sh), busybox, modules, qemu-ga
    disk.qcow2     a disk SeaBIOS boots: syslinux loading the same kernel/initrd
    manifest.json  the key, package versions, kernel command line, modules

`key` hashes the recipe (the files of tests/guest that shape the image) and the
package versions; a second build with the same recipe is a no-op. See docs/guest.md.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `tests.guest` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.guest import bootdisk, debs, initramfs  # noqa: E402
from tests.guest.errors import GuestBuildError  # noqa: E402

GUEST_DIR = Path(__file__).resolve().parent
REPO_ROOT = GUEST_DIR.parents[1]
DEFAULT_CACHE_DIR = REPO_ROOT / ".cache" / "guest"

# The files whose content decides what the images contain.
RECIPE_FILES = ("build.py", "debs.py", "initramfs.py", "bootdisk.py", "init.sh", "udhcpc.sh")

KERNEL_METAPACKAGE = "linux-image-amd64"
PACKAGES = ("busybox-static", "qemu-guest-agent")

# Loaded by init in dependency order (their dependencies are added and ordered
# from each module's modinfo); built-in ones are skipped.
MODULES = (
    "virtio_pci",  # virtio transport on PCI (q35, i440fx)
    "virtio_net",  # eth0 (pulls net_failover, failover)
    "virtio_blk",  # virtio disks: the boot disk, a seed attached as a disk
    "virtio_scsi",
    "virtio_console",  # virtio-serial ports: the guest agent's channel
    "virtio_rng",
    "virtio_balloon",
    "ahci",  # q35's SATA controller: cdroms (a seed as cdrom) and ide disks
    "ata_piix",  # the pc (i440fx) machine's IDE controller: -cdrom there
    "sr_mod",  # SCSI/SATA cdroms (pulls cdrom, scsi_mod)
    "sd_mod",  # SCSI/SATA disks
    "isofs",  # the seed ISO
    "vfat",  # the boot disk's partition; seeds written as FAT
    "nls_cp437",
    "nls_ascii",
    "evdev",  # /dev/input/event*: acpid reads the power button there
    "button",  # ACPI power button
)

CMDLINE = "console=ttyS0,115200 panic=-1"

OS_RELEASE = (
    'PRETTY_NAME="virtnode test guest"\nNAME="virtnode-guest"\nID=virtnode-guest\n'
    'ID_LIKE=debian\nVERSION_ID="1"\n'
)
INITTAB = (
    "::respawn:/bin/cttyhack /bin/sh -l\n"
    "::ctrlaltdel:/sbin/reboot\n"
    "::shutdown:/bin/sync\n"
)
POWER_BUTTON = "#!/bin/sh\necho 'VIRTNODE-POWER-BUTTON' >/dev/console\npoweroff\n"


@dataclass(frozen=True)
class GuestImages:
    """The built guest: what a test or launcher needs to boot it."""

    kernel: Path
    initrd: Path
    disk: Path
    cmdline: str
    key: str
    kernel_version: str
    packages: dict[str, str]
    cached: bool

    @classmethod
    def load(cls, folder: Path, cached: bool) -> GuestImages:
        manifest = json.loads((folder / "manifest.json").read_text())
        return cls(
            kernel=folder / "vmlinuz",
            initrd=folder / "initrd.img",
            disk=folder / "disk.qcow2",
            cmdline=manifest["cmdline"],
            key=manifest["key"],
            kernel_version=manifest["kernel_version"],
            packages=manifest["packages"],
            cached=cached,
        )


def log_line(message: str) -> None:
    print(message, flush=True)


def build(
    cache_dir: Path | str | None = None,
    *,
    force: bool = False,
    log: Callable[[str], None] = log_line,
) -> GuestImages:
    """The guest images, built now or taken from the cache.

    A cache hit needs no apt call: the last build recorded which images the
    current recipe files and apt package lists resolve to."""
    started = time.monotonic()
    cache = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
    quick_key = _quick_key()
    if not force:
        hit = _lookup(cache, quick_key)
        if hit is not None:
            log(f"guest: using cached images {hit.key} in {cache} ({time.monotonic() - started:.2f} s)")
            return hit
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another build of the same cache finishes first
        if not force and (hit := _lookup(cache, quick_key)) is not None:
            log(f"guest: using cached images {hit.key} in {cache}")
            return hit
        log("guest: resolving Debian packages")
        packages = _resolve()
        key = _recipe_key(packages)
        folder = cache / key
        if not force and (folder / "manifest.json").exists():
            _remember(cache, quick_key, key)
            log(f"guest: using cached images {key} in {cache} (package versions unchanged)")
            return GuestImages.load(folder, cached=True)
        images = _build(cache, key, packages, log)
        _remember(cache, quick_key, key)
        _prune(cache, keep=key, packages=packages.values())
        log(f"guest: built {key} in {time.monotonic() - started:.1f} s: {folder}")
        return images


def _quick_key() -> str:
    digest = hashlib.sha256()
    for name in RECIPE_FILES:
        digest.update(name.encode() + b"\0" + (GUEST_DIR / name).read_bytes())
    digest.update(debs.index_fingerprint().encode())
    return digest.hexdigest()


def _lookup(cache: Path, quick_key: str) -> GuestImages | None:
    try:
        index = json.loads((cache / "index.json").read_text())
        folder = cache / index[quick_key]
        return GuestImages.load(folder, cached=True) if _complete(folder) else None
    except (OSError, ValueError, KeyError):
        return None


def _complete(folder: Path) -> bool:
    return all((folder / name).exists() for name in ("manifest.json", "vmlinuz", "initrd.img", "disk.qcow2"))


def _remember(cache: Path, quick_key: str, key: str) -> None:
    _write_atomic(cache / "index.json", json.dumps({quick_key: key}, indent=1).encode())


def _resolve() -> dict[str, debs.Package]:
    kernel = debs.resolve_kernel(KERNEL_METAPACKAGE)
    packages = debs.resolve_closure(PACKAGES, follow=debs.is_library_package)
    packages[kernel.name] = kernel
    return packages


def _recipe_key(packages: dict[str, debs.Package]) -> str:
    digest = hashlib.sha256()
    for name in RECIPE_FILES:
        digest.update(name.encode() + b"\0" + (GUEST_DIR / name).read_bytes())
    for package in sorted(packages.values(), key=lambda p: p.name):
        digest.update(f"{package.name}={package.version}\n".encode())
    return digest.hexdigest()[:16]


def _build(cache: Path, key: str, packages: dict[str, debs.Package], log: Callable[[str], None]) -> GuestImages:
    debs_dir = cache / "debs"
    files = debs.download(packages.values(), debs_dir, log)
    work = cache / f".work-{key}"
    shutil.rmtree(work, ignore_errors=True)
    root = work / "root"
    root.mkdir(parents=True)
    try:
        log(f"guest: unpacking {len(files)} packages")
        for name in sorted(files):
            debs.unpack(files[name], root)
        kernel_package = next(p for p in packages.values() if p.name.startswith("linux-image-"))
        kernel_version = kernel_package.name.removeprefix("linux-image-")
        out = work / "out"
        out.mkdir()
        shutil.copyfile(root / "boot" / f"vmlinuz-{kernel_version}", out / "vmlinuz")

        log("guest: building initramfs")
        modules = initramfs.ModuleTree(root, kernel_version).load_order(MODULES)
        agent = root / "usr" / "sbin" / "qemu-ga"
        libraries = initramfs.resolve_libraries(agent, root)
        (out / "initrd.img").write_bytes(_initramfs(root, modules, agent, libraries))
        log(f"guest: initramfs has {len(modules)} modules, {len(libraries)} libraries")

        log("guest: building bootable disk")
        bootdisk.make_disk(out / "vmlinuz", out / "initrd.img", CMDLINE, out / "disk.qcow2", work)

        manifest = {
            "key": key,
            "kernel_version": kernel_version,
            "cmdline": CMDLINE,
            "packages": {p.name: p.version for p in sorted(packages.values(), key=lambda p: p.name)},
            "modules": [name for name, _ in modules],
            "libraries": sorted(libraries),
        }
        (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        folder = cache / key
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(out, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return GuestImages.load(folder, cached=False)


def _initramfs(
    root: Path,
    modules: list[tuple[str, Path]],
    agent: Path,
    libraries: dict[str, Path],
) -> bytes:
    cpio = initramfs.CpioArchive()
    for folder in ("dev", "proc", "sys", "run", "tmp", "root", "etc", "bin", "sbin", "usr/bin", "usr/sbin", "var/www", "mnt/seed"):
        cpio.directory(folder)
    cpio.char_device("dev/console", 5, 1)
    cpio.char_device("dev/null", 1, 3, mode=0o666)
    cpio.file("init", (GUEST_DIR / "init.sh").read_bytes(), mode=0o755)
    cpio.file("bin/busybox", (root / "bin" / "busybox").read_bytes(), mode=0o755)
    cpio.symlink("bin/sh", "busybox")
    cpio.file("etc/udhcpc.sh", (GUEST_DIR / "udhcpc.sh").read_bytes(), mode=0o755)
    cpio.file("etc/inittab", INITTAB.encode())
    cpio.file("etc/os-release", OS_RELEASE.encode())
    cpio.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    cpio.file("etc/group", b"root:x:0:\n")
    cpio.file("etc/acpi/PWRF/00000080", POWER_BUTTON.encode(), mode=0o755)
    for name, path in modules:
        cpio.file(f"lib/modules/{name}.ko", path.read_bytes())
    cpio.file("lib/modules/load-order", "".join(f"{name}\n" for name, _ in modules).encode())
    cpio.file("usr/sbin/qemu-ga", agent.read_bytes(), mode=0o755)
    for soname, path in sorted(libraries.items()):
        target = soname if soname.startswith("/") else f"/lib/x86_64-linux-gnu/{soname}"
        cpio.file(target, path.read_bytes(), mode=0o755)
    return cpio.gzipped()


def _prune(cache: Path, keep: str, packages) -> None:
    for entry in cache.iterdir():
        if entry.is_dir() and entry.name not in (keep, "debs") and not entry.name.startswith("."):
            shutil.rmtree(entry, ignore_errors=True)
    debs.prune(cache / "debs", packages)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the virtnode test guest (cached).")
    parser.add_argument("--cache-dir", type=Path, default=None, help=f"default: {DEFAULT_CACHE_DIR}")
    parser.add_argument("--force", action="store_true", help="rebuild even when the cache is current")
    args = parser.parse_args(argv)
    try:
        build(args.cache_dir, force=args.force)
    except GuestBuildError as exc:
        print(f"guest: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
