from protos.kubevirt.v1 import meta_pb2 as _meta_pb2
from protos.kubevirt.v1 import vm_pb2 as _vm_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VirtualMachineTemplateSpec(_message.Message):
    __slots__ = ("metadata", "spec")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    metadata: _meta_pb2.ObjectMeta
    spec: _vm_pb2.VirtualMachineSpec
    def __init__(self, metadata: _Optional[_Union[_meta_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[_vm_pb2.VirtualMachineSpec, _Mapping]] = ...) -> None: ...

class VirtualMachinePoolNameGeneration(_message.Message):
    __slots__ = ("append_index_to_config_map_refs", "append_index_to_secret_refs")
    APPEND_INDEX_TO_CONFIG_MAP_REFS_FIELD_NUMBER: _ClassVar[int]
    APPEND_INDEX_TO_SECRET_REFS_FIELD_NUMBER: _ClassVar[int]
    append_index_to_config_map_refs: bool
    append_index_to_secret_refs: bool
    def __init__(self, append_index_to_config_map_refs: bool = ..., append_index_to_secret_refs: bool = ...) -> None: ...

class VirtualMachinePoolSpec(_message.Message):
    __slots__ = ("replicas", "selector", "virtual_machine_template", "paused", "name_generation", "max_unavailable")
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    SELECTOR_FIELD_NUMBER: _ClassVar[int]
    VIRTUAL_MACHINE_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    NAME_GENERATION_FIELD_NUMBER: _ClassVar[int]
    MAX_UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    replicas: int
    selector: _meta_pb2.LabelSelector
    virtual_machine_template: VirtualMachineTemplateSpec
    paused: bool
    name_generation: VirtualMachinePoolNameGeneration
    max_unavailable: _meta_pb2.IntOrString
    def __init__(self, replicas: _Optional[int] = ..., selector: _Optional[_Union[_meta_pb2.LabelSelector, _Mapping]] = ..., virtual_machine_template: _Optional[_Union[VirtualMachineTemplateSpec, _Mapping]] = ..., paused: bool = ..., name_generation: _Optional[_Union[VirtualMachinePoolNameGeneration, _Mapping]] = ..., max_unavailable: _Optional[_Union[_meta_pb2.IntOrString, _Mapping]] = ...) -> None: ...

class VirtualMachinePoolStatus(_message.Message):
    __slots__ = ("replicas", "ready_replicas", "conditions", "label_selector")
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    READY_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    LABEL_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    replicas: int
    ready_replicas: int
    conditions: _containers.RepeatedCompositeFieldContainer[_meta_pb2.Condition]
    label_selector: str
    def __init__(self, replicas: _Optional[int] = ..., ready_replicas: _Optional[int] = ..., conditions: _Optional[_Iterable[_Union[_meta_pb2.Condition, _Mapping]]] = ..., label_selector: _Optional[str] = ...) -> None: ...

class VirtualMachinePool(_message.Message):
    __slots__ = ("api_version", "kind", "metadata", "spec", "status")
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    api_version: str
    kind: str
    metadata: _meta_pb2.ObjectMeta
    spec: VirtualMachinePoolSpec
    status: VirtualMachinePoolStatus
    def __init__(self, api_version: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_meta_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[VirtualMachinePoolSpec, _Mapping]] = ..., status: _Optional[_Union[VirtualMachinePoolStatus, _Mapping]] = ...) -> None: ...
