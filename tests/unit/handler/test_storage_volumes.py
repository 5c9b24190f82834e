"""containerDisk overlays, emptyDisks, unsupported sources, symlink refusal, idempotence, atomicity."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from handler.errors import (
    ImageNotFoundError,
    ImageToolError,
    UnsafePathError,
    UnsupportedVolumeError,
    VolumeError,
)
from handler.storage import ImageStore, SUPPORTED, prepare_volumes, qemuimg
from tests.unit.handler.storage_samples import make_image, qemu_img, vmi

IMAGE = "example.org/disks/tiny:1"


def info(path: Path) -> dict:
    return json.loads(qemu_img("info", "--output=json", "-U", str(path)))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def prepare(tmp_path: Path, spec, store: ImageStore | None = None):
    store = store or ImageStore({IMAGE: tmp_path / "image"})
    return prepare_volumes(spec, tmp_path / "vm", store, os.getuid(), os.getgid())


CONTAINER_DISK = f"- name: rootdisk\n  containerDisk: {{image: {IMAGE}}}\n"


@pytest.mark.parametrize(("name", "fmt"), [("disk.qcow2", "qcow2"), ("disk.img", "raw"),
                                           ("looks-raw.img", "qcow2"), ("looks.qcow2", "raw")])
def test_container_disk_gets_an_overlay_on_the_probed_format(tmp_path: Path, name: str,
                                                             fmt: str) -> None:
    """The overlay is qcow2 backed by the image's only file under /disk, format probed, not guessed."""
    base = make_image(tmp_path / "image", name, fmt)
    source = prepare(tmp_path, vmi(CONTAINER_DISK))["rootdisk"]
    overlay = tmp_path / "vm" / "rootdisk.qcow2"
    assert (source.path, source.format, source.kind, source.readonly) == (
        str(overlay), "qcow2", "file", False)
    probed = info(overlay)
    assert probed["format"] == "qcow2"
    assert probed["backing-filename"] == str(base.resolve())
    assert probed["backing-filename-format"] == fmt
    assert probed["virtual-size"] == 16 * 2**20
    st = overlay.stat()
    assert oct(st.st_mode & 0o777) == oct(0o600)
    assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())


def test_container_disk_path_chooses_the_file(tmp_path: Path) -> None:
    """containerDisk.path picks a file anywhere in the image (KubeVirt's custom path)."""
    make_image(tmp_path / "image", "a.qcow2")
    make_image(tmp_path / "image", "b.qcow2")
    spec = vmi(f"- name: rootdisk\n  containerDisk: {{image: {IMAGE}, path: /disk/b.qcow2}}\n")
    prepare(tmp_path, spec)
    assert info(tmp_path / "vm" / "rootdisk.qcow2")["backing-filename"].endswith("/disk/b.qcow2")


def test_writes_go_to_the_overlay_and_a_second_call_keeps_them(tmp_path: Path) -> None:
    """The base never changes; after the guest wrote, a second call reuses the same overlay."""
    base = make_image(tmp_path / "image", "disk.qcow2")
    before = digest(base)
    spec = vmi(CONTAINER_DISK + "- name: scratch\n  emptyDisk: {capacity: 8Mi}\n")
    first = prepare(tmp_path, spec)
    overlay, scratch = Path(first["rootdisk"].path), Path(first["scratch"].path)
    for disk in (overlay, scratch):  # what a guest does: write into its disks
        subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 64k", str(disk)],
                       check=True, capture_output=True)
    written = {disk: (disk.stat().st_ino, digest(disk)) for disk in (overlay, scratch)}
    again = prepare(tmp_path, spec)
    assert again == first
    assert {disk: (disk.stat().st_ino, digest(disk)) for disk in (overlay, scratch)} == written
    assert digest(base) == before
    read = subprocess.run(["qemu-io", "-f", "qcow2", "-c", "read -P 0x5a 0 64k", str(overlay)],
                          capture_output=True, text=True)
    assert "Pattern verification failed" not in read.stdout and read.returncode == 0


def test_a_foreign_file_in_place_of_the_overlay_is_never_replaced(tmp_path: Path) -> None:
    """An existing overlay on another base is reported, not recreated."""
    make_image(tmp_path / "image")
    (tmp_path / "vm").mkdir()
    qemu_img("create", "-q", "-f", "qcow2", str(tmp_path / "vm" / "rootdisk.qcow2"), "1M")
    before = digest(tmp_path / "vm" / "rootdisk.qcow2")
    with pytest.raises(VolumeError, match="exists but is not an overlay on"):
        prepare(tmp_path, vmi(CONTAINER_DISK))
    assert digest(tmp_path / "vm" / "rootdisk.qcow2") == before


