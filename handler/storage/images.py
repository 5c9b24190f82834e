"""The images this node has offline, and the files a VMI takes from them.

Owns `ImageStore` (image name -> a local directory laid out like the image's
filesystem: today's `--image NAME=DIR`; OCI layouts and registries later),
finding the disk of a containerDisk in its image (KubeVirt's rule: `path`, else
the one file under `/disk`), and `kernel_boot_files` (the kernel and initrd of
`spec.domain.firmware.kernelBoot.container`). Called by the handler's VMI loop
and by handler/storage/volumes.py. Every path the VMI chooses goes through
handler/storage/beneath.py: nothing outside the image directory, no symlink.
Never writes into an image directory.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from handler.errors import ImageNotFoundError, UnsafePathError, VolumeError
from handler.storage import beneath
from protos.kubevirt.v1 import schema_pb2, vmi_pb2
from protos.launcher.v1 import cmd_pb2

KERNEL_BOOT = "spec.domain.firmware.kernelBoot.container"
DISK_FOLDER = "/disk"


class ImageStore:
    """Images available offline on this node: name -> local directory (the image's root)."""

    def __init__(self, images: Mapping[str, Path]) -> None:
        self._images = {name: Path(path) for name, path in images.items()}

    @property
    def names(self) -> list[str]:
        return sorted(self._images)

    def resolve(self, image: str, field: str) -> Path:
        """The directory of `image` (its real path); ImageNotFoundError naming `field` if unknown."""
        if not image:
            raise VolumeError(field, "name an image, like quay.io/containerdisks/fedora:40")
        root = self._images.get(image)
        if root is None:
            known = ", ".join(self.names) or "none"
            raise ImageNotFoundError(field, f"image {image!r} is not available on this node; known "
                                            f"images: {known} (a node serves the directories given "
                                            "as --image NAME=DIR to virtctl up)")
        real = Path(os.path.realpath(root))
        try:
            if not stat.S_ISDIR(os.stat(real).st_mode):
                raise VolumeError(field, f"image {image!r} is configured as {root}, which is not a "
                                         "directory")
        except FileNotFoundError:
            raise ImageNotFoundError(field, f"image {image!r} is configured as {root}, which does "
                                            "not exist on this node") from None
        return real

    def file(self, image: str, path: str, image_field: str, path_field: str) -> beneath.Checked:
        """A regular file at `path` inside `image`, reached without a symlink."""
        return beneath.find(self.resolve(image, image_field), path, path_field, image=image)

    def container_disk(self, source: schema_pb2.ContainerDiskSource, where: str) -> beneath.Checked:
        """The disk file of a containerDisk: `path`, else the single file under /disk."""
        image_field, path_field = f"{where}.image", f"{where}.path"
        root = self.resolve(source.image, image_field)
        if source.path:
            return beneath.find(root, source.path, path_field, image=source.image)
        folder = beneath.find(root, DISK_FOLDER, image_field, want="directory", image=source.image)
        found = beneath.entries(folder, image_field)
        links = [name for name, st in found if stat.S_ISLNK(st.st_mode)]
        if links:
            raise UnsafePathError(image_field, f"{DISK_FOLDER}/{links[0]} in image "
                                               f"{source.image!r} is a symbolic link; the node "
                                               "does not follow links inside an image")
        files = [name for name, st in found if stat.S_ISREG(st.st_mode)]
        others = [name for name, st in found if not stat.S_ISREG(st.st_mode)]
        if len(files) != 1 or others:
            listed = ", ".join(name for name, _ in found) or "nothing"
            raise VolumeError(image_field, f"image {source.image!r} must hold exactly one disk "
                                           f"file under {DISK_FOLDER}/ (it holds: {listed}); set "
                                           f"{path_field} to choose one")
        return beneath.find(root, f"{DISK_FOLDER}/{files[0]}", image_field, image=source.image)


def kernel_boot_files(vmi: vmi_pb2.VirtualMachineInstance,
                      store: ImageStore) -> cmd_pb2.KernelBootFiles | None:
    """The kernel and initrd of spec.domain.firmware.kernelBoot.container, or None without one.

    A path left empty stays empty (the launcher then boots without that file)."""
    fw = vmi.spec.domain.firmware
    if not (fw.HasField("kernel_boot") and fw.kernel_boot.HasField("container")):
        return None
    container = fw.kernel_boot.container
    root_field = f"{KERNEL_BOOT}.image"
    store.resolve(container.image, root_field)
    files = cmd_pb2.KernelBootFiles()
    for name, path, field in (("kernel", container.kernel_path, "kernelPath"),
                              ("initrd", container.initrd_path, "initrdPath")):
        if path:
            found = store.file(container.image, path, root_field, f"{KERNEL_BOOT}.{field}")
            setattr(files, name, str(found.path))
    return files
