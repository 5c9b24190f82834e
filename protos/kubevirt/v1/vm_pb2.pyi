from protos.kubevirt.v1 import datavolume_pb2 as _datavolume_pb2
from protos.kubevirt.v1 import meta_pb2 as _meta_pb2
from protos.kubevirt.v1 import vmi_pb2 as _vmi_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DataVolumeTemplateSpec(_message.Message):
    __slots__ = ("api_version", "kind", "metadata", "spec", "status")
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    api_version: str
    kind: str
    metadata: _meta_pb2.ObjectMeta
    spec: _datavolume_pb2.DataVolumeSpec
    status: _datavolume_pb2.DataVolumeStatus
    def __init__(self, api_version: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_meta_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[_datavolume_pb2.DataVolumeSpec, _Mapping]] = ..., status: _Optional[_Union[_datavolume_pb2.DataVolumeStatus, _Mapping]] = ...) -> None: ...

class InstancetypeMatcher(_message.Message):
    __slots__ = ("name", "kind", "revision_name")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REVISION_NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    revision_name: str
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., revision_name: _Optional[str] = ...) -> None: ...

class VirtualMachineSpec(_message.Message):
    __slots__ = ("running", "run_strategy", "instancetype", "preference", "template", "data_volume_templates", "update_volumes_strategy")
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    RUN_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    INSTANCETYPE_FIELD_NUMBER: _ClassVar[int]
    PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    DATA_VOLUME_TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    UPDATE_VOLUMES_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    running: bool
    run_strategy: str
    instancetype: InstancetypeMatcher
    preference: InstancetypeMatcher
    template: _vmi_pb2.VirtualMachineInstanceTemplateSpec
    data_volume_templates: _containers.RepeatedCompositeFieldContainer[DataVolumeTemplateSpec]
    update_volumes_strategy: str
    def __init__(self, running: bool = ..., run_strategy: _Optional[str] = ..., instancetype: _Optional[_Union[InstancetypeMatcher, _Mapping]] = ..., preference: _Optional[_Union[InstancetypeMatcher, _Mapping]] = ..., template: _Optional[_Union[_vmi_pb2.VirtualMachineInstanceTemplateSpec, _Mapping]] = ..., data_volume_templates: _Optional[_Iterable[_Union[DataVolumeTemplateSpec, _Mapping]]] = ..., update_volumes_strategy: _Optional[str] = ...) -> None: ...

class VirtualMachineStateChangeRequest(_message.Message):
    __slots__ = ("action", "data", "uid")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ACTION_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    action: str
    data: _containers.ScalarMap[str, str]
    uid: str
    def __init__(self, action: _Optional[str] = ..., data: _Optional[_Mapping[str, str]] = ..., uid: _Optional[str] = ...) -> None: ...

class VirtualMachineStartFailure(_message.Message):
    __slots__ = ("consecutive_fail_count", "last_failed_vmi_uid", "retry_after_timestamp")
    CONSECUTIVE_FAIL_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_FAILED_VMI_UID_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    consecutive_fail_count: int
    last_failed_vmi_uid: str
    retry_after_timestamp: str
    def __init__(self, consecutive_fail_count: _Optional[int] = ..., last_failed_vmi_uid: _Optional[str] = ..., retry_after_timestamp: _Optional[str] = ...) -> None: ...

class VirtualMachineStatus(_message.Message):
    __slots__ = ("created", "ready", "printable_status", "conditions", "state_change_requests", "start_failure", "observed_generation", "desired_generation", "run_strategy")
    CREATED_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    PRINTABLE_STATUS_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    STATE_CHANGE_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    START_FAILURE_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_GENERATION_FIELD_NUMBER: _ClassVar[int]
    DESIRED_GENERATION_FIELD_NUMBER: _ClassVar[int]
    RUN_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    created: bool
    ready: bool
    printable_status: str
    conditions: _containers.RepeatedCompositeFieldContainer[_meta_pb2.Condition]
    state_change_requests: _containers.RepeatedCompositeFieldContainer[VirtualMachineStateChangeRequest]
    start_failure: VirtualMachineStartFailure
    observed_generation: int
    desired_generation: int
    run_strategy: str
    def __init__(self, created: bool = ..., ready: bool = ..., printable_status: _Optional[str] = ..., conditions: _Optional[_Iterable[_Union[_meta_pb2.Condition, _Mapping]]] = ..., state_change_requests: _Optional[_Iterable[_Union[VirtualMachineStateChangeRequest, _Mapping]]] = ..., start_failure: _Optional[_Union[VirtualMachineStartFailure, _Mapping]] = ..., observed_generation: _Optional[int] = ..., desired_generation: _Optional[int] = ..., run_strategy: _Optional[str] = ...) -> None: ...

class VirtualMachine(_message.Message):
    __slots__ = ("api_version", "kind", "metadata", "spec", "status")
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    api_version: str
    kind: str
    metadata: _meta_pb2.ObjectMeta
    spec: VirtualMachineSpec
    status: VirtualMachineStatus
    def __init__(self, api_version: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_meta_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[VirtualMachineSpec, _Mapping]] = ..., status: _Optional[_Union[VirtualMachineStatus, _Mapping]] = ...) -> None: ...
