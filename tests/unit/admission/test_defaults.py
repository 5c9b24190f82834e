"""Defaulting: each KubeVirt default, applied to a copy, as a fixed point."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.admission import ClusterConfig, admit, default, firmware_uuid
from protos import codec
from tests.unit.admission.manifests import DEV, DOM, build, decode

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((REPO / "examples" / "kubevirt").glob("*.yaml"))
CONFIG = ClusterConfig()


def defaulted(base: str = "vmi", patches: dict | None = None, config: ClusterConfig = CONFIG) -> dict:
    return codec.encode(default(decode(build(base, patches)), config))


def test_machine_type_defaults_to_q35_when_absent_or_empty() -> None:
    """An unset or empty machine type becomes the cluster's (q35); a set one is kept."""
    assert defaulted()["spec"]["domain"]["machine"] == {"type": "q35"}
    assert defaulted("vmi", {f"{DOM}.machine": {"type": ""}})["spec"]["domain"]["machine"] == {"type": "q35"}
    kept = defaulted("vmi", {f"{DOM}.machine": {"type": "pc-q35-rhel9.2.0"}})
    assert kept["spec"]["domain"]["machine"]["type"] == "pc-q35-rhel9.2.0"


def test_pod_network_and_masquerade_interface_are_added_when_none_given() -> None:
    """No networks and no interfaces: a pod network 'default' and a masquerade virtio NIC."""
    spec = defaulted()["spec"]
    assert spec["networks"] == [{"name": "default", "pod": {}}]
    assert spec["domain"]["devices"]["interfaces"] == [
        {"name": "default", "model": "virtio", "masquerade": {}}]


def test_no_default_network_when_autoattach_is_off_or_networks_are_given() -> None:
    """autoattachPodInterface: false, or any network of the user's own, suppresses the default."""
    off = defaulted("vmi", {f"{DEV}.autoattachPodInterface": False})["spec"]
    assert "networks" not in off and "interfaces" not in off["domain"]["devices"]
    own = defaulted("vmi", {"spec.networks": [{"name": "n", "multus": {"networkName": "x"}}],
                            f"{DEV}.interfaces": [{"name": "n", "bridge": {}}]})["spec"]
    assert own["networks"] == [{"name": "n", "multus": {"networkName": "x"}}]


def test_cluster_default_binding_is_used_for_the_pod_network() -> None:
    """The default interface's binding comes from ClusterConfig.network_interface."""
    spec = defaulted(config=ClusterConfig(network_interface="bridge"))["spec"]
    assert spec["domain"]["devices"]["interfaces"][0]["bridge"] == {}


def test_interface_without_binding_gets_one_for_its_network_type() -> None:
    """No binding: masquerade on the pod network, bridge on a multus network."""
    spec = defaulted("vmi", {"spec.networks": [{"name": "p", "pod": {}},
                                               {"name": "m", "multus": {"networkName": "x"}}],
                             f"{DEV}.interfaces": [{"name": "p"}, {"name": "m"}]})["spec"]
    p, m = spec["domain"]["devices"]["interfaces"]
    assert p["masquerade"] == {} and m["bridge"] == {}


def test_sriov_interfaces_get_no_model() -> None:
    """An SR-IOV VF is the real NIC: no emulated model is defaulted."""
    spec = defaulted("vmi", {"spec.networks": [{"name": "f", "multus": {"networkName": "x"}}],
                             f"{DEV}.interfaces": [{"name": "f", "sriov": {}}]})["spec"]
    assert "model" not in spec["domain"]["devices"]["interfaces"][0]


def test_disk_targets_and_buses_are_defaulted() -> None:
    """No target: disk {bus: virtio}; lun bus virtio; cdrom bus sata, readonly, tray closed."""
    disks = defaulted("vmi", {f"{DEV}.disks[0]": {"name": "root"},
                              f"{DEV}.disks[1]": {"name": "l", "lun": {}},
                              f"{DEV}.disks[2]": {"name": "c", "cdrom": {}}})["spec"]["domain"]["devices"]["disks"]
    assert disks[0]["disk"] == {"bus": "virtio"}
    assert disks[1]["lun"] == {"bus": "virtio"}
    assert disks[2]["cdrom"] == {"bus": "sata", "readonly": True, "tray": "closed"}


