from protos.kubevirt.v1 import core_pb2 as _core_pb2
from protos.kubevirt.v1 import meta_pb2 as _meta_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DataVolumeSourceHTTP(_message.Message):
    __slots__ = ("url", "secret_ref", "cert_config_map", "extra_headers", "secret_extra_headers")
    URL_FIELD_NUMBER: _ClassVar[int]
    SECRET_REF_FIELD_NUMBER: _ClassVar[int]
    CERT_CONFIG_MAP_FIELD_NUMBER: _ClassVar[int]
    EXTRA_HEADERS_FIELD_NUMBER: _ClassVar[int]
    SECRET_EXTRA_HEADERS_FIELD_NUMBER: _ClassVar[int]
    url: str
    secret_ref: str
    cert_config_map: str
    extra_headers: _containers.RepeatedScalarFieldContainer[str]
    secret_extra_headers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, url: _Optional[str] = ..., secret_ref: _Optional[str] = ..., cert_config_map: _Optional[str] = ..., extra_headers: _Optional[_Iterable[str]] = ..., secret_extra_headers: _Optional[_Iterable[str]] = ...) -> None: ...

class DataVolumeSourceRegistry(_message.Message):
    __slots__ = ("url", "image_stream", "pull_method", "secret_ref", "cert_config_map")
    URL_FIELD_NUMBER: _ClassVar[int]
    IMAGE_STREAM_FIELD_NUMBER: _ClassVar[int]
    PULL_METHOD_FIELD_NUMBER: _ClassVar[int]
    SECRET_REF_FIELD_NUMBER: _ClassVar[int]
    CERT_CONFIG_MAP_FIELD_NUMBER: _ClassVar[int]
    url: str
    image_stream: str
    pull_method: str
    secret_ref: str
    cert_config_map: str
    def __init__(self, url: _Optional[str] = ..., image_stream: _Optional[str] = ..., pull_method: _Optional[str] = ..., secret_ref: _Optional[str] = ..., cert_config_map: _Optional[str] = ...) -> None: ...

class DataVolumeSourcePVC(_message.Message):
    __slots__ = ("namespace", "name")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DataVolumeSourceS3(_message.Message):
    __slots__ = ("url", "secret_ref", "cert_config_map")
    URL_FIELD_NUMBER: _ClassVar[int]
    SECRET_REF_FIELD_NUMBER: _ClassVar[int]
    CERT_CONFIG_MAP_FIELD_NUMBER: _ClassVar[int]
    url: str
    secret_ref: str
    cert_config_map: str
    def __init__(self, url: _Optional[str] = ..., secret_ref: _Optional[str] = ..., cert_config_map: _Optional[str] = ...) -> None: ...

