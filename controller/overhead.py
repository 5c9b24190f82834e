"""What a VMI asks of a node: KubeVirt's launcher memory overhead and the VMI's requests.

Owns the arithmetic KubeVirt's virt-controller does when it renders the
launcher pod's resources (`GetMemoryOverhead` in pkg/hypervisor/kvm and
`renderresources.go`): the memory overhead formula with its exact constants,
the cpu request derived from vCPUs and the cluster's cpuAllocationRatio, and
the extended resources (kvm, GPUs, host devices, hugepages) the pod requests.
The scheduler (controller/scheduling.py) is its caller. Pure: takes VMI dicts
in Kubernetes JSON form (camelCase), never talks to the API, never mutates
its input.

The overhead, summed in KubeVirt's order (reference §4.4):

    memRequest / 512                (page tables; memRequest rounded up to kB first, as KubeVirt)
    + 240Mi                         (launcher monitor, launcher, virtlogd, virtqemud, qemu)
    + 8Mi * vCPUs + 8Mi             (vCPU tables, one IOThread)
    + 32Mi   graphics unless autoattachGraphicsDevice is false
    + 128Mi  arm64 (UEFI pflash)
    + 1Gi    VFIO (GPUs, host devices, SR-IOV interfaces)
    + 1Mi    downwardMetrics volume
    + 10Mi per exec probe, + 100Mi once if any
    + 256Mi  SEV / SEV-ES / SEV-SNP
    + 53Mi   TPM
    + 100Mi  dedicated CPUs or Guaranteed QoS requested
    + domain.memory.reservedOverhead.addedOverhead
    then * additionalGuestMemoryOverheadRatio, then + network binding plugin overheads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from protos import quantity

__all__ = ["ResourceConfig", "KVM_RESOURCE", "memory_overhead", "vcpus", "vmi_requests",
           "extended_requests"]

Mi = 1024 ** 2
Gi = 1024 ** 3

# The fixed processes of every launcher pod (KubeVirt's constants).
VIRT_LAUNCHER_MONITOR = 25 * Mi
VIRT_LAUNCHER = 100 * Mi
VIRTLOGD = 25 * Mi
VIRTQEMUD = 40 * Mi
QEMU = 50 * Mi
FIXED = VIRT_LAUNCHER_MONITOR + VIRT_LAUNCHER + VIRTLOGD + VIRTQEMUD + QEMU  # 240Mi
PER_VCPU = 8 * Mi
IOTHREAD = 8 * Mi
VIDEO_RAM = 32 * Mi
ARM64_PFLASH = 128 * Mi
VFIO = 1 * Gi
DOWNWARD_METRICS = 1 * Mi
PROBE_EACH = 10 * Mi
PROBE_BINARY = 100 * Mi
SEV = 256 * Mi
TPM = 53 * Mi
DEDICATED_OR_GUARANTEED = 100 * Mi

# The device-plugin resource every non-emulated launcher pod requests.
KVM_RESOURCE = "devices.kubevirt.io/kvm"


@dataclass(frozen=True)
class ResourceConfig:
    """The cluster-wide settings (KubeVirt CR `spec.configuration`) the arithmetic reads."""

    # developerConfiguration.cpuAllocationRatio: a vCPU without a cpu request asks
    # for 1/ratio of a core (KubeVirt's default 10, so 100m per vCPU).
    cpu_allocation_ratio: int = 10
    # additionalGuestMemoryOverheadRatio, e.g. "1.5"; None leaves the overhead as is.
    additional_overhead_ratio: str | None = None
    # developerConfiguration.useEmulation: no kvm device is requested.
    use_emulation: bool = False
    # Architecture of a VMI that does not name one in spec.architecture.
    default_architecture: str = "amd64"
    # network.binding[name].computeResourceOverhead.requests.memory, in bytes, per
    # binding plugin name (an interface's `binding: {name}`).
    binding_memory_overhead: Mapping[str, int] = field(default_factory=dict)


DEFAULT_CONFIG = ResourceConfig()


def _spec(vmi: dict) -> dict:
    return vmi.get("spec") or {}


def _domain(vmi: dict) -> dict:
    return _spec(vmi).get("domain") or {}


def _resources(vmi: dict) -> tuple[dict, dict]:
    res = _domain(vmi).get("resources") or {}
    return res.get("requests") or {}, res.get("limits") or {}


def vcpus(vmi: dict) -> int:
    """The VMI's vCPU count: sockets*cores*threads, else the cpu limit, else request; at least 1."""
    cpu = _domain(vmi).get("cpu")
    if cpu is not None:
        count = 1
        for key in ("sockets", "cores", "threads"):
            count *= int(cpu.get(key) or 1)
    else:
        requests, limits = _resources(vmi)
        count = 0
        for part in (limits, requests):
            if "cpu" in part:
                count = math.ceil(quantity.parse(part["cpu"]))
                break
    return max(1, count)


def _is_vfio(vmi: dict) -> bool:
    devices = _domain(vmi).get("devices") or {}
    if devices.get("gpus") or devices.get("hostDevices"):
        return True
    return any("sriov" in iface for iface in devices.get("interfaces") or [])


def _has_downward_metrics(vmi: dict) -> bool:
    return any("downwardMetrics" in v for v in _spec(vmi).get("volumes") or [])


def _is_sev(vmi: dict) -> bool:
    security = _domain(vmi).get("launchSecurity") or {}
    return "sev" in security or "snp" in security


def _has_tpm(vmi: dict) -> bool:
    tpm = (_domain(vmi).get("devices") or {}).get("tpm")
    return tpm is not None and tpm.get("enabled", True) is not False


def _is_dedicated(vmi: dict) -> bool:
    return bool((_domain(vmi).get("cpu") or {}).get("dedicatedCpuPlacement"))


