from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DomainState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DOMAIN_STATE_UNSPECIFIED: _ClassVar[DomainState]
    DOMAIN_STATE_NOSTATE: _ClassVar[DomainState]
    DOMAIN_STATE_RUNNING: _ClassVar[DomainState]
    DOMAIN_STATE_BLOCKED: _ClassVar[DomainState]
    DOMAIN_STATE_PAUSED: _ClassVar[DomainState]
    DOMAIN_STATE_SHUTDOWN: _ClassVar[DomainState]
    DOMAIN_STATE_SHUTOFF: _ClassVar[DomainState]
    DOMAIN_STATE_CRASHED: _ClassVar[DomainState]
    DOMAIN_STATE_PMSUSPENDED: _ClassVar[DomainState]
DOMAIN_STATE_UNSPECIFIED: DomainState
DOMAIN_STATE_NOSTATE: DomainState
DOMAIN_STATE_RUNNING: DomainState
DOMAIN_STATE_BLOCKED: DomainState
DOMAIN_STATE_PAUSED: DomainState
DOMAIN_STATE_SHUTDOWN: DomainState
DOMAIN_STATE_SHUTOFF: DomainState
DOMAIN_STATE_CRASHED: DomainState
DOMAIN_STATE_PMSUSPENDED: DomainState

class InterfaceStatus(_message.Message):
    __slots__ = ("name", "mac", "tap", "ip_addresses", "interface_name")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    TAP_FIELD_NUMBER: _ClassVar[int]
    IP_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    INTERFACE_NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    mac: str
    tap: str
    ip_addresses: _containers.RepeatedScalarFieldContainer[str]
    interface_name: str
    def __init__(self, name: _Optional[str] = ..., mac: _Optional[str] = ..., tap: _Optional[str] = ..., ip_addresses: _Optional[_Iterable[str]] = ..., interface_name: _Optional[str] = ...) -> None: ...

class GuestOSInfo(_message.Message):
    __slots__ = ("name", "id", "pretty_name", "version", "version_id", "kernel_release", "kernel_version", "machine")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PRETTY_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    KERNEL_RELEASE_FIELD_NUMBER: _ClassVar[int]
    KERNEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    name: str
    id: str
    pretty_name: str
    version: str
    version_id: str
    kernel_release: str
    kernel_version: str
    machine: str
    def __init__(self, name: _Optional[str] = ..., id: _Optional[str] = ..., pretty_name: _Optional[str] = ..., version: _Optional[str] = ..., version_id: _Optional[str] = ..., kernel_release: _Optional[str] = ..., kernel_version: _Optional[str] = ..., machine: _Optional[str] = ...) -> None: ...

class DomainStatus(_message.Message):
    __slots__ = ("vmi_uid", "name", "uuid", "defined", "state", "reason", "failure", "paused_by_user", "agent_connected", "console_available", "qemu_pid", "interfaces", "guest_os", "accelerator", "observed", "shutdown_started", "shutdown_deadline")
    VMI_UID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    DEFINED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    PAUSED_BY_USER_FIELD_NUMBER: _ClassVar[int]
    AGENT_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    CONSOLE_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    QEMU_PID_FIELD_NUMBER: _ClassVar[int]
    INTERFACES_FIELD_NUMBER: _ClassVar[int]
    GUEST_OS_FIELD_NUMBER: _ClassVar[int]
    ACCELERATOR_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_FIELD_NUMBER: _ClassVar[int]
    SHUTDOWN_STARTED_FIELD_NUMBER: _ClassVar[int]
    SHUTDOWN_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    vmi_uid: str
    name: str
    uuid: str
    defined: bool
    state: DomainState
    reason: str
    failure: str
    paused_by_user: bool
    agent_connected: bool
    console_available: bool
    qemu_pid: int
    interfaces: _containers.RepeatedCompositeFieldContainer[InterfaceStatus]
    guest_os: GuestOSInfo
    accelerator: str
    observed: _timestamp_pb2.Timestamp
    shutdown_started: _timestamp_pb2.Timestamp
    shutdown_deadline: _timestamp_pb2.Timestamp
    def __init__(self, vmi_uid: _Optional[str] = ..., name: _Optional[str] = ..., uuid: _Optional[str] = ..., defined: bool = ..., state: _Optional[_Union[DomainState, str]] = ..., reason: _Optional[str] = ..., failure: _Optional[str] = ..., paused_by_user: bool = ..., agent_connected: bool = ..., console_available: bool = ..., qemu_pid: _Optional[int] = ..., interfaces: _Optional[_Iterable[_Union[InterfaceStatus, _Mapping]]] = ..., guest_os: _Optional[_Union[GuestOSInfo, _Mapping]] = ..., accelerator: _Optional[str] = ..., observed: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., shutdown_started: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., shutdown_deadline: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
