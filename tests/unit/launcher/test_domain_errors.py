"""What the conversion refuses: every problem at once, each at the VMI field path it is about."""

from __future__ import annotations

import dataclasses

import pytest

from controller.admission import ClusterConfig, default
from launcher.domain import (DiskSource, DomainContext, FirmwareFiles, HostDevicePCI,
                             PreparedInterface, domain_name, to_domain_xml)
from launcher.errors import ConversionError
from protos import codec
from protos.errors import FIELD_VALUE_NOT_SUPPORTED, FIELD_VALUE_REQUIRED

CTX = DomainContext(accelerator="tcg", serial_socket="/run/vm/serial.sock", uid="u1",
                    interfaces=(PreparedInterface("default", "tap0", "02:00:00:00:00:01"),),
                    disks={"root": DiskSource("/run/vm/root.qcow2", "qcow2")})


def vmi(spec_patch: dict | None = None, devices: dict | None = None, volumes: list | None = None,
        name: str = "vm1"):
    """A defaulted VMI: 128Mi, one containerDisk 'root', with the given additions."""
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
           "metadata": {"name": name, "namespace": "default"},
           "spec": {"domain": {"resources": {"requests": {"memory": "128Mi"}},
                               "devices": {"disks": [{"name": "root"}]}},
                    "volumes": [{"name": "root", "containerDisk": {"image": "x"}}]}}
    doc["spec"]["domain"].update(spec_patch or {})
    doc["spec"]["domain"]["devices"].update(devices or {})
    doc["spec"]["volumes"] += volumes or []
    return default(codec.decode(doc), ClusterConfig())


def causes(obj, ctx: DomainContext = CTX) -> dict[str, str]:
    with pytest.raises(ConversionError) as info:
        to_domain_xml(obj, ctx)
    return {c.field: c.message for c in info.value.causes}


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    """Disk bus, missing sources, taps, devices and firmware problems all come in one error."""
    obj = vmi(
        {"firmware": {"bootloader": {"efi": {"secureBoot": False}}},
         "cpu": {"dedicatedCpuPlacement": True}},
        {"disks": [{"name": "root"}, {"name": "data", "disk": {"bus": "ide"}},
                   {"name": "extra"}],
         "interfaces": [{"name": "default", "masquerade": {}}, {"name": "vf", "sriov": {}},
                        {"name": "lan", "bridge": {}}],
         "gpus": [{"name": "gpu1", "deviceName": "nvidia.com/A10"}]},
        [{"name": "data", "emptyDisk": {"capacity": "1Gi"}},
         {"name": "extra", "hostDisk": {"path": "/srv/x", "type": "Disk"}}])
    found = causes(obj)
    assert set(found) == {
        "spec.domain.devices.disks[1].disk.bus",
        "spec.domain.devices.disks[2].name",
        "spec.domain.devices.interfaces[1].sriov",
        "spec.domain.devices.interfaces[2].name",
        "spec.domain.devices.gpus[0].deviceName",
        "spec.domain.firmware.bootloader.efi",
        "spec.domain.cpu.dedicatedCpuPlacement",
    }, found
    assert "KubeVirt dropped IDE" in found["spec.domain.devices.disks[1].disk.bus"]
    assert "virtio, sata, scsi, usb" in found["spec.domain.devices.disks[1].disk.bus"]
    assert "ovmf" in found["spec.domain.firmware.bootloader.efi"]
    assert "masquerade, bridge" in found["spec.domain.devices.interfaces[1].sriov"]


def test_error_message_lists_every_cause() -> None:
    """The ConversionError's text names each path, so a log line says everything."""
    obj = vmi(devices={"disks": [{"name": "root", "disk": {"bus": "ide"}}],
                       "watchdog": {"name": "w", "i6300esb": {"action": "explode"}}})
    with pytest.raises(ConversionError) as info:
        to_domain_xml(obj, CTX)
    text = str(info.value)
    assert "spec.domain.devices.disks[0].disk.bus" in text
    assert "spec.domain.devices.watchdog.i6300esb.action" in text


def test_disk_without_prepared_source_names_the_disk() -> None:
    """A volume the handler gave no image for is required at the disk's name."""
    found = causes(vmi(), dataclasses.replace(CTX, disks={}))
    assert list(found) == ["spec.domain.devices.disks[0].name"]
    assert "(containerDisk)" in found["spec.domain.devices.disks[0].name"]


