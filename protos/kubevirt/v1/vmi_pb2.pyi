from protos.kubevirt.v1 import core_pb2 as _core_pb2
from protos.kubevirt.v1 import meta_pb2 as _meta_pb2
from protos.kubevirt.v1 import schema_pb2 as _schema_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VirtualMachineInstanceSpec(_message.Message):
    __slots__ = ("domain", "node_selector", "affinity", "tolerations", "topology_spread_constraints", "scheduler_name", "priority_class_name", "eviction_strategy", "start_strategy", "termination_grace_period_seconds", "volumes", "networks", "access_credentials", "liveness_probe", "readiness_probe", "hostname", "subdomain", "dns_policy", "dns_config", "architecture")
    class NodeSelectorEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    NODE_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    AFFINITY_FIELD_NUMBER: _ClassVar[int]
    TOLERATIONS_FIELD_NUMBER: _ClassVar[int]
    TOPOLOGY_SPREAD_CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_NAME_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_CLASS_NAME_FIELD_NUMBER: _ClassVar[int]
    EVICTION_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    START_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    TERMINATION_GRACE_PERIOD_SECONDS_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    NETWORKS_FIELD_NUMBER: _ClassVar[int]
    ACCESS_CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    LIVENESS_PROBE_FIELD_NUMBER: _ClassVar[int]
    READINESS_PROBE_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    SUBDOMAIN_FIELD_NUMBER: _ClassVar[int]
    DNS_POLICY_FIELD_NUMBER: _ClassVar[int]
    DNS_CONFIG_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    domain: _schema_pb2.DomainSpec
    node_selector: _containers.ScalarMap[str, str]
    affinity: _core_pb2.Affinity
    tolerations: _containers.RepeatedCompositeFieldContainer[_core_pb2.Toleration]
    topology_spread_constraints: _containers.RepeatedCompositeFieldContainer[_core_pb2.TopologySpreadConstraint]
    scheduler_name: str
    priority_class_name: str
    eviction_strategy: str
    start_strategy: str
    termination_grace_period_seconds: int
    volumes: _containers.RepeatedCompositeFieldContainer[_schema_pb2.Volume]
    networks: _containers.RepeatedCompositeFieldContainer[_schema_pb2.Network]
    access_credentials: _containers.RepeatedCompositeFieldContainer[_schema_pb2.AccessCredential]
    liveness_probe: _core_pb2.Probe
    readiness_probe: _core_pb2.Probe
    hostname: str
    subdomain: str
    dns_policy: str
    dns_config: _core_pb2.PodDNSConfig
    architecture: str
    def __init__(self, domain: _Optional[_Union[_schema_pb2.DomainSpec, _Mapping]] = ..., node_selector: _Optional[_Mapping[str, str]] = ..., affinity: _Optional[_Union[_core_pb2.Affinity, _Mapping]] = ..., tolerations: _Optional[_Iterable[_Union[_core_pb2.Toleration, _Mapping]]] = ..., topology_spread_constraints: _Optional[_Iterable[_Union[_core_pb2.TopologySpreadConstraint, _Mapping]]] = ..., scheduler_name: _Optional[str] = ..., priority_class_name: _Optional[str] = ..., eviction_strategy: _Optional[str] = ..., start_strategy: _Optional[str] = ..., termination_grace_period_seconds: _Optional[int] = ..., volumes: _Optional[_Iterable[_Union[_schema_pb2.Volume, _Mapping]]] = ..., networks: _Optional[_Iterable[_Union[_schema_pb2.Network, _Mapping]]] = ..., access_credentials: _Optional[_Iterable[_Union[_schema_pb2.AccessCredential, _Mapping]]] = ..., liveness_probe: _Optional[_Union[_core_pb2.Probe, _Mapping]] = ..., readiness_probe: _Optional[_Union[_core_pb2.Probe, _Mapping]] = ..., hostname: _Optional[str] = ..., subdomain: _Optional[str] = ..., dns_policy: _Optional[str] = ..., dns_config: _Optional[_Union[_core_pb2.PodDNSConfig, _Mapping]] = ..., architecture: _Optional[str] = ...) -> None: ...

