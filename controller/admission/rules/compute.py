"""Rules on a VMI's compute: resources, guest memory, hugepages, CPU, machine type.

Owns KubeVirt's checks on `domain.resources`, `domain.memory`, `domain.cpu` and
`domain.machine` (the vmi-create admitter's memory, CPU, dedicated-CPU, NUMA and
machine-type validators). Quantities are compared exactly; an unparsable one is
reported once, by quantity-invalid, and skipped by every other rule here.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterator
from fractions import Fraction

from controller.admission import syntax
from controller.admission.config import GATE_NUMA
from controller.admission.messages import invalid, not_supported, quoted, required
from controller.admission.targets import Target
from protos.errors import FieldCause

HUGEPAGE_SIZES = {"2Mi": 2 * 1024**2, "1Gi": 1024**3}
CPU_FEATURE_POLICIES = ("force", "require", "optional", "disable", "forbid")


def _quantity(resources_map, key: str) -> Fraction | None:
    return syntax.quantity_value(resources_map[key]) if key in resources_map else None


def quantity_invalid(t: Target) -> Iterator[FieldCause]:
    dom = t.msg.domain
    res = dom.resources
    for part in ("requests", "limits"):
        values = getattr(res, part)
        for key in sorted(values):
            problem = syntax.quantity_problem(values[key])
            if problem:
                yield invalid(t.at(f"domain.resources.{part}.{key}"), problem)
    for name, json in (("guest", "guest"), ("max_guest", "maxGuest")):
        if dom.memory.HasField(name):
            problem = syntax.quantity_problem(getattr(dom.memory, name))
            if problem:
                yield invalid(t.at(f"domain.memory.{json}"), problem)
    for i, vol in enumerate(t.msg.volumes):
        for source, json in (("empty_disk", "emptyDisk"), ("host_disk", "hostDisk")):
            src = getattr(vol, source)
            if vol.HasField(source) and src.HasField("capacity"):
                problem = syntax.quantity_problem(src.capacity)
                if problem:
                    yield invalid(t.at(f"volumes[{i}].{json}.capacity"), problem)


def memory_required(t: Target) -> Iterator[FieldCause]:
    dom = t.msg.domain
    if not dom.memory.HasField("guest") and "memory" not in dom.resources.requests \
            and "memory" not in dom.resources.limits:
        yield required(t.at("domain.resources.requests.memory"),
                       "no memory requested; set at least one of domain.memory.guest, "
                       "domain.resources.requests.memory or domain.resources.limits.memory")


def resources_not_negative(t: Target) -> Iterator[FieldCause]:
    res = t.msg.domain.resources
    for part in ("requests", "limits"):
        values = getattr(res, part)
        for key in ("memory", "cpu"):
            value = _quantity(values, key)
            if value is not None and value < 0:
                yield invalid(t.at(f"domain.resources.{part}.{key}"),
                              f"{key} {quoted(values[key].value)} is negative; use a quantity of 0 or more")


def memory_minimum(t: Target) -> Iterator[FieldCause]:
    dom = t.msg.domain
    minimum = t.config.minimum_guest_memory
    checks = [("domain.resources.requests.memory", _quantity(dom.resources.requests, "memory"))]
    if dom.memory.HasField("guest"):
        checks.append(("domain.memory.guest", syntax.quantity_value(dom.memory.guest)))
    for path, value in checks:
        if value is not None and 0 <= value < minimum:
            yield invalid(t.at(path), f"{syntax.show(value)} bytes is below the minimum guest "
                                      f"memory; use at least {minimum} bytes (1M)")


def memory_request_above_limit(t: Target) -> Iterator[FieldCause]:
    res = t.msg.domain.resources
    request, limit = _quantity(res.requests, "memory"), _quantity(res.limits, "memory")
    if request is not None and limit is not None and request > limit:
        yield invalid(t.at("domain.resources.requests.memory"),
                      f"memory request {quoted(res.requests['memory'].value)} is greater than the "
                      f"memory limit {quoted(res.limits['memory'].value)}; the request must be at most "
                      f"the limit")


def cpu_request_above_limit(t: Target) -> Iterator[FieldCause]:
    res = t.msg.domain.resources
    request, limit = _quantity(res.requests, "cpu"), _quantity(res.limits, "cpu")
    if request is not None and limit is not None and request > limit:
        yield invalid(t.at("domain.resources.requests.cpu"),
                      f"cpu request {quoted(res.requests['cpu'].value)} is greater than the cpu limit "
                      f"{quoted(res.limits['cpu'].value)}; the request must be at most the limit")


def memory_guest_above_limit(t: Target) -> Iterator[FieldCause]:
    dom = t.msg.domain
    if not dom.memory.HasField("guest"):
        return
    guest, limit = syntax.quantity_value(dom.memory.guest), _quantity(dom.resources.limits, "memory")
    if guest is not None and limit is not None and guest > limit:
        yield invalid(t.at("domain.memory.guest"),
                      f"guest memory {quoted(dom.memory.guest.value)} is greater than the memory limit "
                      f"{quoted(dom.resources.limits['memory'].value)}; it must be equal to or less "
                      f"than the limit")


def memory_max_guest(t: Target) -> Iterator[FieldCause]:
    mem = t.msg.domain.memory
    if not mem.HasField("max_guest"):
        return
    top = syntax.quantity_value(mem.max_guest)
    guest = syntax.quantity_value(mem.guest) if mem.HasField("guest") else None
    if top is not None and guest is not None and top < guest:
        yield invalid(t.at("domain.memory.maxGuest"),
                      f"maxGuest {quoted(mem.max_guest.value)} is less than guest {quoted(mem.guest.value)}; "
                      f"maxGuest must be at least the guest memory")


def hugepages_page_size(t: Target) -> Iterator[FieldCause]:
    mem = t.msg.domain.memory
    if mem.HasField("hugepages") and mem.hugepages.page_size not in HUGEPAGE_SIZES:
        yield not_supported(t.at("domain.memory.hugepages.pageSize"), "hugepages pageSize",
                            mem.hugepages.page_size, HUGEPAGE_SIZES)


def hugepages_memory_multiple(t: Target) -> Iterator[FieldCause]:
    dom = t.msg.domain
    mem = dom.memory
    if not mem.HasField("hugepages") or mem.hugepages.page_size not in HUGEPAGE_SIZES:
        return
    page = HUGEPAGE_SIZES[mem.hugepages.page_size]
    if mem.HasField("guest"):
        path, text, value = "domain.memory.guest", mem.guest.value, syntax.quantity_value(mem.guest)
    elif "memory" in dom.resources.requests:
        q = dom.resources.requests["memory"]
        path, text, value = "domain.resources.requests.memory", q.value, syntax.quantity_value(q)
    else:
        return
    if value is None:
        return
    if value < page or value % page:
        yield invalid(t.at(path), f"guest memory {quoted(text)} is not a multiple of the hugepage size "
                                  f"{mem.hugepages.page_size}; use a whole number of pages "
                                  f"({page} bytes each), at least one")


def machine_type_allowed(t: Target) -> Iterator[FieldCause]:
    machine = t.msg.domain.machine
    patterns = t.config.emulated_machines
    if machine.type and not any(fnmatch.fnmatchcase(machine.type, p) for p in patterns):
        yield invalid(t.at("domain.machine.type"),
                      f"machine type {quoted(machine.type)} is not supported; use one matching: "
                      f"{', '.join(patterns)}")


def cpu_topology_minimum(t: Target) -> Iterator[FieldCause]:
    cpu = t.msg.domain.cpu
    for name in ("sockets", "cores", "threads", "max_sockets"):
        if cpu.HasField(name) and getattr(cpu, name) < 1:
            json = "maxSockets" if name == "max_sockets" else name
            yield invalid(t.at(f"domain.cpu.{json}"), f"{json} is 0; use 1 or more")


def _vcpus(cpu) -> int:
    return max(cpu.sockets, 1) * max(cpu.cores, 1) * max(cpu.threads, 1)


def cpu_topology_over_limit(t: Target) -> Iterator[FieldCause]:
    dom = t.msg.domain
    limit = _quantity(dom.resources.limits, "cpu")
    if limit is None or limit <= 0 or not any(dom.cpu.HasField(f) for f in ("sockets", "cores", "threads")):
        return
    vcpus, allowed = _vcpus(dom.cpu), math.ceil(limit)
    if vcpus > allowed:
        yield invalid(t.at("domain.cpu"),
                      f"sockets x cores x threads is {vcpus} vCPUs but the cpu limit "
                      f"{quoted(dom.resources.limits['cpu'].value)} allows {allowed}; use a topology of at "
                      f"most {allowed} vCPUs or raise the limit")


def dedicated_cpu_integral(t: Target) -> Iterator[FieldCause]:
    dom = t.msg.domain
    if not dom.cpu.dedicated_cpu_placement:
        return
    for part in ("requests", "limits"):
        values = getattr(dom.resources, part)
        value = _quantity(values, "cpu")
        if value is not None and value.denominator != 1:
            yield invalid(t.at(f"domain.resources.{part}.cpu"),
                          f"cpu {quoted(values['cpu'].value)} is not a whole number; dedicatedCpuPlacement "
                          f"needs whole CPUs, like 2")


def dedicated_cpu_request_equals_limit(t: Target) -> Iterator[FieldCause]:
    dom = t.msg.domain
    if not dom.cpu.dedicated_cpu_placement:
        return
    res = dom.resources
    request, limit = _quantity(res.requests, "cpu"), _quantity(res.limits, "cpu")
    if request is not None and limit is not None and request != limit:
        yield invalid(t.at("domain.resources.requests.cpu"),
                      f"cpu request {quoted(res.requests['cpu'].value)} differs from the cpu limit "
                      f"{quoted(res.limits['cpu'].value)}; dedicatedCpuPlacement needs them equal "
                      f"(or set only one)")


def dedicated_cpu_threads(t: Target) -> Iterator[FieldCause]:
    cpu = t.msg.domain.cpu
    if cpu.dedicated_cpu_placement and cpu.threads > 2:
        yield invalid(t.at("domain.cpu.threads"),
                      f"threads {cpu.threads} is more than dedicatedCpuPlacement supports; use 1 or 2")


def isolate_emulator_thread(t: Target) -> Iterator[FieldCause]:
    cpu = t.msg.domain.cpu
    if cpu.isolate_emulator_thread and not cpu.dedicated_cpu_placement:
        yield invalid(t.at("domain.cpu.isolateEmulatorThread"),
                      "isolateEmulatorThread is only allowed together with "
                      "dedicatedCpuPlacement: true")


def cpu_feature_policy(t: Target) -> Iterator[FieldCause]:
    for i, feature in enumerate(t.msg.domain.cpu.features):
        if not feature.name:
            yield required(t.at(f"domain.cpu.features[{i}].name"), "name the CPU feature, like vmx")
        if feature.HasField("policy") and feature.policy not in CPU_FEATURE_POLICIES:
            yield not_supported(t.at(f"domain.cpu.features[{i}].policy"), "CPU feature policy",
                                feature.policy, CPU_FEATURE_POLICIES)


def numa_passthrough(t: Target) -> Iterator[FieldCause]:
    dom = t.msg.domain
    if not dom.cpu.numa.HasField("guest_mapping_passthrough"):
        return
    path = t.at("domain.cpu.numa.guestMappingPassthrough")
    if not t.config.gate(GATE_NUMA):
        yield invalid(path, f"guestMappingPassthrough needs the {GATE_NUMA} feature gate, which "
                            f"is not enabled")
    if not dom.cpu.dedicated_cpu_placement:
        yield invalid(path, "guestMappingPassthrough needs dedicatedCpuPlacement: true")
    if not dom.memory.HasField("hugepages"):
        yield invalid(path, "guestMappingPassthrough needs hugepages (domain.memory.hugepages)")


def realtime(t: Target) -> Iterator[FieldCause]:
    cpu = t.msg.domain.cpu
    if not cpu.HasField("realtime"):
        return
    if not cpu.dedicated_cpu_placement or not cpu.numa.HasField("guest_mapping_passthrough"):
        yield invalid(t.at("domain.cpu.realtime"),
                      "realtime needs dedicatedCpuPlacement: true and "
                      "numa.guestMappingPassthrough: {}")
