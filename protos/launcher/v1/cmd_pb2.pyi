from protos.kubevirt.v1 import vmi_pb2 as _vmi_pb2
from protos.launcher.v1 import domain_pb2 as _domain_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HandshakeRequest(_message.Message):
    __slots__ = ("vmi_uid", "supported_versions")
    VMI_UID_FIELD_NUMBER: _ClassVar[int]
    SUPPORTED_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    vmi_uid: str
    supported_versions: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, vmi_uid: _Optional[str] = ..., supported_versions: _Optional[_Iterable[int]] = ...) -> None: ...

class HandshakeResponse(_message.Message):
    __slots__ = ("version", "vmi_uid", "launcher_version", "libvirt_version", "qemu_version", "accelerator", "pid")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VMI_UID_FIELD_NUMBER: _ClassVar[int]
    LAUNCHER_VERSION_FIELD_NUMBER: _ClassVar[int]
    LIBVIRT_VERSION_FIELD_NUMBER: _ClassVar[int]
    QEMU_VERSION_FIELD_NUMBER: _ClassVar[int]
    ACCELERATOR_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    version: int
    vmi_uid: str
    launcher_version: str
    libvirt_version: str
    qemu_version: str
    accelerator: str
    pid: int
    def __init__(self, version: _Optional[int] = ..., vmi_uid: _Optional[str] = ..., launcher_version: _Optional[str] = ..., libvirt_version: _Optional[str] = ..., qemu_version: _Optional[str] = ..., accelerator: _Optional[str] = ..., pid: _Optional[int] = ...) -> None: ...

class DiskSource(_message.Message):
    __slots__ = ("path", "format", "kind", "readonly")
    PATH_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    READONLY_FIELD_NUMBER: _ClassVar[int]
    path: str
    format: str
    kind: str
    readonly: bool
    def __init__(self, path: _Optional[str] = ..., format: _Optional[str] = ..., kind: _Optional[str] = ..., readonly: bool = ...) -> None: ...

