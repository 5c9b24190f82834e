"""Rules on a VMI's firmware and the features firmware depends on.

Owns KubeVirt's checks on `domain.firmware`: one bootloader, secure boot with
SMM, UUID and serial syntax, and kernel boot from a container image. Called
through the rule table with a VMI_SPEC target.
"""

from __future__ import annotations

from collections.abc import Iterator

from controller.admission import syntax
from controller.admission.messages import invalid, required
from controller.admission.targets import Target
from protos.errors import FieldCause


def bootloader_exclusive(t: Target) -> Iterator[FieldCause]:
    boot = t.msg.domain.firmware.bootloader
    if boot.HasField("bios") and boot.HasField("efi"):
        yield invalid(t.at("domain.firmware.bootloader"),
                      "bios and efi are mutually exclusive; set only one of them")


def secure_boot_smm(t: Target) -> Iterator[FieldCause]:
    dom = t.msg.domain
    efi = dom.firmware.bootloader.efi
    if not dom.firmware.bootloader.HasField("efi") or not efi.secure_boot:
        return
    smm = dom.features.smm
    if dom.features.HasField("smm") and smm.HasField("enabled") and not smm.enabled:
        yield invalid(t.at("domain.features.smm.enabled"),
                      "secureBoot requires SMM, which is disabled here; enable "
                      "features.smm or set bootloader.efi.secureBoot: false")


def uuid_format(t: Target) -> Iterator[FieldCause]:
    fw = t.msg.domain.firmware
    if fw.HasField("uuid"):
        problem = syntax.uuid_text(fw.uuid)
        if problem:
            yield invalid(t.at("domain.firmware.uuid"), problem)


def serial_format(t: Target) -> Iterator[FieldCause]:
    fw = t.msg.domain.firmware
    if fw.HasField("serial"):
        problem = syntax.serial(fw.serial)
        if problem:
            yield invalid(t.at("domain.firmware.serial"), problem)


def kernel_boot_container(t: Target) -> Iterator[FieldCause]:
    fw = t.msg.domain.firmware
    if not fw.HasField("kernel_boot"):
        return
    kb = fw.kernel_boot
    if not kb.HasField("container"):
        yield required(t.at("domain.firmware.kernelBoot.container"),
                       "kernel boot needs a container with the kernel and initrd (image, "
                       "kernelPath and/or initrdPath)")
    elif not kb.container.image:
        yield required(t.at("domain.firmware.kernelBoot.container.image"),
                       "name the container image that holds the kernel and initrd")


def kernel_boot_paths(t: Target) -> Iterator[FieldCause]:
    fw = t.msg.domain.firmware
    if not fw.kernel_boot.HasField("container"):
        return
    c = fw.kernel_boot.container
    base = "domain.firmware.kernelBoot.container"
    if not c.kernel_path and not c.initrd_path:
        yield required(t.at(f"{base}.kernelPath"),
                       "kernel boot needs kernelPath, initrdPath or both")
    for field, json in (("kernel_path", "kernelPath"), ("initrd_path", "initrdPath")):
        value = getattr(c, field)
        if value:
            problem = syntax.absolute_file_path(value)
            if problem:
                yield invalid(t.at(f"{base}.{json}"), problem)