class VirtualMachineInstanceNetworkInterface(_message.Message):
    __slots__ = ("ip_address", "ip_addresses", "mac", "name", "interface_name", "pod_interface_name", "info_source", "queue_count", "link_state")
    IP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    IP_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    INTERFACE_NAME_FIELD_NUMBER: _ClassVar[int]
    POD_INTERFACE_NAME_FIELD_NUMBER: _ClassVar[int]
    INFO_SOURCE_FIELD_NUMBER: _ClassVar[int]
    QUEUE_COUNT_FIELD_NUMBER: _ClassVar[int]
    LINK_STATE_FIELD_NUMBER: _ClassVar[int]
    ip_address: str
    ip_addresses: _containers.RepeatedScalarFieldContainer[str]
    mac: str
    name: str
    interface_name: str
    pod_interface_name: str
    info_source: str
    queue_count: int
    link_state: str
    def __init__(self, ip_address: _Optional[str] = ..., ip_addresses: _Optional[_Iterable[str]] = ..., mac: _Optional[str] = ..., name: _Optional[str] = ..., interface_name: _Optional[str] = ..., pod_interface_name: _Optional[str] = ..., info_source: _Optional[str] = ..., queue_count: _Optional[int] = ..., link_state: _Optional[str] = ...) -> None: ...

class VirtualMachineInstanceGuestOSInfo(_message.Message):
    __slots__ = ("name", "kernel_release", "version", "pretty_name", "version_id", "kernel_version", "machine", "id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KERNEL_RELEASE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PRETTY_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    KERNEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    kernel_release: str
    version: str
    pretty_name: str
    version_id: str
    kernel_version: str
    machine: str
    id: str
    def __init__(self, name: _Optional[str] = ..., kernel_release: _Optional[str] = ..., version: _Optional[str] = ..., pretty_name: _Optional[str] = ..., version_id: _Optional[str] = ..., kernel_version: _Optional[str] = ..., machine: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class MigrationState(_message.Message):
    __slots__ = ("start_timestamp", "end_timestamp", "target_node_domain_ready_timestamp", "target_node_domain_detected", "target_node_address", "target_direct_migration_node_ports", "target_node", "target_pod", "target_attachment_pod_uid", "source_node", "source_pod", "completed", "failed", "failure_reason", "abort_requested", "abort_status", "migration_uid", "mode", "migration_policy_name")
    class TargetDirectMigrationNodePortsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    START_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    END_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    TARGET_NODE_DOMAIN_READY_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    TARGET_NODE_DOMAIN_DETECTED_FIELD_NUMBER: _ClassVar[int]
    TARGET_NODE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TARGET_DIRECT_MIGRATION_NODE_PORTS_FIELD_NUMBER: _ClassVar[int]
    TARGET_NODE_FIELD_NUMBER: _ClassVar[int]
    TARGET_POD_FIELD_NUMBER: _ClassVar[int]
    TARGET_ATTACHMENT_POD_UID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_NODE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_POD_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    ABORT_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    ABORT_STATUS_FIELD_NUMBER: _ClassVar[int]
    MIGRATION_UID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    MIGRATION_POLICY_NAME_FIELD_NUMBER: _ClassVar[int]
    start_timestamp: str
    end_timestamp: str
    target_node_domain_ready_timestamp: str
    target_node_domain_detected: bool
    target_node_address: str
    target_direct_migration_node_ports: _containers.ScalarMap[str, int]
    target_node: str
    target_pod: str
    target_attachment_pod_uid: str
    source_node: str
    source_pod: str
    completed: bool
    failed: bool
    failure_reason: str
    abort_requested: bool
    abort_status: str
    migration_uid: str
    mode: str
    migration_policy_name: str
    def __init__(self, start_timestamp: _Optional[str] = ..., end_timestamp: _Optional[str] = ..., target_node_domain_ready_timestamp: _Optional[str] = ..., target_node_domain_detected: bool = ..., target_node_address: _Optional[str] = ..., target_direct_migration_node_ports: _Optional[_Mapping[str, int]] = ..., target_node: _Optional[str] = ..., target_pod: _Optional[str] = ..., target_attachment_pod_uid: _Optional[str] = ..., source_node: _Optional[str] = ..., source_pod: _Optional[str] = ..., completed: bool = ..., failed: bool = ..., failure_reason: _Optional[str] = ..., abort_requested: bool = ..., abort_status: _Optional[str] = ..., migration_uid: _Optional[str] = ..., mode: _Optional[str] = ..., migration_policy_name: _Optional[str] = ...) -> None: ...

class PhaseTransitionTimestamp(_message.Message):
    __slots__ = ("phase", "phase_transition_timestamp")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    PHASE_TRANSITION_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    phase: str
    phase_transition_timestamp: str
    def __init__(self, phase: _Optional[str] = ..., phase_transition_timestamp: _Optional[str] = ...) -> None: ...

class PersistentVolumeClaimInfo(_message.Message):
    __slots__ = ("claim_name", "access_modes", "volume_mode", "capacity", "requests", "preallocated", "filesystem_overhead")
    class CapacityEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _meta_pb2.Quantity
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_meta_pb2.Quantity, _Mapping]] = ...) -> None: ...
    class RequestsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _meta_pb2.Quantity
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_meta_pb2.Quantity, _Mapping]] = ...) -> None: ...
    CLAIM_NAME_FIELD_NUMBER: _ClassVar[int]
    ACCESS_MODES_FIELD_NUMBER: _ClassVar[int]
    VOLUME_MODE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    PREALLOCATED_FIELD_NUMBER: _ClassVar[int]
    FILESYSTEM_OVERHEAD_FIELD_NUMBER: _ClassVar[int]
    claim_name: str
    access_modes: _containers.RepeatedScalarFieldContainer[str]
    volume_mode: str
    capacity: _containers.MessageMap[str, _meta_pb2.Quantity]
    requests: _containers.MessageMap[str, _meta_pb2.Quantity]
    preallocated: bool
    filesystem_overhead: str
    def __init__(self, claim_name: _Optional[str] = ..., access_modes: _Optional[_Iterable[str]] = ..., volume_mode: _Optional[str] = ..., capacity: _Optional[_Mapping[str, _meta_pb2.Quantity]] = ..., requests: _Optional[_Mapping[str, _meta_pb2.Quantity]] = ..., preallocated: bool = ..., filesystem_overhead: _Optional[str] = ...) -> None: ...