def test_lun_needs_scsi_and_a_block_volume() -> None:
    """A lun on virtio (admission's default bus) or on a file is refused with what it needs."""
    ctx = dataclasses.replace(CTX, disks={"root": CTX.disks["root"],
                                          "san": DiskSource("/run/vm/san.img")})
    found = causes(vmi(devices={"disks": [{"name": "root"}, {"name": "san", "lun": {}}]},
                       volumes=[{"name": "san", "persistentVolumeClaim": {"claimName": "s"}}]), ctx)
    assert "needs bus scsi" in found["spec.domain.devices.disks[1].lun.bus"]
    found = causes(vmi(devices={"disks": [{"name": "root"},
                                          {"name": "san", "lun": {"bus": "scsi"}}]},
                       volumes=[{"name": "san", "persistentVolumeClaim": {"claimName": "s"}}]), ctx)
    assert "block volume" in found["spec.domain.devices.disks[1].lun"]


def test_cache_none_without_o_direct_is_refused() -> None:
    """An explicit cache none on storage without O_DIRECT is an error, not a silent change."""
    ctx = dataclasses.replace(CTX, direct_io_supported=False)
    found = causes(vmi(devices={"disks": [{"name": "root", "cache": "none"}]}), ctx)
    assert "O_DIRECT" in found["spec.domain.devices.disks[0].cache"]


def test_secure_boot_without_secure_firmware_or_with_smm_off() -> None:
    """Secure boot needs the secboot OVMF build and SMM."""
    files = FirmwareFiles(code="/c.fd", vars_template="/v.fd", nvram="/n.fd")
    ctx = dataclasses.replace(CTX, firmware_files=files)
    found = causes(vmi({"firmware": {"bootloader": {"efi": {}}}}), ctx)
    assert set(found) == {"spec.domain.firmware.bootloader.efi.secureBoot"}
    found = causes(vmi({"firmware": {"bootloader": {"efi": {"secureBoot": True}}},
                        "features": {"smm": {"enabled": False}}}), ctx)
    assert "spec.domain.features.smm.enabled" in found


def test_kernel_boot_without_extracted_files() -> None:
    """kernelBoot whose kernel and initrd were not extracted names both paths."""
    kb = {"kernelBoot": {"kernelArgs": "console=ttyS0",
                         "container": {"image": "k", "kernelPath": "/k", "initrdPath": "/i"}}}
    found = causes(vmi({"firmware": kb}))
    assert set(found) == {"spec.domain.firmware.kernelBoot.container.kernelPath",
                          "spec.domain.firmware.kernelBoot.container.initrdPath"}


def test_unsupported_modelled_features_are_refused() -> None:
    """Hotplug, TPM, virtiofs, vsock, multiqueue NICs: modelled by the API, refused here."""
    obj = vmi({"memory": {"guest": "128Mi", "maxGuest": "1Gi"}, "cpu": {"maxSockets": 4}},
              {"tpm": {}, "filesystems": [{"name": "fs", "virtiofs": {}}],
               "autoattachVSOCK": True, "networkInterfaceMultiqueue": True})
    found = causes(obj)
    for path in ("spec.domain.memory.maxGuest", "spec.domain.cpu.maxSockets",
                 "spec.domain.devices.tpm", "spec.domain.devices.filesystems[0]",
                 "spec.domain.devices.autoattachVSOCK",
                 "spec.domain.devices.networkInterfaceMultiqueue"):
        assert path in found, (path, found)


def test_cause_reasons_are_kubernetes_cause_types() -> None:
    """Missing node resources are FieldValueRequired; unsupported values FieldValueNotSupported."""
    obj = vmi(devices={"disks": [{"name": "root", "disk": {"bus": "ide"}}],
                       "hostDevices": [{"name": "h", "deviceName": "x/y"}]})
    with pytest.raises(ConversionError) as info:
        to_domain_xml(obj, CTX)
    reasons = {c.field: c.reason for c in info.value.causes}
    assert reasons["spec.domain.devices.disks[0].disk.bus"] == FIELD_VALUE_NOT_SUPPORTED
    assert reasons["spec.domain.devices.hostDevices[0].deviceName"] == FIELD_VALUE_REQUIRED


def test_host_device_allocations_are_checked_by_the_context() -> None:
    """A malformed PCI address from the handler is a programming error, caught at construction."""
    with pytest.raises(ValueError):
        HostDevicePCI("81:00.0")
    with pytest.raises(ValueError):
        DomainContext(accelerator="hvf", serial_socket="/s", uid="u")  # type: ignore[arg-type]


def test_domain_name_uses_default_namespace_when_empty() -> None:
    """The domain is named <namespace>_<name>, with 'default' for an empty namespace."""
    obj = vmi()
    assert domain_name(obj) == "default_vm1"
    obj.metadata.namespace = ""
    assert domain_name(obj) == "default_vm1"
    obj.metadata.namespace = "prod"
    assert domain_name(obj) == "prod_vm1"