def test_cpu_topology_defaults_to_sockets_from_the_cpu_limit() -> None:
    """No topology: sockets = the cpu limit rounded up (else the request, else 1), cores = threads = 1."""
    cpu = defaulted("vmi", {f"{DOM}.resources.limits": {"cpu": "2500m"}})["spec"]["domain"]["cpu"]
    assert cpu == {"cores": 1, "sockets": 3, "threads": 1}
    cpu = defaulted("vmi", {f"{DOM}.resources.requests.cpu": "2"})["spec"]["domain"]["cpu"]
    assert cpu == {"cores": 1, "sockets": 2, "threads": 1}
    assert defaulted()["spec"]["domain"]["cpu"] == {"cores": 1, "sockets": 1, "threads": 1}


def test_partial_cpu_topology_is_completed_with_ones() -> None:
    """cores: 4 alone becomes 1 socket x 4 cores x 1 thread."""
    cpu = defaulted("vmi", {f"{DOM}.cpu": {"cores": 4}})["spec"]["domain"]["cpu"]
    assert cpu == {"cores": 4, "sockets": 1, "threads": 1}


def test_requests_default_from_limits_and_guest_memory() -> None:
    """requests.cpu/memory copy the limits when unset; requests.memory copies memory.guest."""
    res = defaulted("vmi", {f"{DOM}.resources": {"limits": {"cpu": "2", "memory": "1Gi"}}})["spec"]["domain"]["resources"]
    assert res["requests"] == {"cpu": "2", "memory": "1Gi"}
    res = defaulted("vmi", {f"{DOM}.resources": {}, f"{DOM}.memory": {"guest": "512Mi"}})["spec"]["domain"]["resources"]
    assert res["requests"] == {"memory": "512Mi"}


def test_memory_overcommit_scales_the_defaulted_request() -> None:
    """With memoryOvercommit 200, guest 1Gi requests 512Mi (in bytes)."""
    res = defaulted("vmi", {f"{DOM}.resources": {}, f"{DOM}.memory": {"guest": "1Gi"}},
                    ClusterConfig(memory_overcommit=200))["spec"]["domain"]["resources"]
    assert res["requests"] == {"memory": str(512 * 1024**2)}


def test_efi_defaults_to_secure_boot_with_smm() -> None:
    """efi: {} becomes secureBoot: true and turns SMM on, as KubeVirt does."""
    dom = defaulted("vmi", {f"{DOM}.firmware": {"bootloader": {"efi": {}}}})["spec"]["domain"]
    assert dom["firmware"]["bootloader"]["efi"] == {"secureBoot": True}
    assert dom["features"]["smm"] == {"enabled": True}
    dom = defaulted("vmi", {f"{DOM}.firmware": {"bootloader": {"efi": {"secureBoot": False}}}})["spec"]["domain"]
    assert "features" not in dom


def test_termination_grace_period_defaults_to_30_and_keeps_zero() -> None:
    """An unset grace period is 30 s; an explicit 0 stays 0."""
    assert defaulted()["spec"]["terminationGracePeriodSeconds"] == 30
    assert defaulted("vmi", {"spec.terminationGracePeriodSeconds": 0})["spec"]["terminationGracePeriodSeconds"] == 0


def test_vm_without_running_or_run_strategy_is_halted() -> None:
    """A VM that says neither running nor runStrategy gets runStrategy Halted; running stays alone."""
    assert defaulted("vm")["spec"]["runStrategy"] == "Always"
    doc = build("vm")
    del doc["spec"]["runStrategy"]
    assert codec.encode(default(decode(doc), CONFIG))["spec"]["runStrategy"] == "Halted"
    doc["spec"]["running"] = False
    out = codec.encode(default(decode(doc), CONFIG))["spec"]
    assert "runStrategy" not in out and out["running"] is False