class PreparedInterface(_message.Message):
    __slots__ = ("name", "tap", "mac", "dhcp")
    class Dhcp(_message.Message):
        __slots__ = ("server_interface", "server_address", "guest_address", "prefix_length", "gateway", "dns_servers", "search_domains", "hostname", "mtu", "lease_seconds")
        SERVER_INTERFACE_FIELD_NUMBER: _ClassVar[int]
        SERVER_ADDRESS_FIELD_NUMBER: _ClassVar[int]
        GUEST_ADDRESS_FIELD_NUMBER: _ClassVar[int]
        PREFIX_LENGTH_FIELD_NUMBER: _ClassVar[int]
        GATEWAY_FIELD_NUMBER: _ClassVar[int]
        DNS_SERVERS_FIELD_NUMBER: _ClassVar[int]
        SEARCH_DOMAINS_FIELD_NUMBER: _ClassVar[int]
        HOSTNAME_FIELD_NUMBER: _ClassVar[int]
        MTU_FIELD_NUMBER: _ClassVar[int]
        LEASE_SECONDS_FIELD_NUMBER: _ClassVar[int]
        server_interface: str
        server_address: str
        guest_address: str
        prefix_length: int
        gateway: str
        dns_servers: _containers.RepeatedScalarFieldContainer[str]
        search_domains: _containers.RepeatedScalarFieldContainer[str]
        hostname: str
        mtu: int
        lease_seconds: int
        def __init__(self, server_interface: _Optional[str] = ..., server_address: _Optional[str] = ..., guest_address: _Optional[str] = ..., prefix_length: _Optional[int] = ..., gateway: _Optional[str] = ..., dns_servers: _Optional[_Iterable[str]] = ..., search_domains: _Optional[_Iterable[str]] = ..., hostname: _Optional[str] = ..., mtu: _Optional[int] = ..., lease_seconds: _Optional[int] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    TAP_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    DHCP_FIELD_NUMBER: _ClassVar[int]
    name: str
    tap: str
    mac: str
    dhcp: PreparedInterface.Dhcp
    def __init__(self, name: _Optional[str] = ..., tap: _Optional[str] = ..., mac: _Optional[str] = ..., dhcp: _Optional[_Union[PreparedInterface.Dhcp, _Mapping]] = ...) -> None: ...

class HostDeviceAllocation(_message.Message):
    __slots__ = ("pci_address", "mdev_uuid")
    PCI_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    MDEV_UUID_FIELD_NUMBER: _ClassVar[int]
    pci_address: str
    mdev_uuid: str
    def __init__(self, pci_address: _Optional[str] = ..., mdev_uuid: _Optional[str] = ...) -> None: ...

class KernelBootFiles(_message.Message):
    __slots__ = ("kernel", "initrd")
    KERNEL_FIELD_NUMBER: _ClassVar[int]
    INITRD_FIELD_NUMBER: _ClassVar[int]
    kernel: str
    initrd: str
    def __init__(self, kernel: _Optional[str] = ..., initrd: _Optional[str] = ...) -> None: ...

class SyncOptions(_message.Message):
    __slots__ = ("disks", "interfaces", "host_devices", "kernel_boot", "smbios", "memballoon_stats_period_seconds", "shared_memory_file")
    class DisksEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: DiskSource
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[DiskSource, _Mapping]] = ...) -> None: ...
    class HostDevicesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: HostDeviceAllocation
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[HostDeviceAllocation, _Mapping]] = ...) -> None: ...
    class SmbiosEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DISKS_FIELD_NUMBER: _ClassVar[int]
    INTERFACES_FIELD_NUMBER: _ClassVar[int]
    HOST_DEVICES_FIELD_NUMBER: _ClassVar[int]
    KERNEL_BOOT_FIELD_NUMBER: _ClassVar[int]
    SMBIOS_FIELD_NUMBER: _ClassVar[int]
    MEMBALLOON_STATS_PERIOD_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SHARED_MEMORY_FILE_FIELD_NUMBER: _ClassVar[int]
    disks: _containers.MessageMap[str, DiskSource]
    interfaces: _containers.RepeatedCompositeFieldContainer[PreparedInterface]
    host_devices: _containers.MessageMap[str, HostDeviceAllocation]
    kernel_boot: KernelBootFiles
    smbios: _containers.ScalarMap[str, str]
    memballoon_stats_period_seconds: int
    shared_memory_file: bool
    def __init__(self, disks: _Optional[_Mapping[str, DiskSource]] = ..., interfaces: _Optional[_Iterable[_Union[PreparedInterface, _Mapping]]] = ..., host_devices: _Optional[_Mapping[str, HostDeviceAllocation]] = ..., kernel_boot: _Optional[_Union[KernelBootFiles, _Mapping]] = ..., smbios: _Optional[_Mapping[str, str]] = ..., memballoon_stats_period_seconds: _Optional[int] = ..., shared_memory_file: bool = ...) -> None: ...

class SyncRequest(_message.Message):
    __slots__ = ("vmi_uid", "vmi", "options")
    VMI_UID_FIELD_NUMBER: _ClassVar[int]
    VMI_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    vmi_uid: str
    vmi: _vmi_pb2.VirtualMachineInstance
    options: SyncOptions
    def __init__(self, vmi_uid: _Optional[str] = ..., vmi: _Optional[_Union[_vmi_pb2.VirtualMachineInstance, _Mapping]] = ..., options: _Optional[_Union[SyncOptions, _Mapping]] = ...) -> None: ...

class SyncResponse(_message.Message):
    __slots__ = ("status", "defined", "started", "restart_required")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DEFINED_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    RESTART_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    status: _domain_pb2.DomainStatus
    defined: bool
    started: bool
    restart_required: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, status: _Optional[_Union[_domain_pb2.DomainStatus, _Mapping]] = ..., defined: bool = ..., started: bool = ..., restart_required: _Optional[_Iterable[str]] = ...) -> None: ...

class ShutdownRequest(_message.Message):
    __slots__ = ("vmi_uid", "grace_period_seconds", "wait")
    VMI_UID_FIELD_NUMBER: _ClassVar[int]
    GRACE_PERIOD_SECONDS_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    vmi_uid: str
    grace_period_seconds: int
    wait: bool
    def __init__(self, vmi_uid: _Optional[str] = ..., grace_period_seconds: _Optional[int] = ..., wait: bool = ...) -> None: ...

class ShutdownResponse(_message.Message):
    __slots__ = ("status", "forced")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FORCED_FIELD_NUMBER: _ClassVar[int]
    status: _domain_pb2.DomainStatus
    forced: bool
    def __init__(self, status: _Optional[_Union[_domain_pb2.DomainStatus, _Mapping]] = ..., forced: bool = ...) -> None: ...