class DataVolumeSourceSnapshot(_message.Message):
    __slots__ = ("namespace", "name")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DataVolumeBlankImage(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DataVolumeSourceUpload(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DataVolumeSourceSpec(_message.Message):
    __slots__ = ("http", "registry", "pvc", "s3", "blank", "upload", "snapshot")
    HTTP_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_FIELD_NUMBER: _ClassVar[int]
    PVC_FIELD_NUMBER: _ClassVar[int]
    S3_FIELD_NUMBER: _ClassVar[int]
    BLANK_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    http: DataVolumeSourceHTTP
    registry: DataVolumeSourceRegistry
    pvc: DataVolumeSourcePVC
    s3: DataVolumeSourceS3
    blank: DataVolumeBlankImage
    upload: DataVolumeSourceUpload
    snapshot: DataVolumeSourceSnapshot
    def __init__(self, http: _Optional[_Union[DataVolumeSourceHTTP, _Mapping]] = ..., registry: _Optional[_Union[DataVolumeSourceRegistry, _Mapping]] = ..., pvc: _Optional[_Union[DataVolumeSourcePVC, _Mapping]] = ..., s3: _Optional[_Union[DataVolumeSourceS3, _Mapping]] = ..., blank: _Optional[_Union[DataVolumeBlankImage, _Mapping]] = ..., upload: _Optional[_Union[DataVolumeSourceUpload, _Mapping]] = ..., snapshot: _Optional[_Union[DataVolumeSourceSnapshot, _Mapping]] = ...) -> None: ...

class DataVolumeSourceRef(_message.Message):
    __slots__ = ("kind", "namespace", "name")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    kind: str
    namespace: str
    name: str
    def __init__(self, kind: _Optional[str] = ..., namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class StorageSpec(_message.Message):
    __slots__ = ("access_modes", "resources", "storage_class_name", "volume_mode", "selector", "volume_name", "data_source", "data_source_ref")
    ACCESS_MODES_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    STORAGE_CLASS_NAME_FIELD_NUMBER: _ClassVar[int]
    VOLUME_MODE_FIELD_NUMBER: _ClassVar[int]
    SELECTOR_FIELD_NUMBER: _ClassVar[int]
    VOLUME_NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_SOURCE_FIELD_NUMBER: _ClassVar[int]
    DATA_SOURCE_REF_FIELD_NUMBER: _ClassVar[int]
    access_modes: _containers.RepeatedScalarFieldContainer[str]
    resources: _core_pb2.ResourceRequirements
    storage_class_name: str
    volume_mode: str
    selector: _meta_pb2.LabelSelector
    volume_name: str
    data_source: _core_pb2.TypedLocalObjectReference
    data_source_ref: _core_pb2.TypedLocalObjectReference
    def __init__(self, access_modes: _Optional[_Iterable[str]] = ..., resources: _Optional[_Union[_core_pb2.ResourceRequirements, _Mapping]] = ..., storage_class_name: _Optional[str] = ..., volume_mode: _Optional[str] = ..., selector: _Optional[_Union[_meta_pb2.LabelSelector, _Mapping]] = ..., volume_name: _Optional[str] = ..., data_source: _Optional[_Union[_core_pb2.TypedLocalObjectReference, _Mapping]] = ..., data_source_ref: _Optional[_Union[_core_pb2.TypedLocalObjectReference, _Mapping]] = ...) -> None: ...

class DataVolumeCheckpoint(_message.Message):
    __slots__ = ("previous", "current")
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    previous: str
    current: str
    def __init__(self, previous: _Optional[str] = ..., current: _Optional[str] = ...) -> None: ...

class DataVolumeSpec(_message.Message):
    __slots__ = ("source", "source_ref", "pvc", "storage", "content_type", "checkpoints", "final_checkpoint", "preallocation", "priority_class_name")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_REF_FIELD_NUMBER: _ClassVar[int]
    PVC_FIELD_NUMBER: _ClassVar[int]
    STORAGE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    FINAL_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    PREALLOCATION_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_CLASS_NAME_FIELD_NUMBER: _ClassVar[int]
    source: DataVolumeSourceSpec
    source_ref: DataVolumeSourceRef
    pvc: _core_pb2.PersistentVolumeClaimSpec
    storage: StorageSpec
    content_type: str
    checkpoints: _containers.RepeatedCompositeFieldContainer[DataVolumeCheckpoint]
    final_checkpoint: bool
    preallocation: bool
    priority_class_name: str
    def __init__(self, source: _Optional[_Union[DataVolumeSourceSpec, _Mapping]] = ..., source_ref: _Optional[_Union[DataVolumeSourceRef, _Mapping]] = ..., pvc: _Optional[_Union[_core_pb2.PersistentVolumeClaimSpec, _Mapping]] = ..., storage: _Optional[_Union[StorageSpec, _Mapping]] = ..., content_type: _Optional[str] = ..., checkpoints: _Optional[_Iterable[_Union[DataVolumeCheckpoint, _Mapping]]] = ..., final_checkpoint: bool = ..., preallocation: bool = ..., priority_class_name: _Optional[str] = ...) -> None: ...

class DataVolumeStatus(_message.Message):
    __slots__ = ("phase", "progress", "restart_count", "claim_name", "conditions")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESTART_COUNT_FIELD_NUMBER: _ClassVar[int]
    CLAIM_NAME_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    phase: str
    progress: str
    restart_count: int
    claim_name: str
    conditions: _containers.RepeatedCompositeFieldContainer[_meta_pb2.Condition]
    def __init__(self, phase: _Optional[str] = ..., progress: _Optional[str] = ..., restart_count: _Optional[int] = ..., claim_name: _Optional[str] = ..., conditions: _Optional[_Iterable[_Union[_meta_pb2.Condition, _Mapping]]] = ...) -> None: ...

class DataVolume(_message.Message):
    __slots__ = ("api_version", "kind", "metadata", "spec", "status")
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    api_version: str
    kind: str
    metadata: _meta_pb2.ObjectMeta
    spec: DataVolumeSpec
    status: DataVolumeStatus
    def __init__(self, api_version: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_meta_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[DataVolumeSpec, _Mapping]] = ..., status: _Optional[_Union[DataVolumeStatus, _Mapping]] = ...) -> None: ...