def test_vm_template_and_pool_template_are_defaulted() -> None:
    """VM templates get the VMI defaults; a pool's replicas defaults to 1."""
    tpl = defaulted("vm")["spec"]["template"]["spec"]
    assert tpl["domain"]["machine"]["type"] == "q35" and tpl["networks"]
    doc = build("pool")
    del doc["spec"]["replicas"]
    out = codec.encode(default(decode(doc), CONFIG))["spec"]
    assert out["replicas"] == 1
    assert out["virtualMachineTemplate"]["spec"]["template"]["spec"]["domain"]["machine"]["type"] == "q35"


def test_firmware_uuid_is_stable_and_name_based() -> None:
    """The UUID depends only on namespace/name: same object, same UUID; any other, another."""
    first = defaulted()["spec"]["domain"]["firmware"]["uuid"]
    assert first == defaulted()["spec"]["domain"]["firmware"]["uuid"] == firmware_uuid("default", "vm1")
    other_name = defaulted("vmi", {"metadata.name": "vm2"})["spec"]["domain"]["firmware"]["uuid"]
    other_ns = defaulted("vmi", {"metadata.namespace": "prod"})["spec"]["domain"]["firmware"]["uuid"]
    assert len({first, other_name, other_ns}) == 3
    no_ns = build("vmi")
    del no_ns["metadata"]["namespace"]
    assert codec.encode(default(decode(no_ns), CONFIG))["spec"]["domain"]["firmware"]["uuid"] == first


def test_vm_and_its_vmi_share_the_firmware_uuid() -> None:
    """A VM's template gets the UUID its VMI (same name) would get."""
    vm_uuid = defaulted("vm")["spec"]["template"]["spec"]["domain"]["firmware"]["uuid"]
    assert vm_uuid == firmware_uuid("default", "vm1")


def test_given_uuid_is_kept_and_pools_get_none() -> None:
    """A user's UUID is never replaced; a pool template gets none (its VMs are named later)."""
    given = "5b1e2c0a-34f1-4f9e-9a0e-1f2b3c4d5e6f"
    assert defaulted("vmi", {f"{DOM}.firmware.uuid": given})["spec"]["domain"]["firmware"]["uuid"] == given
    tpl = defaulted("pool")["spec"]["virtualMachineTemplate"]["spec"]["template"]["spec"]
    assert "firmware" not in tpl["domain"]


def test_input_is_not_mutated() -> None:
    """default() and admit() return a copy; the caller's message is unchanged."""
    msg = decode(build("vm"))
    before = msg.SerializeToString(deterministic=True)
    default(msg, CONFIG)
    admit(msg, CONFIG)
    assert msg.SerializeToString(deterministic=True) == before


@pytest.mark.parametrize("manifest", EXAMPLES, ids=lambda p: p.name)
def test_examples_are_valid_and_defaulting_is_a_fixed_point(manifest: Path) -> None:
    """KubeVirt's examples admit cleanly, and defaulting the defaulted object changes nothing."""
    for obj in codec.load_documents(manifest.read_text(), source=str(manifest)):
        result = admit(obj, CONFIG)
        assert result.causes == []
        again = default(result.obj, CONFIG)
        assert codec.encode(again) == codec.encode(result.obj)
        assert admit(again, CONFIG).causes == []


@pytest.mark.parametrize("base", ["vmi", "vm", "pool", "migration", "dv"])
def test_minimal_objects_are_valid_and_defaulting_is_a_fixed_point(base: str) -> None:
    """Each minimal fixture is valid as written and after defaulting, and defaulting is idempotent."""
    once = default(decode(build(base)), CONFIG)
    assert codec.encode(default(once, CONFIG)) == codec.encode(once)
    assert admit(once, CONFIG).causes == []
