"""Memory, vCPUs, CPU model, hypervisor features and clock of the domain.

Owns the mapping of spec.domain.{memory,resources,cpu,features,clock} to
<memory>, <memoryBacking>, <vcpu>, <cpu>, <features> and <clock>, and the
choice of CPU mode for the accelerator (KVM: host-model by default; TCG: the
emulator's maximum model (-cpu max), since host-model and host-passthrough need KVM). Never
decides anything about devices or firmware.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from launcher.domain.causes import DOM, Causes
from launcher.domain.context import DomainContext
from launcher.domain.xmlwriter import append, element, on_off
from protos import quantity
from protos.kubevirt.v1 import vmi_pb2

HUGEPAGE_SIZES_KIB = {"2Mi": 2048, "1Gi": 1048576}
HOST_MODES = ("host-model", "host-passthrough")
CPU_FEATURE_POLICIES = ("force", "require", "optional", "disable", "forbid")


def guest_memory_bytes(vmi: vmi_pb2.VirtualMachineInstance, causes: Causes) -> int | None:
    """Guest RAM: memory.guest, else the memory request (admission fills one in)."""
    dom = vmi.spec.domain
    if dom.memory.HasField("guest"):
        where, q = f"{DOM}.memory.guest", dom.memory.guest
    elif "memory" in dom.resources.requests:
        where, q = f"{DOM}.resources.requests.memory", dom.resources.requests["memory"]
    else:
        causes.required(f"{DOM}.resources.requests.memory",
                        "the guest needs memory: set domain.memory.guest or "
                        "resources.requests.memory")
        return None
    try:
        size = quantity.to_bytes(q)
    except quantity.QuantityError as e:
        causes.invalid(where, str(e))
        return None
    if size <= 0:
        causes.invalid(where, f"guest memory must be positive, not {q.value}")
        return None
    if dom.memory.HasField("max_guest"):
        try:
            if quantity.to_bytes(dom.memory.max_guest) != size:
                causes.unsupported(f"{DOM}.memory.maxGuest",
                                   "memory hotplug (maxGuest above guest) is not supported; "
                                   "leave maxGuest unset or equal to guest")
        except quantity.QuantityError as e:
            causes.invalid(f"{DOM}.memory.maxGuest", str(e))
    return size


def memory(vmi: vmi_pb2.VirtualMachineInstance, causes: Causes) -> list[ET.Element]:
    size = guest_memory_bytes(vmi, causes)
    if size is None:
        return []
    return [element("memory", {"unit": "b"}, text=size),
            element("currentMemory", {"unit": "b"}, text=size)]


def memory_backing(vmi: vmi_pb2.VirtualMachineInstance, ctx: DomainContext,
                   causes: Causes) -> ET.Element | None:
    """Hugepages, or file-backed shared RAM (dirty-page tracking), or nothing."""
    mem = vmi.spec.domain.memory
    if mem.HasField("hugepages"):
        where = f"{DOM}.memory.hugepages"
        if ctx.shared_memory_file:
            causes.unsupported(where, "hugepages cannot be combined with the node's file-backed "
                               "shared guest memory (dirty-page tracking); remove hugepages")
            return None
        page = mem.hugepages.page_size
        if page not in HUGEPAGE_SIZES_KIB:
            causes.invalid(f"{where}.pageSize",
                           f"page size \"{page}\" is not supported; use one of: 2Mi, 1Gi")
            return None
        return element("memoryBacking", {},
                       element("hugepages", {}, element(
                           "page", {"size": HUGEPAGE_SIZES_KIB[page], "unit": "KiB"})))
    if ctx.shared_memory_file:
        # The file's directory is the daemon's memory_backing_dir (qemu.conf); the XML
        # only says "file-backed, mapped shared".
        return element("memoryBacking", {},
                       element("source", {"type": "file"}),
                       element("access", {"mode": "shared"}))
    return None


def vcpu_count(vmi: vmi_pb2.VirtualMachineInstance) -> int:
    cpu = vmi.spec.domain.cpu
    return max(cpu.sockets, 1) * max(cpu.cores, 1) * max(cpu.threads, 1)


def vcpu(vmi: vmi_pb2.VirtualMachineInstance, causes: Causes) -> ET.Element:
    cpu = vmi.spec.domain.cpu
    where = f"{DOM}.cpu"
    if cpu.HasField("max_sockets") and cpu.max_sockets != max(cpu.sockets, 1):
        causes.unsupported(f"{where}.maxSockets", "CPU hotplug (maxSockets above sockets) is "
                           "not supported; leave maxSockets unset or equal to sockets")
    for name, json in (("dedicated_cpu_placement", "dedicatedCpuPlacement"),
                       ("isolate_emulator_thread", "isolateEmulatorThread")):
        if getattr(cpu, name):
            causes.unsupported(f"{where}.{json}",
                               "dedicated CPU placement needs a CPU manager this node does not "
                               "run; remove it")
    if cpu.HasField("numa"):
        causes.unsupported(f"{where}.numa", "guest NUMA mapping is not supported; remove it")
    if cpu.HasField("realtime"):
        causes.unsupported(f"{where}.realtime", "realtime vCPUs are not supported; remove it")
    return element("vcpu", {"placement": "static"}, text=vcpu_count(vmi))


def cpu(vmi: vmi_pb2.VirtualMachineInstance, ctx: DomainContext, causes: Causes) -> ET.Element:
    """<cpu>: mode for the accelerator, named model, features, topology."""
    spec = vmi.spec.domain.cpu
    model = spec.model
    where = f"{DOM}.cpu"
    if ctx.accelerator == "tcg" and (not model or model in HOST_MODES):
        # host-model/host-passthrough describe the host CPU under KVM; an emulated guest
        # gets every feature the emulator has: QEMU's `max` model (KubeVirt does the same
        # under useEmulation). libvirt 9.0 knows no custom model "max" ("Unknown CPU
        # model max" at start); mode maximum is its spelling of -cpu max.
        node = element("cpu", {"mode": "maximum", "check": "none"})
    elif not model or model in HOST_MODES:
        node = element("cpu", {"mode": model or "host-model", "check": "partial"
                               if (model or "host-model") == "host-model" else "none"})
    else:
        node = element("cpu", {"mode": "custom", "match": "exact", "check": "partial"},
                       element("model", {"fallback": "allow"}, text=model))
    for i, feature in enumerate(spec.features):
        policy = feature.policy or "require"
        if not feature.name:
            causes.required(f"{where}.features[{i}].name", "a CPU feature needs a name")
            continue
        if policy not in CPU_FEATURE_POLICIES:
            causes.invalid(f"{where}.features[{i}].policy",
                           f"policy \"{policy}\" is not one of: {', '.join(CPU_FEATURE_POLICIES)}")
            continue
        append(node, [element("feature", {"policy": policy, "name": feature.name})])
    append(node, [element("topology", {"sockets": max(spec.sockets, 1), "dies": 1,
                                       "cores": max(spec.cores, 1),
                                       "threads": max(spec.threads, 1)})])
    return node


def _state(feature, default: bool = True) -> bool:
    """A KubeVirt FeatureState: enabled unless `enabled: false` is written."""
    return feature.enabled if feature.HasField("enabled") else default


_HYPERV_SIMPLE = (  # KubeVirt field -> libvirt element, in libvirt's order
    ("relaxed", "relaxed"), ("vapic", "vapic"), ("vpindex", "vpindex"), ("runtime", "runtime"),
    ("synic", "synic"), ("reset", "reset"), ("frequencies", "frequencies"),
    ("reenlightenment", "reenlightenment"), ("tlbflush", "tlbflush"), ("ipi", "ipi"),
    ("evmcs", "evmcs"))


def _hyperv(features) -> ET.Element | None:
    if features.HasField("hyperv_passthrough") and _state(features.hyperv_passthrough):
        return element("hyperv", {"mode": "passthrough"})
    if not features.HasField("hyperv"):
        return None
    hv = features.hyperv
    node = element("hyperv", {"mode": "custom"})
    for field, tag in _HYPERV_SIMPLE[:4]:
        if hv.HasField(field):
            append(node, [element(tag, {"state": on_off(_state(getattr(hv, field)))})])
    if hv.HasField("spinlocks"):
        on = _state(hv.spinlocks)
        retries = hv.spinlocks.spinlocks if hv.spinlocks.HasField("spinlocks") else 4096
        append(node, [element("spinlocks", {"state": on_off(on),
                                            "retries": retries if on else None})])
    for field, tag in _HYPERV_SIMPLE[4:]:
        if hv.HasField(field):
            append(node, [element(tag, {"state": on_off(_state(getattr(hv, field)))})])
    if hv.HasField("synictimer"):
        timer = element("stimer", {"state": on_off(_state(hv.synictimer))})
        if hv.synictimer.HasField("direct"):
            append(timer, [element("direct", {"state": on_off(_state(hv.synictimer.direct))})])
        append(node, [timer])
    if hv.HasField("vendorid"):
        on = _state(hv.vendorid)
        append(node, [element("vendor_id", {"state": on_off(on),
                                            "value": hv.vendorid.vendorid if on else None})])
    return node


def features(vmi: vmi_pb2.VirtualMachineInstance) -> ET.Element:
    """<features>: ACPI unless disabled, the ones the spec names, and vmport off (amd64)."""
    f = vmi.spec.domain.features
    node = element("features")
    if not f.HasField("acpi") or _state(f.acpi):
        append(node, [element("acpi")])
    if f.HasField("apic") and _state(f.apic):
        eoi = on_off(f.apic.end_of_interrupt) if f.apic.HasField("end_of_interrupt") else None
        append(node, [element("apic", {"eoi": eoi})])
    append(node, [_hyperv(f)])
    if f.HasField("kvm") and f.kvm.hidden:
        append(node, [element("kvm", {}, element("hidden", {"state": "on"}))])
    if f.HasField("pvspinlock"):
        append(node, [element("pvspinlock", {"state": on_off(_state(f.pvspinlock))})])
    append(node, [element("vmport", {"state": "off"})])
    if f.HasField("smm"):
        append(node, [element("smm", {"state": on_off(_state(f.smm))})])
    return node


_TIMERS = (("hpet", "hpet"), ("kvm", "kvmclock"), ("pit", "pit"), ("rtc", "rtc"),
           ("hyperv", "hypervclock"))


def clock(vmi: vmi_pb2.VirtualMachineInstance) -> ET.Element:
    """<clock>: UTC unless a timezone is named; timers only as the spec gives them."""
    spec = vmi.spec.domain.clock
    if spec.HasField("timezone"):
        node = element("clock", {"offset": "timezone", "timezone": spec.timezone})
    elif spec.utc.HasField("offset_seconds"):
        node = element("clock", {"offset": "variable", "basis": "utc",
                                 "adjustment": spec.utc.offset_seconds})
    else:
        node = element("clock", {"offset": "utc"})
    for field, name in _TIMERS:
        if not spec.timer.HasField(field):
            continue
        attrs = getattr(spec.timer, field)
        present = attrs.present if attrs.HasField("present") else True
        append(node, [element("timer", {
            "name": name,
            "tickpolicy": (attrs.tick_policy or None) if present else None,
            "track": (attrs.track or None) if present and name == "rtc" else None,
            "present": "yes" if present else "no"})])
    return node
