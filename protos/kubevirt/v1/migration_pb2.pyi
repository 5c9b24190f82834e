from protos.kubevirt.v1 import meta_pb2 as _meta_pb2
from protos.kubevirt.v1 import vmi_pb2 as _vmi_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VirtualMachineInstanceMigrationSpec(_message.Message):
    __slots__ = ("vmi_name", "added_node_selector", "priority")
    class AddedNodeSelectorEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    VMI_NAME_FIELD_NUMBER: _ClassVar[int]
    ADDED_NODE_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    vmi_name: str
    added_node_selector: _containers.ScalarMap[str, str]
    priority: str
    def __init__(self, vmi_name: _Optional[str] = ..., added_node_selector: _Optional[_Mapping[str, str]] = ..., priority: _Optional[str] = ...) -> None: ...

class VirtualMachineInstanceMigrationStatus(_message.Message):
    __slots__ = ("phase", "conditions", "phase_transition_timestamps", "migration_state")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    PHASE_TRANSITION_TIMESTAMPS_FIELD_NUMBER: _ClassVar[int]
    MIGRATION_STATE_FIELD_NUMBER: _ClassVar[int]
    phase: str
    conditions: _containers.RepeatedCompositeFieldContainer[_meta_pb2.Condition]
    phase_transition_timestamps: _containers.RepeatedCompositeFieldContainer[_vmi_pb2.PhaseTransitionTimestamp]
    migration_state: _vmi_pb2.MigrationState
    def __init__(self, phase: _Optional[str] = ..., conditions: _Optional[_Iterable[_Union[_meta_pb2.Condition, _Mapping]]] = ..., phase_transition_timestamps: _Optional[_Iterable[_Union[_vmi_pb2.PhaseTransitionTimestamp, _Mapping]]] = ..., migration_state: _Optional[_Union[_vmi_pb2.MigrationState, _Mapping]] = ...) -> None: ...

class VirtualMachineInstanceMigration(_message.Message):
    __slots__ = ("api_version", "kind", "metadata", "spec", "status")
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    api_version: str
    kind: str
    metadata: _meta_pb2.ObjectMeta
    spec: VirtualMachineInstanceMigrationSpec
    status: VirtualMachineInstanceMigrationStatus
    def __init__(self, api_version: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_meta_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[VirtualMachineInstanceMigrationSpec, _Mapping]] = ..., status: _Optional[_Union[VirtualMachineInstanceMigrationStatus, _Mapping]] = ...) -> None: ...
