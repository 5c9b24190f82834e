"""A VMI's volumes made real on the node: one image file per volume, for the launcher's Sync.

Owns `prepare_volumes`: for each entry of spec.volumes it creates (or finds,
after a handler restart) the file QEMU opens, in the VMI's own directory, and
returns the DiskSource the launcher's SyncOptions.disks wants:

    containerDisk         <vm_dir>/<volume>.qcow2  qcow2 overlay on the image's disk (never written)
    cloudInitNoCloud      <vm_dir>/<volume>.iso    ISO, volume id cidata, read-only
    cloudInitConfigDrive  <vm_dir>/<volume>.iso    ISO, volume id config-2, read-only
    emptyDisk             <vm_dir>/<volume>.qcow2  sparse qcow2 of `capacity`

Files belong to the VM's user (the uid QEMU runs as), mode 0600 (0400 for the
ISOs). Every volume is checked before any file is made; each file is made under
a temporary name and renamed into place, so a failure leaves nothing half-made;
and a file that exists is reused as it is: a second call never recreates an
overlay or a disk the guest has written to. See docs/storage.md.
Called by the handler's VMI loop before it syncs the launcher. Never writes
into an image directory and never follows a symlink a tenant could have placed
(handler/storage/beneath.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from handler.errors import UnsafePathError, UnsupportedVolumeError, VolumeError
from handler.storage import cloudinit, iso, qemuimg
from handler.storage.images import ImageStore
from handler.storage.qemuimg import Owner
from protos import quantity
from protos.kubevirt.v1 import schema_pb2, vmi_pb2, volume_sources
from protos.launcher.v1 import cmd_pb2

log = logging.getLogger(__name__)

# Volume sources this node prepares, as KubeVirt spells them.
SUPPORTED = ("containerDisk", "cloudInitNoCloud", "cloudInitConfigDrive", "emptyDisk")
# Every source the API model knows: (proto field, KubeVirt's name).
SOURCES = volume_sources()
BASE_FORMATS = ("qcow2", "raw")
DIR_MODE = 0o711        # QEMU's user traverses it to its files; only root lists or writes it
DISK_MODE = 0o600
ISO_MODE = 0o400
_VOLUME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$")
_STAGING = re.compile(r"^\..+\.tmp-\d+$")


def prepare_volumes(vmi: vmi_pb2.VirtualMachineInstance, vm_dir: Path, store: ImageStore,
                    owner_uid: int, owner_gid: int,
                    secrets: Callable[[str, str], dict] | None = None) -> dict[str, cmd_pb2.DiskSource]:
    """Volume name -> DiskSource for every volume of `vmi`, made in `vm_dir` (created if missing).

    `secrets(namespace, name)` returns a Secret as the API does (`{"data": {key: base64}}`)
    or raises handler.errors.NotFoundError; without it, secretRef sources are refused.
    Every volume is checked (sources, images, cloud-init data, capacities) before any
    file is made, so a VMI with a bad volume leaves nothing behind; a VolumeError names
    the field of the first problem."""
    owner = Owner(owner_uid, owner_gid)
    vm_dir = Path(vm_dir)
    plans: list[tuple[str, Callable[[], cmd_pb2.DiskSource]]] = []
    for i, volume in enumerate(vmi.spec.volumes):
        kind = _kind(volume, i)
        where = f"spec.volumes[{i}].{kind}"
        if kind == "containerDisk":
            make = _container_disk(volume, where, vm_dir, store, owner)
        elif kind == "emptyDisk":
            make = _empty_disk(volume, where, vm_dir, owner)
        else:
            make = _cloud_init(vmi, volume, kind, where, vm_dir, owner, secrets)
        plans.append((volume.name, make))
    vm_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(vm_dir, DIR_MODE)
    _remove_staging_leftovers(vm_dir)
    return {name: make() for name, make in plans}


def _kind(volume: schema_pb2.Volume, i: int) -> str:
    where = f"spec.volumes[{i}]"
    if not _VOLUME_NAME.match(volume.name):
        raise VolumeError(f"{where}.name", f"volume name {volume.name!r} cannot name a file on "
                                           "the node; use letters, digits, '-', '_' and '.', "
                                           "starting with a letter or digit")
    for field, name in SOURCES:
        if volume.HasField(field):
            if name in SUPPORTED:
                return name
            raise UnsupportedVolumeError(f"{where}.{name}", f"{name} volumes are not supported "
                                                            "on this node yet; supported sources: "
                                                            f"{', '.join(SUPPORTED)}")
    raise VolumeError(where, f"volume {volume.name!r} has no source; set one of: "
                             f"{', '.join(SUPPORTED)}")


# -- the sources: each checks its input now and returns what makes (or finds) its file --------

Make = Callable[[], cmd_pb2.DiskSource]


def _container_disk(volume, where: str, vm_dir: Path, store: ImageStore, owner: Owner) -> Make:
    source = volume.container_disk
    base = store.container_disk(source, where)
    field = f"{where}.path" if source.path else f"{where}.image"
    probed = qemuimg.info(base.path, field, owner)
    if probed.format not in BASE_FORMATS:
        raise VolumeError(field, f"{base.path} in image {source.image!r} is a {probed.format} "
                                 f"image; a containerDisk holds one of: {', '.join(BASE_FORMATS)}")
    if probed.backing or probed.data_file:
        outside = probed.backing or probed.data_file
        raise UnsafePathError(field, f"{base.path} in image {source.image!r} refers to another "
                                     f"file ({outside}); a containerDisk must be self-contained")
    overlay = vm_dir / f"{volume.name}.qcow2"

    def make() -> cmd_pb2.DiskSource:
        if not base.still_same():
            raise UnsafePathError(field, f"{base.path} changed while the node inspected it")
        if _exists(overlay, field):
            _check_overlay(overlay, base.path, probed.format, field, owner)
        else:
            with _staged(overlay, owner, DISK_MODE) as tmp:
                qemuimg.create_overlay(tmp, base.path, probed.format, probed.virtual_size, field,
                                       owner)
            log.info("volume %s: overlay %s on %s (%s)", volume.name, overlay, base.path,
                     probed.format)
        return cmd_pb2.DiskSource(path=str(overlay), format="qcow2", kind="file", readonly=False)

    return make


def _check_overlay(overlay: Path, base: Path, base_format: str, field: str, owner: Owner) -> None:
    found = qemuimg.info(overlay, field, owner)
    if found.format != "qcow2" or found.backing != str(base) or found.backing_format != base_format:
        raise VolumeError(field, f"{overlay} exists but is not an overlay on {base} "
                                 f"({found.format}, backing {found.backing or 'none'}); the node "
                                 "does not replace a disk the guest may have written, remove it "
                                 "by hand if it is stale")


def _empty_disk(volume, where: str, vm_dir: Path, owner: Owner) -> Make:
    field = f"{where}.capacity"
    if not volume.empty_disk.HasField("capacity"):
        raise VolumeError(field, "an emptyDisk needs a capacity, like 10Gi")
    try:
        size = quantity.to_bytes(volume.empty_disk.capacity)
    except quantity.QuantityError as e:
        raise VolumeError(field, str(e)) from None
    if size <= 0:
        raise VolumeError(field, f"capacity {volume.empty_disk.capacity.value!r} is not positive; "
                                 "use a size greater than 0, like 10Gi")
    disk = vm_dir / f"{volume.name}.qcow2"

    def make() -> cmd_pb2.DiskSource:
        if not _exists(disk, field):
            with _staged(disk, owner, DISK_MODE) as tmp:
                qemuimg.create_empty(tmp, size, field, owner)
            log.info("volume %s: empty disk %s of %d bytes", volume.name, disk, size)
        return cmd_pb2.DiskSource(path=str(disk), format="qcow2", kind="file", readonly=False)

    return make


def _cloud_init(vmi, volume, kind: str, where: str, vm_dir: Path, owner: Owner, secrets) -> Make:
    nocloud = kind == "cloudInitNoCloud"
    source = volume.cloud_init_no_cloud if nocloud else volume.cloud_init_config_drive
    data = cloudinit.read(source, where, vmi.metadata.namespace or "default", secrets)
    files = (cloudinit.nocloud_files if nocloud else cloudinit.config_drive_files)(vmi, data)
    volume_id = cloudinit.NOCLOUD_VOLUME_ID if nocloud else cloudinit.CONFIG_DRIVE_VOLUME_ID
    image = vm_dir / f"{volume.name}.iso"

    def make() -> cmd_pb2.DiskSource:
        if not _exists(image, where):
            with _staged(image, owner, ISO_MODE) as tmp:
                with open(tmp, "r+b") as out:
                    try:
                        iso.write_iso(out, volume_id, files)
                    except iso.IsoWriteError as e:
                        raise VolumeError(where, f"the {volume_id} ISO cannot be written: "
                                                 f"{e}") from None
            log.info("volume %s: %s seed %s", volume.name, volume_id, image)
        return cmd_pb2.DiskSource(path=str(image), format="raw", kind="file", readonly=True)

    return make


# -- files -----------------------------------------------------------------------------------


def _exists(path: Path, field: str) -> bool:
    """Whether the volume's file is there already (a regular file; anything else is refused)."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(st.st_mode):
        raise UnsafePathError(field, f"{path} exists and is not a regular file; the node uses "
                                     "only files it made itself")
    return True


@contextlib.contextmanager
def _staged(final: Path, owner: Owner, mode: int) -> Iterator[Path]:
    """A new empty file beside `final`, owned by `owner` and writable by it while the block
    runs; when the block succeeds it gets `mode`, is synced and renamed to `final`; when
    it fails it is removed."""
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 DISK_MODE)
    try:
        try:
            if (owner.uid, owner.gid) != (os.geteuid(), os.getegid()):
                os.fchown(fd, owner.uid, owner.gid)
            os.fchmod(fd, DISK_MODE)
        finally:
            os.close(fd)
        yield tmp
        fd = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _remove_staging_leftovers(vm_dir: Path) -> None:
    """Temporary files of a call that was killed half-way (a handler crash): never used."""
    for entry in os.scandir(vm_dir):
        if _STAGING.match(entry.name) and entry.is_file(follow_symlinks=False):
            log.info("removing %s, left by an interrupted volume preparation", entry.path)
            os.unlink(entry.path)

