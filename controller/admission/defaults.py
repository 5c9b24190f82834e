"""Defaulting: the values KubeVirt's mutating webhooks fill in, applied to a copy.

Owns every default admission applies (docs/admission.md lists each, with
KubeVirt's value and where virtnode differs). `default(obj, config)` never
mutates its input and is a fixed point: defaulting a defaulted object changes
nothing. Never rejects anything; an object that cannot be defaulted sensibly
is left as written for validation to report.
"""

from __future__ import annotations

import math
import uuid

from google.protobuf.message import Message

from controller.admission import syntax
from controller.admission.config import ClusterConfig
from controller.admission.targets import vmi_specs
from protos.kubevirt.v1 import pool_pb2, vm_pb2, vmi_pb2

# Namespace of the name-based (version 5) firmware UUIDs: fixed forever, so a
# VM keeps its SMBIOS UUID across restarts and re-creations under the same name.
FIRMWARE_UUID_NAMESPACE = uuid.UUID("6a1f8f3e-0c2b-5d7e-9b1a-7e6f0e3c2a10")

DISK_BUS = "virtio"
CDROM_BUS = "sata"
INTERFACE_MODEL = "virtio"
DEFAULT_NETWORK = "default"


def firmware_uuid(namespace: str, name: str) -> str:
    """The stable firmware UUID of the VM/VMI `namespace/name`."""
    return str(uuid.uuid5(FIRMWARE_UUID_NAMESPACE, f"{namespace or 'default'}/{name}"))


def default(obj: Message, config: ClusterConfig) -> Message:
    """A defaulted copy of obj (any kind virtnode serves); obj is left untouched."""
    out = type(obj)()
    out.CopyFrom(obj)
    if isinstance(out, vm_pb2.VirtualMachine):
        _default_vm_spec(out.spec)
    elif isinstance(out, pool_pb2.VirtualMachinePool):
        if not out.spec.HasField("replicas"):
            out.spec.replicas = 1
        if out.spec.HasField("virtual_machine_template"):
            _default_vm_spec(out.spec.virtual_machine_template.spec)
    # A pool's VMs get their names (and so their UUIDs) when the pool creates them.
    named = not isinstance(out, pool_pb2.VirtualMachinePool) and bool(out.metadata.name)
    for spec, _ in vmi_specs(out):
        if not spec.HasField("domain"):
            continue  # nothing to default into; vmi-domain-required reports it
        default_vmi_spec(spec, config)
        if named and not spec.domain.firmware.uuid:
            spec.domain.firmware.uuid = firmware_uuid(out.metadata.namespace, out.metadata.name)
    return out


def _default_vm_spec(spec: vm_pb2.VirtualMachineSpec) -> None:
    if not spec.HasField("running") and not spec.HasField("run_strategy"):
        spec.run_strategy = "Halted"


def default_vmi_spec(spec: vmi_pb2.VirtualMachineInstanceSpec, config: ClusterConfig) -> None:
    """Applies the VMI-spec defaults in place (callers pass a copy)."""
    dom = spec.domain
    if not dom.machine.type:
        dom.machine.type = config.machine_type
    if not spec.HasField("termination_grace_period_seconds"):
        spec.termination_grace_period_seconds = config.termination_grace_period_seconds
    _default_resources(dom, config)
    _default_cpu_topology(dom)
    _default_firmware(dom)
    _default_disks(dom.devices)
    _default_networks(spec, config)


def _default_resources(dom, config: ClusterConfig) -> None:
    requests, limits = dom.resources.requests, dom.resources.limits
    for key in ("memory", "cpu"):
        if key in limits and key not in requests:
            requests[key].value = limits[key].value
    if "memory" not in requests and dom.memory.HasField("guest"):
        guest = syntax.quantity_value(dom.memory.guest)
        if config.memory_overcommit == 100 or guest is None:
            requests["memory"].value = dom.memory.guest.value
        else:
            requests["memory"].value = str(math.ceil(guest * 100 / config.memory_overcommit))


def _default_cpu_topology(dom) -> None:
    cpu = dom.cpu
    fields = ("sockets", "cores", "threads")
    if not any(cpu.HasField(f) for f in fields):
        count = None
        for part in (dom.resources.limits, dom.resources.requests):
            if "cpu" in part:
                count = syntax.quantity_value(part["cpu"])
                break
        cpu.sockets = max(1, math.ceil(count)) if count is not None else 1
        cpu.cores = 1
        cpu.threads = 1
    else:
        for f in fields:
            if not cpu.HasField(f):
                setattr(cpu, f, 1)


def _default_firmware(dom) -> None:
    boot = dom.firmware.bootloader
    if dom.firmware.HasField("bootloader") and boot.HasField("efi"):
        if not boot.efi.HasField("secure_boot"):
            boot.efi.secure_boot = True
        if boot.efi.secure_boot and not dom.features.HasField("smm"):
            dom.features.smm.enabled = True


def _default_disks(devices) -> None:
    for disk in devices.disks:
        if not (disk.HasField("disk") or disk.HasField("lun") or disk.HasField("cdrom")):
            disk.disk.SetInParent()
        if disk.HasField("disk") and not disk.disk.bus:
            disk.disk.bus = DISK_BUS
        if disk.HasField("lun") and not disk.lun.bus:
            disk.lun.bus = DISK_BUS
        if disk.HasField("cdrom"):
            if not disk.cdrom.bus:
                disk.cdrom.bus = CDROM_BUS
            if not disk.cdrom.HasField("readonly"):
                disk.cdrom.readonly = True
            if not disk.cdrom.HasField("tray"):
                disk.cdrom.tray = "closed"


_BINDINGS = ("bridge", "masquerade", "sriov", "slirp", "macvtap", "passt", "binding")


def _default_networks(spec, config: ClusterConfig) -> None:
    devices = spec.domain.devices
    autoattach = not devices.HasField("autoattach_pod_interface") or devices.autoattach_pod_interface
    if not spec.networks and not devices.interfaces and autoattach:
        net = spec.networks.add()
        net.name = DEFAULT_NETWORK
        net.pod.SetInParent()
        iface = devices.interfaces.add()
        iface.name = DEFAULT_NETWORK
        getattr(iface, config.network_interface).SetInParent()
    networks = {net.name: net for net in spec.networks}
    for iface in devices.interfaces:
        net = networks.get(iface.name)
        if not any(iface.HasField(b) for b in _BINDINGS) and net is not None:
            if net.HasField("pod"):
                getattr(iface, config.network_interface).SetInParent()
            elif net.HasField("multus"):
                iface.bridge.SetInParent()
        if not iface.HasField("model") and not iface.HasField("sriov"):
            iface.model = INTERFACE_MODEL