def wants_guaranteed_qos(vmi: dict) -> bool:
    """Requests equal limits for both cpu and memory, both non-zero (KubeVirt's test)."""
    requests, limits = _resources(vmi)
    for key in ("memory", "cpu"):
        if key not in requests or key not in limits:
            return False
        req = quantity.parse(requests[key])
        if req == 0 or req != quantity.parse(limits[key]):
            return False
    return True


def _exec_probes(vmi: dict) -> int:
    spec = _spec(vmi)
    return sum(1 for key in ("livenessProbe", "readinessProbe")
               if (spec.get(key) or {}).get("exec") is not None)


def _architecture(vmi: dict, config: ResourceConfig) -> str:
    return _spec(vmi).get("architecture") or config.default_architecture


def memory_overhead(vmi: dict, config: ResourceConfig = DEFAULT_CONFIG) -> int:
    """KubeVirt's launcher memory overhead for `vmi`, in bytes."""
    domain = _domain(vmi)
    devices = domain.get("devices") or {}
    # KubeVirt takes ScaledValue(Kilo) of the request (rounded up to whole kB)
    # before dividing by 512 with integer division. Admission copies a limit or
    # the guest size into requests.memory; reading them here too gives the same
    # number for an object that was never defaulted.
    overhead = -(-_guest_memory_request(vmi) // 1000) * 1000 // 512
    overhead += FIXED
    overhead += PER_VCPU * vcpus(vmi) + IOTHREAD
    if devices.get("autoattachGraphicsDevice", True) is not False:
        overhead += VIDEO_RAM
    if _architecture(vmi, config) == "arm64":
        overhead += ARM64_PFLASH
    if _is_vfio(vmi):
        overhead += VFIO
    if _has_downward_metrics(vmi):
        overhead += DOWNWARD_METRICS
    probes = _exec_probes(vmi)
    if probes:
        overhead += PROBE_EACH * probes + PROBE_BINARY
    if _is_sev(vmi):
        overhead += SEV
    if _has_tpm(vmi):
        overhead += TPM
    if _is_dedicated(vmi) or wants_guaranteed_qos(vmi):
        overhead += DEDICATED_OR_GUARANTEED
    added = ((domain.get("memory") or {}).get("reservedOverhead") or {}).get("addedOverhead")
    if added is not None:
        overhead += quantity.to_bytes(added)
    if config.additional_overhead_ratio:
        overhead = math.ceil(overhead * Fraction(config.additional_overhead_ratio))
    overhead += _binding_overhead(vmi, config)
    return overhead


def _binding_overhead(vmi: dict, config: ResourceConfig) -> int:
    plugins = {(iface.get("binding") or {}).get("name")
               for iface in (_domain(vmi).get("devices") or {}).get("interfaces") or []}
    return sum(config.binding_memory_overhead.get(p, 0) for p in plugins if p)


def _guest_memory(vmi: dict) -> int | None:
    guest = (_domain(vmi).get("memory") or {}).get("guest")
    return quantity.to_bytes(guest) if guest is not None else None


def _hugepage_size(vmi: dict) -> str | None:
    return ((_domain(vmi).get("memory") or {}).get("hugepages") or {}).get("pageSize")


def _guest_memory_request(vmi: dict) -> int:
    """The memory the guest itself needs from the pod: request, else limit, else guest."""
    requests, limits = _resources(vmi)
    for part in (requests, limits):
        if "memory" in part:
            return quantity.to_bytes(part["memory"])
    return _guest_memory(vmi) or 0


def vmi_requests(vmi: dict, config: ResourceConfig = DEFAULT_CONFIG) -> tuple[int, int]:
    """(cpu millicores, memory bytes) the VMI's launcher pod requests, overhead included.

    cpu: requests.cpu, else limits.cpu, else every vCPU whole when dedicated,
    else vCPUs / cpuAllocationRatio (rounded up to a millicore). memory: the
    guest's request plus the overhead (unless overcommitGuestOverhead); with
    hugepages the guest memory is a hugepages-<size> request instead, so only
    the overhead and any request above the guest size stay in memory.
    """
    requests, limits = _resources(vmi)
    if "cpu" in requests:
        cpu = quantity.to_millis(requests["cpu"])
    elif "cpu" in limits:
        cpu = quantity.to_millis(limits["cpu"])
    elif _is_dedicated(vmi):
        cpu = 1000 * vcpus(vmi)
    else:
        cpu = math.ceil(Fraction(1000 * vcpus(vmi), config.cpu_allocation_ratio))
    memory = _guest_memory_request(vmi)
    if _hugepage_size(vmi) is not None:
        guest = _guest_memory(vmi)
        memory = max(0, memory - guest) if guest is not None else 0
    resources = _domain(vmi).get("resources") or {}
    if not resources.get("overcommitGuestOverhead"):
        memory += memory_overhead(vmi, config)
    return cpu, memory


def extended_requests(vmi: dict, config: ResourceConfig = DEFAULT_CONFIG) -> dict[str, int]:
    """Extended resources the launcher pod requests: kvm, each GPU and host device, hugepages."""
    out: dict[str, int] = {}
    if not config.use_emulation:
        out[KVM_RESOURCE] = 1
    devices = _domain(vmi).get("devices") or {}
    for device in (devices.get("gpus") or []) + (devices.get("hostDevices") or []):
        name = device.get("deviceName")
        if name:  # DRA devices (claimName) are not device-plugin resources
            out[name] = out.get(name, 0) + 1
    size = _hugepage_size(vmi)
    if size is not None:
        guest = _guest_memory(vmi)
        out[f"hugepages-{size}"] = guest if guest is not None else _guest_memory_request(vmi)
    return out
