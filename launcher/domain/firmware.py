"""How the guest boots and what it reads from SMBIOS: <os> and <sysinfo>.

Owns the mapping of spec.domain.firmware (BIOS with serial output, EFI with or
without secure boot, direct kernel boot), spec.domain.machine and
spec.domain.chassis to <os> and <sysinfo>. The firmware files come from the
context (Debian's ovmf package on the node); a missing one is a cause that says
what to install. Never chooses disks' boot order (storage and network do, per device).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from launcher.domain.causes import DOM, Causes
from launcher.domain.context import DomainContext
from launcher.domain.xmlwriter import append, element
from protos.kubevirt.v1 import vmi_pb2

ARCH = "x86_64"
SUPPORTED_ARCHITECTURES = ("", "amd64")
OVMF_HINT = ("the node has no OVMF (UEFI) firmware; install Debian's ovmf package on the node "
             "or boot with BIOS")

# libvirt's order of the <system> and <chassis> entries.
_SYSTEM_KEYS = ("manufacturer", "product", "version", "serial", "uuid", "sku", "family")
_CHASSIS_KEYS = ("manufacturer", "version", "serial", "asset", "sku")


def secure_boot(vmi: vmi_pb2.VirtualMachineInstance) -> bool:
    boot = vmi.spec.domain.firmware.bootloader
    return boot.HasField("efi") and (boot.efi.secure_boot if boot.efi.HasField("secure_boot")
                                     else True)


def os_element(vmi: vmi_pb2.VirtualMachineInstance, ctx: DomainContext,
               causes: Causes) -> ET.Element:
    dom = vmi.spec.domain
    fw = dom.firmware
    if vmi.spec.architecture not in SUPPORTED_ARCHITECTURES:
        causes.unsupported("spec.architecture", f"architecture \"{vmi.spec.architecture}\" is "
                           "not supported by this node; use amd64")
    if not dom.machine.type:
        causes.required(f"{DOM}.machine.type", "a machine type is required (admission sets q35)")
    node = element("os", {}, element("type", {"arch": ARCH, "machine": dom.machine.type or None},
                                     text="hvm"))
    boot = fw.bootloader
    if boot.HasField("bios") and boot.HasField("efi"):
        causes.invalid(f"{DOM}.firmware.bootloader", "set one of bios and efi, not both")
    elif boot.HasField("efi"):
        append(node, _efi(vmi, ctx, causes))
    if fw.HasField("kernel_boot"):
        append(node, _kernel_boot(vmi, ctx, causes))
    if boot.HasField("bios") and boot.bios.use_serial:
        append(node, [element("bios", {"useserial": "yes"})])
    append(node, [element("smbios", {"mode": "sysinfo"})])
    return node


def _efi(vmi: vmi_pb2.VirtualMachineInstance, ctx: DomainContext,
         causes: Causes) -> list[ET.Element]:
    where = f"{DOM}.firmware.bootloader.efi"
    files = ctx.firmware_files
    secure = secure_boot(vmi)
    if files is None:
        causes.required(where, OVMF_HINT)
        return []
    code, template = files.code, files.vars_template
    if secure:
        features = vmi.spec.domain.features
        smm = features.smm
        if features.HasField("smm") and smm.HasField("enabled") and not smm.enabled:
            causes.invalid(f"{DOM}.features.smm.enabled",
                           "EFI secure boot needs SMM; enable smm or turn secureBoot off")
        if not features.HasField("smm"):
            causes.required(f"{DOM}.features.smm",
                            "EFI secure boot needs SMM (admission enables it); set smm.enabled")
        if not files.secure_code:
            causes.required(f"{where}.secureBoot", "the node has no secure-boot OVMF build; "
                            "install Debian's ovmf package on the node or turn secureBoot off")
            return []
        code, template = files.secure_code, files.secure_vars_template or files.vars_template
    return [element("loader", {"readonly": "yes", "secure": "yes" if secure else "no",
                               "type": "pflash"}, text=code),
            element("nvram", {"template": template}, text=files.nvram)]


def _kernel_boot(vmi: vmi_pb2.VirtualMachineInstance, ctx: DomainContext,
                 causes: Causes) -> list[ET.Element]:
    where = f"{DOM}.firmware.kernelBoot"
    kb = vmi.spec.domain.firmware.kernel_boot
    wanted = {"kernel": kb.container.kernel_path, "initrd": kb.container.initrd_path}
    if not any(wanted.values()):
        causes.required(f"{where}.container.kernelPath",
                        "kernelBoot needs a kernelPath and/or an initrdPath")
        return []
    files = ctx.kernel_boot
    out = []
    for key, json in (("kernel", "kernelPath"), ("initrd", "initrdPath")):
        if not wanted[key]:
            continue
        path = getattr(files, key) if files is not None else None
        if not path:
            causes.required(f"{where}.container.{json}",
                            f"the {key} of kernelBoot was not extracted on the node "
                            f"(no {key} file in the launcher's context)")
            continue
        out.append(element(key, text=path))
    if kb.kernel_args:
        if not wanted["kernel"]:
            causes.invalid(f"{where}.kernelArgs", "kernelArgs need a kernelPath")
        out.append(element("cmdline", text=kb.kernel_args))
    return out


def sysinfo(vmi: vmi_pb2.VirtualMachineInstance, ctx: DomainContext) -> ET.Element:
    """SMBIOS: the node's system strings, the firmware uuid and serial, the chassis."""
    fw = vmi.spec.domain.firmware
    values = dict(ctx.smbios)
    if fw.serial:
        values["serial"] = fw.serial
    if fw.uuid:
        values["uuid"] = fw.uuid
    node = element("sysinfo", {"type": "smbios"})
    system = [element("entry", {"name": k}, text=values[k]) for k in _SYSTEM_KEYS if values.get(k)]
    if system:
        append(node, [element("system", {}, *system)])
    chassis = vmi.spec.domain.chassis
    entries = [element("entry", {"name": k}, text=getattr(chassis, k))
               for k in _CHASSIS_KEYS if getattr(chassis, k)]
    if entries:
        append(node, [element("chassis", {}, *entries)])
    return node
