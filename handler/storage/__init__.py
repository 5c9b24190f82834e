"""Storage on the node: the images it has offline and the files a VMI's volumes become.

Owns turning spec.volumes and spec.domain.firmware.kernelBoot into files QEMU
can open: the handler's VMI loop calls `prepare_volumes` (volume name ->
DiskSource for SyncOptions.disks) and `kernel_boot_files` (SyncOptions.kernel_boot)
before it syncs the launcher. qemu-img is the only image tool (qemuimg.py), ISOs
are written in-process (iso.py), and every path a tenant influences is opened
without following symlinks (beneath.py). Never writes into an image directory,
never talks to the API (Secrets come through a callback). See docs/storage.md.

    from handler.storage import ImageStore, kernel_boot_files, prepare_volumes

    store = ImageStore({"virtnode/test-guest": Path("/srv/images/test-guest")})
    options.kernel_boot.CopyFrom(kernel_boot_files(vmi, store))      # when not None
    for name, source in prepare_volumes(vmi, vm_dir, store, uid, gid, secrets).items():
        options.disks[name].CopyFrom(source)
"""

from handler.storage.images import ImageStore, kernel_boot_files
from handler.storage.volumes import SUPPORTED, prepare_volumes

__all__ = ["ImageStore", "kernel_boot_files", "prepare_volumes", "SUPPORTED"]