class KillRequest(_message.Message):
    __slots__ = ("vmi_uid",)
    VMI_UID_FIELD_NUMBER: _ClassVar[int]
    vmi_uid: str
    def __init__(self, vmi_uid: _Optional[str] = ...) -> None: ...

class KillResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: _domain_pb2.DomainStatus
    def __init__(self, status: _Optional[_Union[_domain_pb2.DomainStatus, _Mapping]] = ...) -> None: ...

class PauseRequest(_message.Message):
    __slots__ = ("vmi_uid",)
    VMI_UID_FIELD_NUMBER: _ClassVar[int]
    vmi_uid: str
    def __init__(self, vmi_uid: _Optional[str] = ...) -> None: ...

class PauseResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: _domain_pb2.DomainStatus
    def __init__(self, status: _Optional[_Union[_domain_pb2.DomainStatus, _Mapping]] = ...) -> None: ...

class UnpauseRequest(_message.Message):
    __slots__ = ("vmi_uid",)
    VMI_UID_FIELD_NUMBER: _ClassVar[int]
    vmi_uid: str
    def __init__(self, vmi_uid: _Optional[str] = ...) -> None: ...

class UnpauseResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: _domain_pb2.DomainStatus
    def __init__(self, status: _Optional[_Union[_domain_pb2.DomainStatus, _Mapping]] = ...) -> None: ...

class ResetRequest(_message.Message):
    __slots__ = ("vmi_uid",)
    VMI_UID_FIELD_NUMBER: _ClassVar[int]
    vmi_uid: str
    def __init__(self, vmi_uid: _Optional[str] = ...) -> None: ...

class ResetResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: _domain_pb2.DomainStatus
    def __init__(self, status: _Optional[_Union[_domain_pb2.DomainStatus, _Mapping]] = ...) -> None: ...

class SoftRebootRequest(_message.Message):
    __slots__ = ("vmi_uid",)
    VMI_UID_FIELD_NUMBER: _ClassVar[int]
    vmi_uid: str
    def __init__(self, vmi_uid: _Optional[str] = ...) -> None: ...

class SoftRebootResponse(_message.Message):
    __slots__ = ("status", "method")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    status: _domain_pb2.DomainStatus
    method: str
    def __init__(self, status: _Optional[_Union[_domain_pb2.DomainStatus, _Mapping]] = ..., method: _Optional[str] = ...) -> None: ...

class GetDomainRequest(_message.Message):
    __slots__ = ("vmi_uid",)
    VMI_UID_FIELD_NUMBER: _ClassVar[int]
    vmi_uid: str
    def __init__(self, vmi_uid: _Optional[str] = ...) -> None: ...

class GetDomainResponse(_message.Message):
    __slots__ = ("status", "domain_xml")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_XML_FIELD_NUMBER: _ClassVar[int]
    status: _domain_pb2.DomainStatus
    domain_xml: str
    def __init__(self, status: _Optional[_Union[_domain_pb2.DomainStatus, _Mapping]] = ..., domain_xml: _Optional[str] = ...) -> None: ...

class GetStatsRequest(_message.Message):
    __slots__ = ("vmi_uid",)
    VMI_UID_FIELD_NUMBER: _ClassVar[int]
    vmi_uid: str
    def __init__(self, vmi_uid: _Optional[str] = ...) -> None: ...

class CPUStats(_message.Message):
    __slots__ = ("cpu_time_ns", "user_time_ns", "system_time_ns", "vcpus")
    CPU_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    USER_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    VCPUS_FIELD_NUMBER: _ClassVar[int]
    cpu_time_ns: int
    user_time_ns: int
    system_time_ns: int
    vcpus: int
    def __init__(self, cpu_time_ns: _Optional[int] = ..., user_time_ns: _Optional[int] = ..., system_time_ns: _Optional[int] = ..., vcpus: _Optional[int] = ...) -> None: ...