def test_empty_disk_is_a_sparse_qcow2_of_the_capacity(tmp_path: Path) -> None:
    """emptyDisk: qcow2 with the capacity as virtual size, taking almost no space."""
    source = prepare(tmp_path, vmi("- name: scratch\n  emptyDisk: {capacity: 1Gi}\n"))["scratch"]
    disk = Path(source.path)
    assert (source.format, source.readonly) == ("qcow2", False)
    probed = info(disk)
    assert (probed["format"], probed["virtual-size"]) == ("qcow2", 2**30)
    assert disk.stat().st_blocks * 512 < 2**20
    assert oct(disk.stat().st_mode & 0o777) == oct(0o600)


@pytest.mark.parametrize(("volume", "field"), [
    ("persistentVolumeClaim: {claimName: data}", "spec.volumes[0].persistentVolumeClaim"),
    ("dataVolume: {name: dv}", "spec.volumes[0].dataVolume"),
    ("configMap: {name: cm}", "spec.volumes[0].configMap"),
    ("secret: {secretName: s}", "spec.volumes[0].secret"),
    ("serviceAccount: {serviceAccountName: default}", "spec.volumes[0].serviceAccount"),
    ("downwardMetrics: {}", "spec.volumes[0].downwardMetrics"),
    ("ephemeral: {persistentVolumeClaim: {claimName: data}}", "spec.volumes[0].ephemeral"),
    ("hostDisk: {path: /var/disk.img, type: Disk}", "spec.volumes[0].hostDisk"),
])
def test_unsupported_sources_name_the_field_and_list_the_supported(tmp_path: Path, volume: str,
                                                                   field: str) -> None:
    """A source the node does not prepare is refused at its field, listing what is supported."""
    with pytest.raises(UnsupportedVolumeError) as caught:
        prepare(tmp_path, vmi(f"- name: v\n  {volume}\n"))
    assert caught.value.field == field
    assert "supported sources: " + ", ".join(SUPPORTED) in str(caught.value)


def test_a_bad_volume_leaves_nothing_behind(tmp_path: Path) -> None:
    """Everything is checked before any file is made: the good volumes before a bad one are not made."""
    make_image(tmp_path / "image")
    spec = vmi(CONTAINER_DISK + "- name: seed\n  cloudInitNoCloud: {userDataBase64: '%%%'}\n")
    with pytest.raises(VolumeError):
        prepare(tmp_path, spec)
    assert not (tmp_path / "vm").exists()


def test_a_failing_qemu_img_leaves_no_temporary_file(tmp_path: Path, monkeypatch) -> None:
    """When qemu-img fails half-way the staged file is removed and the error quotes qemu-img."""
    make_image(tmp_path / "image")
    fake = tmp_path / "qemu-img"
    fake.write_text('#!/bin/sh\ncase "$1" in create) echo "qemu-img: disk full" >&2; exit 1;; '
                    'esac\nexec qemu-img "$@"\n')
    fake.chmod(0o755)
    monkeypatch.setattr(qemuimg, "QEMU_IMG", str(fake))
    with pytest.raises(ImageToolError, match="disk full") as caught:
        prepare(tmp_path, vmi(CONTAINER_DISK))
    assert caught.value.field == "spec.volumes[0].containerDisk.image"
    assert os.listdir(tmp_path / "vm") == []


def test_leftovers_of_an_interrupted_call_are_removed(tmp_path: Path) -> None:
    """A staged file a killed handler left behind is removed by the next call."""
    (tmp_path / "vm").mkdir()
    (tmp_path / "vm" / ".scratch.qcow2.tmp-4242").write_bytes(b"half")
    prepare(tmp_path, vmi("- name: scratch\n  emptyDisk: {capacity: 1Mi}\n"))
    assert sorted(os.listdir(tmp_path / "vm")) == ["scratch.qcow2"]


@pytest.mark.parametrize(("capacity", "words"), [("0", "not positive"), ("lots", "not a quantity")])
def test_bad_empty_disk_capacity(tmp_path: Path, capacity: str, words: str) -> None:
    """A capacity that is not a positive quantity is refused at emptyDisk.capacity."""
    spec = vmi("- name: scratch\n  emptyDisk: {capacity: 1Mi}\n")
    spec.spec.volumes[0].empty_disk.capacity.value = capacity  # the API decoder refuses "lots" first
    with pytest.raises(VolumeError, match=words) as caught:
        prepare(tmp_path, spec)
    assert caught.value.field == "spec.volumes[0].emptyDisk.capacity"