class VolumeStatus(_message.Message):
    __slots__ = ("name", "target", "phase", "reason", "message", "persistent_volume_claim_info", "size")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_VOLUME_CLAIM_INFO_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    name: str
    target: str
    phase: str
    reason: str
    message: str
    persistent_volume_claim_info: PersistentVolumeClaimInfo
    size: int
    def __init__(self, name: _Optional[str] = ..., target: _Optional[str] = ..., phase: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., persistent_volume_claim_info: _Optional[_Union[PersistentVolumeClaimInfo, _Mapping]] = ..., size: _Optional[int] = ...) -> None: ...

class MachineStatus(_message.Message):
    __slots__ = ("type",)
    TYPE_FIELD_NUMBER: _ClassVar[int]
    type: str
    def __init__(self, type: _Optional[str] = ...) -> None: ...

class CPUTopology(_message.Message):
    __slots__ = ("cores", "sockets", "threads")
    CORES_FIELD_NUMBER: _ClassVar[int]
    SOCKETS_FIELD_NUMBER: _ClassVar[int]
    THREADS_FIELD_NUMBER: _ClassVar[int]
    cores: int
    sockets: int
    threads: int
    def __init__(self, cores: _Optional[int] = ..., sockets: _Optional[int] = ..., threads: _Optional[int] = ...) -> None: ...

class MemoryStatus(_message.Message):
    __slots__ = ("guest_at_boot", "guest_current", "guest_requested")
    GUEST_AT_BOOT_FIELD_NUMBER: _ClassVar[int]
    GUEST_CURRENT_FIELD_NUMBER: _ClassVar[int]
    GUEST_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    guest_at_boot: _meta_pb2.Quantity
    guest_current: _meta_pb2.Quantity
    guest_requested: _meta_pb2.Quantity
    def __init__(self, guest_at_boot: _Optional[_Union[_meta_pb2.Quantity, _Mapping]] = ..., guest_current: _Optional[_Union[_meta_pb2.Quantity, _Mapping]] = ..., guest_requested: _Optional[_Union[_meta_pb2.Quantity, _Mapping]] = ...) -> None: ...