class MemoryStats(_message.Message):
    __slots__ = ("actual_kib", "available_kib", "unused_kib", "usable_kib", "rss_kib", "swap_in_kib", "swap_out_kib", "major_faults", "minor_faults")
    ACTUAL_KIB_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_KIB_FIELD_NUMBER: _ClassVar[int]
    UNUSED_KIB_FIELD_NUMBER: _ClassVar[int]
    USABLE_KIB_FIELD_NUMBER: _ClassVar[int]
    RSS_KIB_FIELD_NUMBER: _ClassVar[int]
    SWAP_IN_KIB_FIELD_NUMBER: _ClassVar[int]
    SWAP_OUT_KIB_FIELD_NUMBER: _ClassVar[int]
    MAJOR_FAULTS_FIELD_NUMBER: _ClassVar[int]
    MINOR_FAULTS_FIELD_NUMBER: _ClassVar[int]
    actual_kib: int
    available_kib: int
    unused_kib: int
    usable_kib: int
    rss_kib: int
    swap_in_kib: int
    swap_out_kib: int
    major_faults: int
    minor_faults: int
    def __init__(self, actual_kib: _Optional[int] = ..., available_kib: _Optional[int] = ..., unused_kib: _Optional[int] = ..., usable_kib: _Optional[int] = ..., rss_kib: _Optional[int] = ..., swap_in_kib: _Optional[int] = ..., swap_out_kib: _Optional[int] = ..., major_faults: _Optional[int] = ..., minor_faults: _Optional[int] = ...) -> None: ...

class BlockStats(_message.Message):
    __slots__ = ("name", "target", "read_bytes", "write_bytes", "read_requests", "write_requests", "read_time_ns", "write_time_ns")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    READ_BYTES_FIELD_NUMBER: _ClassVar[int]
    WRITE_BYTES_FIELD_NUMBER: _ClassVar[int]
    READ_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    WRITE_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    READ_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    WRITE_TIME_NS_FIELD_NUMBER: _ClassVar[int]
    name: str
    target: str
    read_bytes: int
    write_bytes: int
    read_requests: int
    write_requests: int
    read_time_ns: int
    write_time_ns: int
    def __init__(self, name: _Optional[str] = ..., target: _Optional[str] = ..., read_bytes: _Optional[int] = ..., write_bytes: _Optional[int] = ..., read_requests: _Optional[int] = ..., write_requests: _Optional[int] = ..., read_time_ns: _Optional[int] = ..., write_time_ns: _Optional[int] = ...) -> None: ...

