"""Rules on a VMI's other devices: PCI addresses, GPUs and host devices,
filesystems, inputs, sound and watchdog.

Owns KubeVirt's checks on passthrough devices (names, resource names, feature
gates, the cluster's permitted list) and on the small emulated devices. Called
through the rule table with a VMI_SPEC target.
"""

from __future__ import annotations

from collections.abc import Iterator

from controller.admission import syntax
from controller.admission.config import GATE_GPU, GATE_HOST_DEVICES, GATE_VIRTIOFS
from controller.admission.messages import duplicate, invalid, not_supported, quoted, required
from controller.admission.targets import Target
from controller.admission.unique import repeats
from protos.errors import FieldCause

INPUT_BUSES = ("virtio", "usb")
INPUT_TYPES = ("tablet",)
SOUND_MODELS = ("ich9", "ac97")
WATCHDOG_ACTIONS = ("poweroff", "reset", "shutdown")


def _passthrough(t: Target):
    """(path, device, feature gate) for every GPU and host device."""
    devices = t.msg.domain.devices
    for i, gpu in enumerate(devices.gpus):
        yield t.at(f"domain.devices.gpus[{i}]"), gpu, GATE_GPU
    for i, dev in enumerate(devices.host_devices):
        yield t.at(f"domain.devices.hostDevices[{i}]"), dev, GATE_HOST_DEVICES


def pci_address_format(t: Target) -> Iterator[FieldCause]:
    devices = t.msg.domain.devices
    for i, disk in enumerate(devices.disks):
        if disk.disk.pci_address:
            problem = syntax.pci_address(disk.disk.pci_address)
            if problem:
                yield invalid(t.at(f"domain.devices.disks[{i}].disk.pciAddress"), problem)
    for i, iface in enumerate(devices.interfaces):
        if iface.pci_address:
            problem = syntax.pci_address(iface.pci_address)
            if problem:
                yield invalid(t.at(f"domain.devices.interfaces[{i}].pciAddress"), problem)


def device_name_required(t: Target) -> Iterator[FieldCause]:
    for path, dev, _ in _passthrough(t):
        if not dev.name:
            yield required(f"{path}.name", "every GPU and host device needs a name")


def device_name_duplicate(t: Target) -> Iterator[FieldCause]:
    names = ((dev.name, path) for path, dev, _ in _passthrough(t))
    for name, first, path in repeats(names):
        yield duplicate(f"{path}.name", f"name {quoted(name)} is already used by "
                                        f"{first.rsplit('.', 1)[-1]}; GPU and host device names "
                                        f"must be unique")


def device_resource_required(t: Target) -> Iterator[FieldCause]:
    for path, dev, _ in _passthrough(t):
        if not dev.device_name:
            yield required(f"{path}.deviceName",
                           "set the device plugin's resource name, like "
                           "nvidia.com/GA100_A100_PCIE_40GB")


def device_permitted(t: Target) -> Iterator[FieldCause]:
    cfg = t.config
    if cfg.permit_unlisted_host_devices:
        return
    allowed = sorted(cfg.permitted_host_devices)
    for path, dev, _ in _passthrough(t):
        if dev.device_name and dev.device_name not in cfg.permitted_host_devices:
            shown = ", ".join(allowed) if allowed else "none are permitted"
            yield invalid(f"{path}.deviceName",
                          f"device {quoted(dev.device_name)} is not in the cluster's permitted host "
                          f"devices; use one of: {shown}")


def device_feature_gate(t: Target) -> Iterator[FieldCause]:
    for path, _, gate in _passthrough(t):
        if not t.config.gate(gate):
            yield invalid(path, f"this device needs the {gate} feature gate, which is not enabled")
    if not t.config.gate(GATE_VIRTIOFS):
        for i, _ in enumerate(t.msg.domain.devices.filesystems):
            yield invalid(t.at(f"domain.devices.filesystems[{i}]"),
                          f"virtiofs filesystems need the {GATE_VIRTIOFS} feature gate, which is "
                          f"not enabled")


def filesystem_volume(t: Target) -> Iterator[FieldCause]:
    volumes = {v.name for v in t.msg.volumes}
    for i, fs in enumerate(t.msg.domain.devices.filesystems):
        path = t.at(f"domain.devices.filesystems[{i}]")
        if not fs.HasField("virtiofs"):
            yield required(f"{path}.virtiofs", "a filesystem needs virtiofs: {} (the only type)")
        if fs.name not in volumes:
            yield invalid(f"{path}.name", f"filesystem {quoted(fs.name)} has no volume; add a volume "
                                          f"named {quoted(fs.name)}")


def input_bus_value(t: Target) -> Iterator[FieldCause]:
    for i, inp in enumerate(t.msg.domain.devices.inputs):
        if inp.HasField("bus") and inp.bus not in INPUT_BUSES:
            yield not_supported(t.at(f"domain.devices.inputs[{i}].bus"), "input bus", inp.bus,
                                INPUT_BUSES)


def input_type_value(t: Target) -> Iterator[FieldCause]:
    for i, inp in enumerate(t.msg.domain.devices.inputs):
        if inp.type not in INPUT_TYPES:
            yield not_supported(t.at(f"domain.devices.inputs[{i}].type"), "input type", inp.type,
                                INPUT_TYPES)


def sound_value(t: Target) -> Iterator[FieldCause]:
    devices = t.msg.domain.devices
    if not devices.HasField("sound"):
        return
    if not devices.sound.name:
        yield required(t.at("domain.devices.sound.name"), "a sound device needs a name")
    if devices.sound.HasField("model") and devices.sound.model not in SOUND_MODELS:
        yield not_supported(t.at("domain.devices.sound.model"), "sound model",
                            devices.sound.model, SOUND_MODELS)


def watchdog_value(t: Target) -> Iterator[FieldCause]:
    devices = t.msg.domain.devices
    if not devices.HasField("watchdog"):
        return
    wd = devices.watchdog
    if not wd.HasField("i6300esb"):
        yield required(t.at("domain.devices.watchdog.i6300esb"),
                       "set the watchdog model; the only one on amd64 is i6300esb")
    elif wd.i6300esb.HasField("action") and wd.i6300esb.action not in WATCHDOG_ACTIONS:
        yield not_supported(t.at("domain.devices.watchdog.i6300esb.action"), "watchdog action",
                            wd.i6300esb.action, WATCHDOG_ACTIONS)
