"""Launcher memory overhead and VMI requests, checked against hand-computed KubeVirt numbers."""

from __future__ import annotations

import copy

import pytest

from controller import overhead
from controller.overhead import KVM_RESOURCE, ResourceConfig

Mi = 1024 ** 2
Gi = 1024 ** 3

# 1Gi rounded up to whole kB (1073742 kB) then // 512: KubeVirt's page-table term.
PAGE_TABLES_1GI = 1_073_742_000 // 512
assert PAGE_TABLES_1GI == 2 * Mi
# The reference's worked example: 1 vCPU, 1Gi, defaults = 2Mi + 240Mi + 8Mi + 8Mi + 32Mi.
BASE = PAGE_TABLES_1GI + 240 * Mi + 8 * Mi + 8 * Mi + 32 * Mi


def vmi(**domain) -> dict:
    """A 1-vCPU, 1Gi VMI as admission leaves it, with `domain` keys replaced."""
    dom = {"cpu": {"sockets": 1, "cores": 1, "threads": 1},
           "resources": {"requests": {"memory": "1Gi"}},
           "devices": {}}
    dom.update(domain)
    return {"metadata": {"name": "v", "namespace": "ns"}, "spec": {"domain": dom}}


def with_spec(obj: dict, **spec) -> dict:
    obj = copy.deepcopy(obj)
    obj["spec"].update(spec)
    return obj


def test_worked_example_is_290Mi() -> None:
    """1 vCPU, 1Gi and defaults give the reference's 290Mi exactly."""
    assert overhead.memory_overhead(vmi()) == BASE == 290 * Mi


def test_page_tables_round_the_request_up_to_kilobytes_first() -> None:
    """4Gi: ceil(4294967296/1000)*1000 // 512 = 8388609, one byte above 4Gi/512 (KubeVirt's ScaledValue)."""
    v = vmi(cpu={"sockets": 2, "cores": 2, "threads": 1},
            resources={"requests": {"memory": "4Gi"}},
            devices={"autoattachGraphicsDevice": False})
    assert overhead.memory_overhead(v) == 8_388_609 + 240 * Mi + 4 * 8 * Mi + 8 * Mi


ADDITIONS = [
    ("graphics off", vmi(devices={"autoattachGraphicsDevice": False}), -32 * Mi),
    ("graphics explicitly on", vmi(devices={"autoattachGraphicsDevice": True}), 0),
    ("arm64", with_spec(vmi(), architecture="arm64"), 128 * Mi),
    ("gpu (VFIO)", vmi(devices={"gpus": [{"name": "g", "deviceName": "nvidia.com/A10"}]}), 1 * Gi),
    ("host device (VFIO)", vmi(devices={"hostDevices": [{"name": "h", "deviceName": "x/y"}]}), 1 * Gi),
    ("sriov interface (VFIO)", vmi(devices={"interfaces": [{"name": "n", "sriov": {}}]}), 1 * Gi),
    ("downwardMetrics volume", with_spec(vmi(), volumes=[{"name": "m", "downwardMetrics": {}}]), 1 * Mi),
    ("one exec probe", with_spec(vmi(), livenessProbe={"exec": {"command": ["true"]}}), 110 * Mi),
    ("two exec probes", with_spec(vmi(), livenessProbe={"exec": {"command": ["true"]}},
                                  readinessProbe={"exec": {"command": ["true"]}}), 120 * Mi),
    ("non-exec probe", with_spec(vmi(), readinessProbe={"tcpSocket": {"port": 22}}), 0),
    ("sev", vmi(launchSecurity={"sev": {}}), 256 * Mi),
    ("sev-snp", vmi(launchSecurity={"snp": {}}), 256 * Mi),
    ("tpm", vmi(devices={"tpm": {}}), 53 * Mi),
    ("tpm disabled", vmi(devices={"tpm": {"enabled": False}}), 0),
    ("dedicated cpus", vmi(cpu={"sockets": 1, "cores": 1, "threads": 1,
                                "dedicatedCpuPlacement": True}), 100 * Mi),
    ("guaranteed qos", vmi(resources={"requests": {"memory": "1Gi", "cpu": "1"},
                                      "limits": {"memory": "1Gi", "cpu": "1"}}), 100 * Mi),
    ("requests differ from limits", vmi(resources={"requests": {"memory": "1Gi", "cpu": "1"},
                                                   "limits": {"memory": "1Gi", "cpu": "2"}}), 0),
    ("reserved addedOverhead", vmi(memory={"reservedOverhead": {"addedOverhead": "64Mi"}}), 64 * Mi),
    ("8 vCPUs", vmi(cpu={"sockets": 2, "cores": 2, "threads": 2}), 7 * 8 * Mi),
]


@pytest.mark.parametrize("obj,delta", [(o, d) for _, o, d in ADDITIONS],
                         ids=[n for n, _, _ in ADDITIONS])
def test_each_term_of_the_formula(obj: dict, delta: int) -> None:
    """Each term of §4.4 adds exactly its constant to the 290Mi base."""
    assert overhead.memory_overhead(obj) == BASE + delta