class NetStats(_message.Message):
    __slots__ = ("name", "tap", "rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "tx_bytes", "tx_packets", "tx_errors", "tx_dropped")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TAP_FIELD_NUMBER: _ClassVar[int]
    RX_BYTES_FIELD_NUMBER: _ClassVar[int]
    RX_PACKETS_FIELD_NUMBER: _ClassVar[int]
    RX_ERRORS_FIELD_NUMBER: _ClassVar[int]
    RX_DROPPED_FIELD_NUMBER: _ClassVar[int]
    TX_BYTES_FIELD_NUMBER: _ClassVar[int]
    TX_PACKETS_FIELD_NUMBER: _ClassVar[int]
    TX_ERRORS_FIELD_NUMBER: _ClassVar[int]
    TX_DROPPED_FIELD_NUMBER: _ClassVar[int]
    name: str
    tap: str
    rx_bytes: int
    rx_packets: int
    rx_errors: int
    rx_dropped: int
    tx_bytes: int
    tx_packets: int
    tx_errors: int
    tx_dropped: int
    def __init__(self, name: _Optional[str] = ..., tap: _Optional[str] = ..., rx_bytes: _Optional[int] = ..., rx_packets: _Optional[int] = ..., rx_errors: _Optional[int] = ..., rx_dropped: _Optional[int] = ..., tx_bytes: _Optional[int] = ..., tx_packets: _Optional[int] = ..., tx_errors: _Optional[int] = ..., tx_dropped: _Optional[int] = ...) -> None: ...

class GetStatsResponse(_message.Message):
    __slots__ = ("status", "cpu", "memory", "block", "net")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    NET_FIELD_NUMBER: _ClassVar[int]
    status: _domain_pb2.DomainStatus
    cpu: CPUStats
    memory: MemoryStats
    block: _containers.RepeatedCompositeFieldContainer[BlockStats]
    net: _containers.RepeatedCompositeFieldContainer[NetStats]
    def __init__(self, status: _Optional[_Union[_domain_pb2.DomainStatus, _Mapping]] = ..., cpu: _Optional[_Union[CPUStats, _Mapping]] = ..., memory: _Optional[_Union[MemoryStats, _Mapping]] = ..., block: _Optional[_Iterable[_Union[BlockStats, _Mapping]]] = ..., net: _Optional[_Iterable[_Union[NetStats, _Mapping]]] = ...) -> None: ...

class GuestInfoRequest(_message.Message):
    __slots__ = ("vmi_uid",)
    VMI_UID_FIELD_NUMBER: _ClassVar[int]
    vmi_uid: str
    def __init__(self, vmi_uid: _Optional[str] = ...) -> None: ...

class GuestUser(_message.Message):
    __slots__ = ("name", "domain", "login_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    LOGIN_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    domain: str
    login_time: float
    def __init__(self, name: _Optional[str] = ..., domain: _Optional[str] = ..., login_time: _Optional[float] = ...) -> None: ...

class GuestFilesystem(_message.Message):
    __slots__ = ("mountpoint", "name", "type", "total_bytes", "used_bytes")
    MOUNTPOINT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    mountpoint: str
    name: str
    type: str
    total_bytes: int
    used_bytes: int
    def __init__(self, mountpoint: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., total_bytes: _Optional[int] = ..., used_bytes: _Optional[int] = ...) -> None: ...

class GuestInfoResponse(_message.Message):
    __slots__ = ("os", "hostname", "timezone", "users", "filesystems", "interfaces", "agent_version")
    OS_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    FILESYSTEMS_FIELD_NUMBER: _ClassVar[int]
    INTERFACES_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    os: _domain_pb2.GuestOSInfo
    hostname: str
    timezone: str
    users: _containers.RepeatedCompositeFieldContainer[GuestUser]
    filesystems: _containers.RepeatedCompositeFieldContainer[GuestFilesystem]
    interfaces: _containers.RepeatedCompositeFieldContainer[_domain_pb2.InterfaceStatus]
    agent_version: str
    def __init__(self, os: _Optional[_Union[_domain_pb2.GuestOSInfo, _Mapping]] = ..., hostname: _Optional[str] = ..., timezone: _Optional[str] = ..., users: _Optional[_Iterable[_Union[GuestUser, _Mapping]]] = ..., filesystems: _Optional[_Iterable[_Union[GuestFilesystem, _Mapping]]] = ..., interfaces: _Optional[_Iterable[_Union[_domain_pb2.InterfaceStatus, _Mapping]]] = ..., agent_version: _Optional[str] = ...) -> None: ...

class ReadBootLogRequest(_message.Message):
    __slots__ = ("vmi_uid", "offset", "limit")
    VMI_UID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    vmi_uid: str
    offset: int
    limit: int
    def __init__(self, vmi_uid: _Optional[str] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ReadBootLogResponse(_message.Message):
    __slots__ = ("data", "offset", "next_offset")
    DATA_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    NEXT_OFFSET_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    offset: int
    next_offset: int
    def __init__(self, data: _Optional[bytes] = ..., offset: _Optional[int] = ..., next_offset: _Optional[int] = ...) -> None: ...

class TerminateRequest(_message.Message):
    __slots__ = ("vmi_uid", "grace_period_seconds")
    VMI_UID_FIELD_NUMBER: _ClassVar[int]
    GRACE_PERIOD_SECONDS_FIELD_NUMBER: _ClassVar[int]
    vmi_uid: str
    grace_period_seconds: int
    def __init__(self, vmi_uid: _Optional[str] = ..., grace_period_seconds: _Optional[int] = ...) -> None: ...

class TerminateResponse(_message.Message):
    __slots__ = ("status", "forced")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FORCED_FIELD_NUMBER: _ClassVar[int]
    status: _domain_pb2.DomainStatus
    forced: bool
    def __init__(self, status: _Optional[_Union[_domain_pb2.DomainStatus, _Mapping]] = ..., forced: bool = ...) -> None: ...

class PingRequest(_message.Message):
    __slots__ = ("vmi_uid",)
    VMI_UID_FIELD_NUMBER: _ClassVar[int]
    vmi_uid: str
    def __init__(self, vmi_uid: _Optional[str] = ...) -> None: ...

class PingResponse(_message.Message):
    __slots__ = ("vmi_uid",)
    VMI_UID_FIELD_NUMBER: _ClassVar[int]
    vmi_uid: str
    def __init__(self, vmi_uid: _Optional[str] = ...) -> None: ...
