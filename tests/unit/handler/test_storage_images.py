"""Images on the node: kernelBoot files and, as root, files owned by the VM's user."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from handler.errors import ImageNotFoundError, ImageToolError, UnsafePathError, VolumeError
from handler.storage import ImageStore, kernel_boot_files, prepare_volumes
from protos import codec
from tests.unit.handler.storage_samples import make_image, vmi

KERNEL_BOOT = """
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {{name: vm1, namespace: default, uid: u1}}
spec:
  domain:
    firmware:
      kernelBoot:
        kernelArgs: console=ttyS0
        container: {{image: {image}, kernelPath: {kernel}{initrd}}}
    devices: {{}}
"""


def kernel_vmi(image: str = "boot/img", kernel: str = "/boot/vmlinuz",
               initrd: str | None = "/boot/initrd.img"):
    extra = f", initrdPath: {initrd}" if initrd else ""
    return codec.load_documents(KERNEL_BOOT.format(image=image, kernel=kernel, initrd=extra))[0]


@pytest.fixture
def boot_image(tmp_path: Path) -> Path:
    root = tmp_path / "image"
    (root / "boot").mkdir(parents=True)
    (root / "boot" / "vmlinuz").write_bytes(b"kernel")
    (root / "boot" / "initrd.img").write_bytes(b"initrd")
    return root


def test_kernel_boot_files_resolve_inside_the_image(boot_image: Path) -> None:
    """kernelPath/initrdPath are files of the image directory."""
    files = kernel_boot_files(kernel_vmi(), ImageStore({"boot/img": boot_image}))
    assert (files.kernel, files.initrd) == (str(boot_image / "boot" / "vmlinuz"),
                                            str(boot_image / "boot" / "initrd.img"))
    without = kernel_boot_files(kernel_vmi(initrd=None), ImageStore({"boot/img": boot_image}))
    assert (without.kernel, without.initrd) == (str(boot_image / "boot" / "vmlinuz"), "")


def test_no_kernel_boot_gives_none(boot_image: Path) -> None:
    """A VMI that boots from a disk needs no kernelBoot files."""
    assert kernel_boot_files(vmi("- name: s\n  emptyDisk: {capacity: 1Mi}\n"),
                             ImageStore({"boot/img": boot_image})) is None


def test_unknown_kernel_boot_image_names_the_field(boot_image: Path) -> None:
    """An image the node lacks: spec.domain.firmware.kernelBoot.container.image, known images listed."""
    with pytest.raises(ImageNotFoundError) as caught:
        kernel_boot_files(kernel_vmi(image="other"), ImageStore({"boot/img": boot_image}))
    assert caught.value.field == "spec.domain.firmware.kernelBoot.container.image"
    assert "known images: boot/img" in str(caught.value)


def test_kernel_path_may_not_leave_the_image(boot_image: Path, tmp_path: Path) -> None:
    """A symlinked kernel or a .. path is refused at kernelPath; a missing initrd at initrdPath."""
    (tmp_path / "secret").write_text("host file")
    (boot_image / "boot" / "link").symlink_to(tmp_path / "secret")
    store = ImageStore({"boot/img": boot_image})
    for kernel in ("/boot/link", "/../secret"):
        with pytest.raises(UnsafePathError) as caught:
            kernel_boot_files(kernel_vmi(kernel=kernel), store)
        assert caught.value.field == "spec.domain.firmware.kernelBoot.container.kernelPath"
    with pytest.raises(VolumeError) as caught:
        kernel_boot_files(kernel_vmi(initrd="/boot/missing.img"), store)
    assert caught.value.field == "spec.domain.firmware.kernelBoot.container.initrdPath"
    assert "/boot/missing.img does not exist in image 'boot/img'" in str(caught.value)


def test_image_directory_that_vanished(tmp_path: Path) -> None:
    """An image configured with a directory that is gone says so."""
    with pytest.raises(ImageNotFoundError, match="which does not exist on this node"):
        ImageStore({"img": tmp_path / "gone"}).resolve("img", "spec.volumes[0].containerDisk.image")


# -- as root: the VM's user owns what is made, and qemu-img runs as that user ------------------


def _vm_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("virtnode")
    except KeyError:
        pytest.fail("the system user virtnode is missing; run make install as root")


@pytest.fixture
def reachable() -> Iterator[Path]:
    """A directory the VM's user can reach (pytest's tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="vn-storage-", dir="/tmp"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.root
def test_files_belong_to_the_vm_user(reachable: Path) -> None:
    """Overlay, empty disk and seed are owned by the VM's user (0600, the seed 0400); the dir is 0711."""
    user = _vm_user()
    tmp_path = reachable
    base = make_image(tmp_path / "image")
    os.chmod(base, 0o644)
    spec = vmi("- name: rootdisk\n  containerDisk: {image: img}\n"
               "- name: scratch\n  emptyDisk: {capacity: 1Mi}\n"
               "- name: seed\n  cloudInitNoCloud: {userData: x}\n")
    sources = prepare_volumes(spec, tmp_path / "vm", ImageStore({"img": tmp_path / "image"}),
                              user.pw_uid, user.pw_gid)
    modes = {name: (os.stat(s.path).st_uid, os.stat(s.path).st_gid, os.stat(s.path).st_mode & 0o777)
             for name, s in sources.items()}
    assert modes == {"rootdisk": (user.pw_uid, user.pw_gid, 0o600),
                     "scratch": (user.pw_uid, user.pw_gid, 0o600),
                     "seed": (user.pw_uid, user.pw_gid, 0o400)}
    assert (tmp_path / "vm").stat().st_mode & 0o777 == 0o711


@pytest.mark.root
def test_an_image_the_vm_user_cannot_read_is_refused_early(reachable: Path) -> None:
    """qemu-img probes the base as the VM's user, so an unreadable base fails now, not in QEMU."""
    user = _vm_user()
    tmp_path = reachable
    base = make_image(tmp_path / "image")
    os.chmod(base, 0o600)  # root's only
    spec = vmi("- name: rootdisk\n  containerDisk: {image: img}\n")
    with pytest.raises(ImageToolError, match="Permission denied.*uid") as caught:
        prepare_volumes(spec, tmp_path / "vm", ImageStore({"img": tmp_path / "image"}),
                        user.pw_uid, user.pw_gid)
    assert caught.value.field == "spec.volumes[0].containerDisk.image"