def test_ratio_is_applied_last_and_binding_overhead_after_it() -> None:
    """additionalGuestMemoryOverheadRatio multiplies the sum; binding plugin overhead is added after."""
    config = ResourceConfig(additional_overhead_ratio="1.5",
                            binding_memory_overhead={"passt": 250 * Mi})
    v = vmi(memory={"reservedOverhead": {"addedOverhead": "10Mi"}},
            devices={"interfaces": [{"name": "a", "binding": {"name": "passt"}},
                                    {"name": "b", "binding": {"name": "passt"}}]})
    assert overhead.memory_overhead(v, config) == (BASE + 10 * Mi) * 3 // 2 + 250 * Mi


@pytest.mark.parametrize("domain,expected", [
    ({"cpu": {"sockets": 2, "cores": 3, "threads": 2}}, 12),
    ({"cpu": {"cores": 4}}, 4),
    ({"cpu": {}}, 1),
    ({"cpu": None, "resources": {"limits": {"cpu": "2500m"}, "requests": {"cpu": "1"}}}, 3),
    ({"cpu": None, "resources": {"requests": {"cpu": "2"}}}, 2),
    ({"cpu": None, "resources": {"requests": {"cpu": "100m"}}}, 1),
    ({"cpu": None, "resources": {}}, 1),
])
def test_vcpus(domain: dict, expected: int) -> None:
    """vCPUs come from the topology, else the cpu limit, else the request (rounded up), at least 1."""
    v = vmi(**domain)
    if domain.get("cpu", 0) is None:
        del v["spec"]["domain"]["cpu"]
    assert overhead.vcpus(v) == expected


@pytest.mark.parametrize("domain,config,cpu", [
    ({}, ResourceConfig(), 100),
    ({"cpu": {"sockets": 4, "cores": 1, "threads": 1}}, ResourceConfig(), 400),
    ({}, ResourceConfig(cpu_allocation_ratio=3), 334),
    ({"resources": {"requests": {"memory": "1Gi", "cpu": "2"}}}, ResourceConfig(), 2000),
    ({"resources": {"requests": {"memory": "1Gi"}, "limits": {"cpu": "1500m"}}}, ResourceConfig(), 1500),
    ({"cpu": {"sockets": 2, "cores": 1, "threads": 1, "dedicatedCpuPlacement": True}},
     ResourceConfig(), 2000),
])
def test_cpu_request(domain: dict, config: ResourceConfig, cpu: int) -> None:
    """The cpu request is requests.cpu, else limits.cpu, else whole dedicated vCPUs, else vCPUs / cpuAllocationRatio."""
    assert overhead.vmi_requests(vmi(**domain), config)[0] == cpu


def test_memory_request_is_guest_request_plus_overhead() -> None:
    """A 1Gi VMI asks for 1Gi + 290Mi."""
    assert overhead.vmi_requests(vmi()) == (100, 1 * Gi + 290 * Mi)


def test_memory_request_falls_back_to_limit_then_guest() -> None:
    """Without requests.memory, the limit and then domain.memory.guest stand in (as admission would default)."""
    by_limit = vmi(resources={"limits": {"memory": "1Gi"}})
    by_guest = vmi(resources={}, memory={"guest": "1Gi"})
    assert overhead.vmi_requests(by_limit)[1] == 1 * Gi + 290 * Mi
    assert overhead.vmi_requests(by_guest)[1] == 1 * Gi + 290 * Mi


def test_overcommit_guest_overhead_leaves_overhead_out() -> None:
    """resources.overcommitGuestOverhead: the request is the guest's alone."""
    v = vmi(resources={"requests": {"memory": "1Gi"}, "overcommitGuestOverhead": True})
    assert overhead.vmi_requests(v)[1] == 1 * Gi


def test_hugepages_move_guest_memory_to_a_hugepages_resource() -> None:
    """With hugepages, memory holds only the overhead (and any request above guest); hugepages-<size> the guest."""
    v = vmi(memory={"guest": "1Gi", "hugepages": {"pageSize": "2Mi"}})
    assert overhead.vmi_requests(v)[1] == 290 * Mi
    assert overhead.extended_requests(v)["hugepages-2Mi"] == 1 * Gi
    bigger = vmi(resources={"requests": {"memory": "1536Mi"}},
                 memory={"guest": "1Gi", "hugepages": {"pageSize": "1Gi"}})
    assert overhead.vmi_requests(bigger)[1] == 512 * Mi + overhead.memory_overhead(bigger)
    assert overhead.extended_requests(bigger)["hugepages-1Gi"] == 1 * Gi


def test_extended_requests_count_kvm_gpus_and_host_devices() -> None:
    """kvm once, each GPU/host device by deviceName (DRA claims excluded); none of kvm under emulation."""
    v = vmi(devices={"gpus": [{"name": "a", "deviceName": "nvidia.com/A10"},
                              {"name": "b", "deviceName": "nvidia.com/A10"},
                              {"name": "c", "claimName": "dra"}],
                     "hostDevices": [{"name": "h", "deviceName": "intel.com/qat"}]})
    assert overhead.extended_requests(v) == {KVM_RESOURCE: 1, "nvidia.com/A10": 2, "intel.com/qat": 1}
    assert overhead.extended_requests(vmi(), ResourceConfig(use_emulation=True)) == {}


def test_input_is_not_mutated() -> None:
    """Computing requests leaves the VMI dict as it was."""
    v = vmi(memory={"guest": "1Gi", "hugepages": {"pageSize": "2Mi"}})
    before = copy.deepcopy(v)
    overhead.vmi_requests(v)
    overhead.extended_requests(v)
    assert v == before