# -- what the image may hold ---------------------------------------------------------------


def test_unknown_image_lists_the_known_ones(tmp_path: Path) -> None:
    """An image the node does not have: the field and the images it has."""
    store = ImageStore({"b/img": tmp_path, "a/img": tmp_path})
    with pytest.raises(ImageNotFoundError) as caught:
        prepare(tmp_path, vmi("- name: rootdisk\n  containerDisk: {image: c/img}\n"), store)
    assert caught.value.field == "spec.volumes[0].containerDisk.image"
    assert "image 'c/img' is not available on this node; known images: a/img, b/img" in str(caught.value)


@pytest.mark.parametrize("layout", ["file-link", "dir-link", "path-link", "dotdot", "link-in-disk"])
def test_symlinks_and_dotdot_out_of_the_image_are_refused(tmp_path: Path, layout: str) -> None:
    """No symlink is followed inside an image, and .. cannot leave it."""
    outside = make_image(tmp_path / "outside")
    root = tmp_path / "image"
    path = None
    if layout == "file-link":           # /disk/disk.qcow2 -> a file outside
        (root / "disk").mkdir(parents=True)
        (root / "disk" / "disk.qcow2").symlink_to(outside)
    elif layout == "dir-link":          # /disk -> a directory outside
        root.mkdir()
        (root / "disk").symlink_to(outside.parent)
    elif layout == "path-link":         # containerDisk.path through a linked directory
        root.mkdir()
        (root / "images").symlink_to(outside.parent)
        path = "/images/disk.qcow2"
    elif layout == "dotdot":
        root.mkdir()
        path = "/../outside/disk/disk.qcow2"
    else:                               # a link next to a real file, chosen by path
        make_image(root)
        (root / "disk" / "other.qcow2").symlink_to(outside)
        path = "/disk/other.qcow2"
    extra = f", path: {path}" if path else ""
    spec = vmi(f"- name: rootdisk\n  containerDisk: {{image: {IMAGE}{extra}}}\n")
    with pytest.raises(UnsafePathError) as caught:
        prepare(tmp_path, spec)
    assert caught.value.field.startswith("spec.volumes[0].containerDisk.")
    assert not (tmp_path / "vm").exists()


def test_disk_folder_must_hold_exactly_one_file(tmp_path: Path) -> None:
    """Zero or several files under /disk: the error lists them and points at containerDisk.path."""
    make_image(tmp_path / "image", "a.qcow2")
    make_image(tmp_path / "image", "b.qcow2")
    with pytest.raises(VolumeError) as caught:
        prepare(tmp_path, vmi(CONTAINER_DISK))
    assert "exactly one disk file under /disk/ (it holds: a.qcow2, b.qcow2)" in str(caught.value)
    assert "spec.volumes[0].containerDisk.path" in str(caught.value)


def test_a_base_that_refers_to_other_files_is_refused(tmp_path: Path) -> None:
    """A qcow2 in an image with a backing file of its own (a host file, say) is refused."""
    (tmp_path / "image" / "disk").mkdir(parents=True)
    qemu_img("create", "-q", "-f", "qcow2", "-u", "-b", "/etc/hostname", "-F", "raw",
             str(tmp_path / "image" / "disk" / "disk.qcow2"), "1M")
    with pytest.raises(UnsafePathError, match=r"refers to another file \(/etc/hostname\)"):
        prepare(tmp_path, vmi(CONTAINER_DISK))


def test_a_device_node_is_not_a_disk(tmp_path: Path) -> None:
    """Only regular files are taken from an image: a FIFO under /disk is refused unopened."""
    (tmp_path / "image" / "disk").mkdir(parents=True)
    os.mkfifo(tmp_path / "image" / "disk" / "disk.img")
    with pytest.raises(VolumeError, match="exactly one disk file"):
        prepare(tmp_path, vmi(CONTAINER_DISK))
    spec = vmi(f"- name: rootdisk\n  containerDisk: {{image: {IMAGE}, path: /disk/disk.img}}\n")
    with pytest.raises(VolumeError, match="is not a regular file"):
        prepare(tmp_path, spec)
