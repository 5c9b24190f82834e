"""ClusterConfig: the cluster-wide knobs that defaulting and validation read.

Owns the subset of KubeVirt's `KubeVirt` CR configuration (`spec.configuration`)
that admission uses, with KubeVirt's defaults except where docs/admission.md
says virtnode differs. Frozen: a config is a value; whoever reloads
configuration builds a new one. Never reads files or the environment itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Feature gates virtnode names the way KubeVirt does.
GATE_GPU = "GPU"
GATE_HOST_DEVICES = "HostDevices"
GATE_HOST_DISK = "HostDisk"
GATE_VIRTIOFS = "EnableVirtioFsStorageVolumes"
GATE_NUMA = "NUMA"


@dataclass(frozen=True)
class ClusterConfig:
    """Cluster-wide settings that change what admission defaults and accepts."""

    # spec.configuration.architectureConfiguration.amd64: machine type for an unset
    # (or empty) domain.machine.type, and the glob patterns a machine type must match.
    machine_type: str = "q35"
    emulated_machines: tuple[str, ...] = ("q35*", "pc-q35*")
    # Architectures a VMI may name in spec.architecture.
    architectures: tuple[str, ...] = ("amd64", "arm64", "s390x")
    # KubeVirt refuses guests with less memory than this (bytes; "1M").
    minimum_guest_memory: int = 1_000_000
    # spec.configuration.developerConfiguration.memoryOvercommit, in percent: the
    # memory request defaulted from domain.memory.guest is guest * 100 / this.
    memory_overcommit: int = 100
    # spec.configuration.network.defaultNetworkInterface: binding of the interface
    # added to the pod network (KubeVirt's default is bridge; virtnode's masquerade).
    network_interface: str = "masquerade"
    # spec.configuration.network.permitBridgeInterfaceOnPodNetwork.
    permit_bridge_interface_on_pod_network: bool = True
    # permittedHostDevices: resource names GPUs and host devices may request. When
    # permit_unlisted_host_devices is true any name is accepted (the node's device
    # plugins decide); otherwise only these.
    permitted_host_devices: frozenset[str] = field(default_factory=frozenset)
    permit_unlisted_host_devices: bool = True
    # spec.configuration.developerConfiguration.featureGates.
    feature_gates: frozenset[str] = frozenset({GATE_GPU, GATE_HOST_DEVICES})
    # Inline cloud-init userData/networkData larger than this must use a secret.
    cloud_init_inline_limit: int = 2048
    # Seconds a guest gets to shut down when terminationGracePeriodSeconds is unset.
    termination_grace_period_seconds: int = 30

    def gate(self, name: str) -> bool:
        """Whether the feature gate `name` is enabled."""
        return name in self.feature_gates