class VirtualMachineInstanceStatus(_message.Message):
    __slots__ = ("node_name", "reason", "phase", "phase_transition_timestamps", "conditions", "interfaces", "guest_os_info", "migration_state", "migration_method", "migration_transport", "qos_class", "launcher_container_image_version", "evacuation_node_name", "active_pods", "volume_status", "fs_freeze_status", "selinux_context", "runtime_user", "virtual_machine_revision_name", "vsockcid", "machine", "current_cpu_topology", "memory")
    class ActivePodsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    PHASE_TRANSITION_TIMESTAMPS_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    INTERFACES_FIELD_NUMBER: _ClassVar[int]
    GUEST_OS_INFO_FIELD_NUMBER: _ClassVar[int]
    MIGRATION_STATE_FIELD_NUMBER: _ClassVar[int]
    MIGRATION_METHOD_FIELD_NUMBER: _ClassVar[int]
    MIGRATION_TRANSPORT_FIELD_NUMBER: _ClassVar[int]
    QOS_CLASS_FIELD_NUMBER: _ClassVar[int]
    LAUNCHER_CONTAINER_IMAGE_VERSION_FIELD_NUMBER: _ClassVar[int]
    EVACUATION_NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_PODS_FIELD_NUMBER: _ClassVar[int]
    VOLUME_STATUS_FIELD_NUMBER: _ClassVar[int]
    FS_FREEZE_STATUS_FIELD_NUMBER: _ClassVar[int]
    SELINUX_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_USER_FIELD_NUMBER: _ClassVar[int]
    VIRTUAL_MACHINE_REVISION_NAME_FIELD_NUMBER: _ClassVar[int]
    VSOCKCID_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_CPU_TOPOLOGY_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    node_name: str
    reason: str
    phase: str
    phase_transition_timestamps: _containers.RepeatedCompositeFieldContainer[PhaseTransitionTimestamp]
    conditions: _containers.RepeatedCompositeFieldContainer[_meta_pb2.Condition]
    interfaces: _containers.RepeatedCompositeFieldContainer[VirtualMachineInstanceNetworkInterface]
    guest_os_info: VirtualMachineInstanceGuestOSInfo
    migration_state: MigrationState
    migration_method: str
    migration_transport: str
    qos_class: str
    launcher_container_image_version: str
    evacuation_node_name: str
    active_pods: _containers.ScalarMap[str, str]
    volume_status: _containers.RepeatedCompositeFieldContainer[VolumeStatus]
    fs_freeze_status: str
    selinux_context: str
    runtime_user: int
    virtual_machine_revision_name: str
    vsockcid: int
    machine: MachineStatus
    current_cpu_topology: CPUTopology
    memory: MemoryStatus
    def __init__(self, node_name: _Optional[str] = ..., reason: _Optional[str] = ..., phase: _Optional[str] = ..., phase_transition_timestamps: _Optional[_Iterable[_Union[PhaseTransitionTimestamp, _Mapping]]] = ..., conditions: _Optional[_Iterable[_Union[_meta_pb2.Condition, _Mapping]]] = ..., interfaces: _Optional[_Iterable[_Union[VirtualMachineInstanceNetworkInterface, _Mapping]]] = ..., guest_os_info: _Optional[_Union[VirtualMachineInstanceGuestOSInfo, _Mapping]] = ..., migration_state: _Optional[_Union[MigrationState, _Mapping]] = ..., migration_method: _Optional[str] = ..., migration_transport: _Optional[str] = ..., qos_class: _Optional[str] = ..., launcher_container_image_version: _Optional[str] = ..., evacuation_node_name: _Optional[str] = ..., active_pods: _Optional[_Mapping[str, str]] = ..., volume_status: _Optional[_Iterable[_Union[VolumeStatus, _Mapping]]] = ..., fs_freeze_status: _Optional[str] = ..., selinux_context: _Optional[str] = ..., runtime_user: _Optional[int] = ..., virtual_machine_revision_name: _Optional[str] = ..., vsockcid: _Optional[int] = ..., machine: _Optional[_Union[MachineStatus, _Mapping]] = ..., current_cpu_topology: _Optional[_Union[CPUTopology, _Mapping]] = ..., memory: _Optional[_Union[MemoryStatus, _Mapping]] = ...) -> None: ...

class VirtualMachineInstance(_message.Message):
    __slots__ = ("api_version", "kind", "metadata", "spec", "status")
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    api_version: str
    kind: str
    metadata: _meta_pb2.ObjectMeta
    spec: VirtualMachineInstanceSpec
    status: VirtualMachineInstanceStatus
    def __init__(self, api_version: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_meta_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[VirtualMachineInstanceSpec, _Mapping]] = ..., status: _Optional[_Union[VirtualMachineInstanceStatus, _Mapping]] = ...) -> None: ...

class VirtualMachineInstanceTemplateSpec(_message.Message):
    __slots__ = ("metadata", "spec")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    metadata: _meta_pb2.ObjectMeta
    spec: VirtualMachineInstanceSpec
    def __init__(self, metadata: _Optional[_Union[_meta_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[VirtualMachineInstanceSpec, _Mapping]] = ...) -> None: ...
