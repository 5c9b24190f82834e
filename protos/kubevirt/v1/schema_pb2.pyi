from protos.kubevirt.v1 import core_pb2 as _core_pb2
from protos.kubevirt.v1 import meta_pb2 as _meta_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CPUFeature(_message.Message):
    __slots__ = ("name", "policy")
    NAME_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    name: str
    policy: str
    def __init__(self, name: _Optional[str] = ..., policy: _Optional[str] = ...) -> None: ...

class NUMAGuestMappingPassthrough(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NUMA(_message.Message):
    __slots__ = ("guest_mapping_passthrough",)
    GUEST_MAPPING_PASSTHROUGH_FIELD_NUMBER: _ClassVar[int]
    guest_mapping_passthrough: NUMAGuestMappingPassthrough
    def __init__(self, guest_mapping_passthrough: _Optional[_Union[NUMAGuestMappingPassthrough, _Mapping]] = ...) -> None: ...

class Realtime(_message.Message):
    __slots__ = ("mask",)
    MASK_FIELD_NUMBER: _ClassVar[int]
    mask: str
    def __init__(self, mask: _Optional[str] = ...) -> None: ...

class CPU(_message.Message):
    __slots__ = ("cores", "sockets", "max_sockets", "threads", "model", "features", "dedicated_cpu_placement", "numa", "isolate_emulator_thread", "realtime")
    CORES_FIELD_NUMBER: _ClassVar[int]
    SOCKETS_FIELD_NUMBER: _ClassVar[int]
    MAX_SOCKETS_FIELD_NUMBER: _ClassVar[int]
    THREADS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    DEDICATED_CPU_PLACEMENT_FIELD_NUMBER: _ClassVar[int]
    NUMA_FIELD_NUMBER: _ClassVar[int]
    ISOLATE_EMULATOR_THREAD_FIELD_NUMBER: _ClassVar[int]
    REALTIME_FIELD_NUMBER: _ClassVar[int]
    cores: int
    sockets: int
    max_sockets: int
    threads: int
    model: str
    features: _containers.RepeatedCompositeFieldContainer[CPUFeature]
    dedicated_cpu_placement: bool
    numa: NUMA
    isolate_emulator_thread: bool
    realtime: Realtime
    def __init__(self, cores: _Optional[int] = ..., sockets: _Optional[int] = ..., max_sockets: _Optional[int] = ..., threads: _Optional[int] = ..., model: _Optional[str] = ..., features: _Optional[_Iterable[_Union[CPUFeature, _Mapping]]] = ..., dedicated_cpu_placement: bool = ..., numa: _Optional[_Union[NUMA, _Mapping]] = ..., isolate_emulator_thread: bool = ..., realtime: _Optional[_Union[Realtime, _Mapping]] = ...) -> None: ...

class Hugepages(_message.Message):
    __slots__ = ("page_size",)
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    page_size: str
    def __init__(self, page_size: _Optional[str] = ...) -> None: ...

class Memory(_message.Message):
    __slots__ = ("guest", "max_guest", "hugepages")
    GUEST_FIELD_NUMBER: _ClassVar[int]
    MAX_GUEST_FIELD_NUMBER: _ClassVar[int]
    HUGEPAGES_FIELD_NUMBER: _ClassVar[int]
    guest: _meta_pb2.Quantity
    max_guest: _meta_pb2.Quantity
    hugepages: Hugepages
    def __init__(self, guest: _Optional[_Union[_meta_pb2.Quantity, _Mapping]] = ..., max_guest: _Optional[_Union[_meta_pb2.Quantity, _Mapping]] = ..., hugepages: _Optional[_Union[Hugepages, _Mapping]] = ...) -> None: ...

class Machine(_message.Message):
    __slots__ = ("type",)
    TYPE_FIELD_NUMBER: _ClassVar[int]
    type: str
    def __init__(self, type: _Optional[str] = ...) -> None: ...

class BIOS(_message.Message):
    __slots__ = ("use_serial",)
    USE_SERIAL_FIELD_NUMBER: _ClassVar[int]
    use_serial: bool
    def __init__(self, use_serial: bool = ...) -> None: ...

class EFI(_message.Message):
    __slots__ = ("secure_boot", "persistent")
    SECURE_BOOT_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_FIELD_NUMBER: _ClassVar[int]
    secure_boot: bool
    persistent: bool
    def __init__(self, secure_boot: bool = ..., persistent: bool = ...) -> None: ...

class Bootloader(_message.Message):
    __slots__ = ("bios", "efi")
    BIOS_FIELD_NUMBER: _ClassVar[int]
    EFI_FIELD_NUMBER: _ClassVar[int]
    bios: BIOS
    efi: EFI
    def __init__(self, bios: _Optional[_Union[BIOS, _Mapping]] = ..., efi: _Optional[_Union[EFI, _Mapping]] = ...) -> None: ...

class KernelBootContainer(_message.Message):
    __slots__ = ("image", "image_pull_secret", "image_pull_policy", "kernel_path", "initrd_path")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_PULL_SECRET_FIELD_NUMBER: _ClassVar[int]
    IMAGE_PULL_POLICY_FIELD_NUMBER: _ClassVar[int]
    KERNEL_PATH_FIELD_NUMBER: _ClassVar[int]
    INITRD_PATH_FIELD_NUMBER: _ClassVar[int]
    image: str
    image_pull_secret: str
    image_pull_policy: str
    kernel_path: str
    initrd_path: str
    def __init__(self, image: _Optional[str] = ..., image_pull_secret: _Optional[str] = ..., image_pull_policy: _Optional[str] = ..., kernel_path: _Optional[str] = ..., initrd_path: _Optional[str] = ...) -> None: ...

class KernelBoot(_message.Message):
    __slots__ = ("kernel_args", "container")
    KERNEL_ARGS_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    kernel_args: str
    container: KernelBootContainer
    def __init__(self, kernel_args: _Optional[str] = ..., container: _Optional[_Union[KernelBootContainer, _Mapping]] = ...) -> None: ...

class Firmware(_message.Message):
    __slots__ = ("uuid", "serial", "bootloader", "kernel_boot")
    UUID_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    BOOTLOADER_FIELD_NUMBER: _ClassVar[int]
    KERNEL_BOOT_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    serial: str
    bootloader: Bootloader
    kernel_boot: KernelBoot
    def __init__(self, uuid: _Optional[str] = ..., serial: _Optional[str] = ..., bootloader: _Optional[_Union[Bootloader, _Mapping]] = ..., kernel_boot: _Optional[_Union[KernelBoot, _Mapping]] = ...) -> None: ...

class ClockOffsetUTC(_message.Message):
    __slots__ = ("offset_seconds",)
    OFFSET_SECONDS_FIELD_NUMBER: _ClassVar[int]
    offset_seconds: int
    def __init__(self, offset_seconds: _Optional[int] = ...) -> None: ...

class TimerAttrs(_message.Message):
    __slots__ = ("present", "tick_policy", "track")
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    TICK_POLICY_FIELD_NUMBER: _ClassVar[int]
    TRACK_FIELD_NUMBER: _ClassVar[int]
    present: bool
    tick_policy: str
    track: str
    def __init__(self, present: bool = ..., tick_policy: _Optional[str] = ..., track: _Optional[str] = ...) -> None: ...

class Timer(_message.Message):
    __slots__ = ("hpet", "kvm", "pit", "rtc", "hyperv")
    HPET_FIELD_NUMBER: _ClassVar[int]
    KVM_FIELD_NUMBER: _ClassVar[int]
    PIT_FIELD_NUMBER: _ClassVar[int]
    RTC_FIELD_NUMBER: _ClassVar[int]
    HYPERV_FIELD_NUMBER: _ClassVar[int]
    hpet: TimerAttrs
    kvm: TimerAttrs
    pit: TimerAttrs
    rtc: TimerAttrs
    hyperv: TimerAttrs
    def __init__(self, hpet: _Optional[_Union[TimerAttrs, _Mapping]] = ..., kvm: _Optional[_Union[TimerAttrs, _Mapping]] = ..., pit: _Optional[_Union[TimerAttrs, _Mapping]] = ..., rtc: _Optional[_Union[TimerAttrs, _Mapping]] = ..., hyperv: _Optional[_Union[TimerAttrs, _Mapping]] = ...) -> None: ...

class Clock(_message.Message):
    __slots__ = ("utc", "timezone", "timer")
    UTC_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    TIMER_FIELD_NUMBER: _ClassVar[int]
    utc: ClockOffsetUTC
    timezone: str
    timer: Timer
    def __init__(self, utc: _Optional[_Union[ClockOffsetUTC, _Mapping]] = ..., timezone: _Optional[str] = ..., timer: _Optional[_Union[Timer, _Mapping]] = ...) -> None: ...

class FeatureState(_message.Message):
    __slots__ = ("enabled",)
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    def __init__(self, enabled: bool = ...) -> None: ...

class FeatureAPIC(_message.Message):
    __slots__ = ("enabled", "end_of_interrupt")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    END_OF_INTERRUPT_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    end_of_interrupt: bool
    def __init__(self, enabled: bool = ..., end_of_interrupt: bool = ...) -> None: ...

class FeatureSpinlocks(_message.Message):
    __slots__ = ("enabled", "spinlocks")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    SPINLOCKS_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    spinlocks: int
    def __init__(self, enabled: bool = ..., spinlocks: _Optional[int] = ...) -> None: ...

class FeatureVendorID(_message.Message):
    __slots__ = ("enabled", "vendorid")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    VENDORID_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    vendorid: str
    def __init__(self, enabled: bool = ..., vendorid: _Optional[str] = ...) -> None: ...

class SyNICTimer(_message.Message):
    __slots__ = ("enabled", "direct")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    DIRECT_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    direct: FeatureState
    def __init__(self, enabled: bool = ..., direct: _Optional[_Union[FeatureState, _Mapping]] = ...) -> None: ...

class FeatureHyperv(_message.Message):
    __slots__ = ("relaxed", "vapic", "spinlocks", "vpindex", "runtime", "synic", "synictimer", "reset", "vendorid", "frequencies", "reenlightenment", "tlbflush", "ipi", "evmcs")
    RELAXED_FIELD_NUMBER: _ClassVar[int]
    VAPIC_FIELD_NUMBER: _ClassVar[int]
    SPINLOCKS_FIELD_NUMBER: _ClassVar[int]
    VPINDEX_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    SYNIC_FIELD_NUMBER: _ClassVar[int]
    SYNICTIMER_FIELD_NUMBER: _ClassVar[int]
    RESET_FIELD_NUMBER: _ClassVar[int]
    VENDORID_FIELD_NUMBER: _ClassVar[int]
    FREQUENCIES_FIELD_NUMBER: _ClassVar[int]
    REENLIGHTENMENT_FIELD_NUMBER: _ClassVar[int]
    TLBFLUSH_FIELD_NUMBER: _ClassVar[int]
    IPI_FIELD_NUMBER: _ClassVar[int]
    EVMCS_FIELD_NUMBER: _ClassVar[int]
    relaxed: FeatureState
    vapic: FeatureState
    spinlocks: FeatureSpinlocks
    vpindex: FeatureState
    runtime: FeatureState
    synic: FeatureState
    synictimer: SyNICTimer
    reset: FeatureState
    vendorid: FeatureVendorID
    frequencies: FeatureState
    reenlightenment: FeatureState
    tlbflush: FeatureState
    ipi: FeatureState
    evmcs: FeatureState
    def __init__(self, relaxed: _Optional[_Union[FeatureState, _Mapping]] = ..., vapic: _Optional[_Union[FeatureState, _Mapping]] = ..., spinlocks: _Optional[_Union[FeatureSpinlocks, _Mapping]] = ..., vpindex: _Optional[_Union[FeatureState, _Mapping]] = ..., runtime: _Optional[_Union[FeatureState, _Mapping]] = ..., synic: _Optional[_Union[FeatureState, _Mapping]] = ..., synictimer: _Optional[_Union[SyNICTimer, _Mapping]] = ..., reset: _Optional[_Union[FeatureState, _Mapping]] = ..., vendorid: _Optional[_Union[FeatureVendorID, _Mapping]] = ..., frequencies: _Optional[_Union[FeatureState, _Mapping]] = ..., reenlightenment: _Optional[_Union[FeatureState, _Mapping]] = ..., tlbflush: _Optional[_Union[FeatureState, _Mapping]] = ..., ipi: _Optional[_Union[FeatureState, _Mapping]] = ..., evmcs: _Optional[_Union[FeatureState, _Mapping]] = ...) -> None: ...

class FeatureKVM(_message.Message):
    __slots__ = ("hidden",)
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    hidden: bool
    def __init__(self, hidden: bool = ...) -> None: ...

class Features(_message.Message):
    __slots__ = ("acpi", "apic", "hyperv", "smm", "kvm", "pvspinlock", "hyperv_passthrough")
    ACPI_FIELD_NUMBER: _ClassVar[int]
    APIC_FIELD_NUMBER: _ClassVar[int]
    HYPERV_FIELD_NUMBER: _ClassVar[int]
    SMM_FIELD_NUMBER: _ClassVar[int]
    KVM_FIELD_NUMBER: _ClassVar[int]
    PVSPINLOCK_FIELD_NUMBER: _ClassVar[int]
    HYPERV_PASSTHROUGH_FIELD_NUMBER: _ClassVar[int]
    acpi: FeatureState
    apic: FeatureAPIC
    hyperv: FeatureHyperv
    smm: FeatureState
    kvm: FeatureKVM
    pvspinlock: FeatureState
    hyperv_passthrough: FeatureState
    def __init__(self, acpi: _Optional[_Union[FeatureState, _Mapping]] = ..., apic: _Optional[_Union[FeatureAPIC, _Mapping]] = ..., hyperv: _Optional[_Union[FeatureHyperv, _Mapping]] = ..., smm: _Optional[_Union[FeatureState, _Mapping]] = ..., kvm: _Optional[_Union[FeatureKVM, _Mapping]] = ..., pvspinlock: _Optional[_Union[FeatureState, _Mapping]] = ..., hyperv_passthrough: _Optional[_Union[FeatureState, _Mapping]] = ...) -> None: ...

class DiskTarget(_message.Message):
    __slots__ = ("bus", "readonly", "pci_address")
    BUS_FIELD_NUMBER: _ClassVar[int]
    READONLY_FIELD_NUMBER: _ClassVar[int]
    PCI_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    bus: str
    readonly: bool
    pci_address: str
    def __init__(self, bus: _Optional[str] = ..., readonly: bool = ..., pci_address: _Optional[str] = ...) -> None: ...

class LunTarget(_message.Message):
    __slots__ = ("bus", "readonly", "reservation")
    BUS_FIELD_NUMBER: _ClassVar[int]
    READONLY_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    bus: str
    readonly: bool
    reservation: bool
    def __init__(self, bus: _Optional[str] = ..., readonly: bool = ..., reservation: bool = ...) -> None: ...

class CDRomTarget(_message.Message):
    __slots__ = ("bus", "readonly", "tray")
    BUS_FIELD_NUMBER: _ClassVar[int]
    READONLY_FIELD_NUMBER: _ClassVar[int]
    TRAY_FIELD_NUMBER: _ClassVar[int]
    bus: str
    readonly: bool
    tray: str
    def __init__(self, bus: _Optional[str] = ..., readonly: bool = ..., tray: _Optional[str] = ...) -> None: ...

class CustomBlockSize(_message.Message):
    __slots__ = ("logical", "physical", "discard_granularity")
    LOGICAL_FIELD_NUMBER: _ClassVar[int]
    PHYSICAL_FIELD_NUMBER: _ClassVar[int]
    DISCARD_GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    logical: int
    physical: int
    discard_granularity: int
    def __init__(self, logical: _Optional[int] = ..., physical: _Optional[int] = ..., discard_granularity: _Optional[int] = ...) -> None: ...

class BlockSize(_message.Message):
    __slots__ = ("custom", "match_volume")
    CUSTOM_FIELD_NUMBER: _ClassVar[int]
    MATCH_VOLUME_FIELD_NUMBER: _ClassVar[int]
    custom: CustomBlockSize
    match_volume: FeatureState
    def __init__(self, custom: _Optional[_Union[CustomBlockSize, _Mapping]] = ..., match_volume: _Optional[_Union[FeatureState, _Mapping]] = ...) -> None: ...

class Disk(_message.Message):
    __slots__ = ("name", "disk", "lun", "cdrom", "boot_order", "serial", "dedicated_io_thread", "cache", "io", "tag", "block_size", "shareable", "error_policy")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISK_FIELD_NUMBER: _ClassVar[int]
    LUN_FIELD_NUMBER: _ClassVar[int]
    CDROM_FIELD_NUMBER: _ClassVar[int]
    BOOT_ORDER_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    DEDICATED_IO_THREAD_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    IO_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    BLOCK_SIZE_FIELD_NUMBER: _ClassVar[int]
    SHAREABLE_FIELD_NUMBER: _ClassVar[int]
    ERROR_POLICY_FIELD_NUMBER: _ClassVar[int]
    name: str
    disk: DiskTarget
    lun: LunTarget
    cdrom: CDRomTarget
    boot_order: int
    serial: str
    dedicated_io_thread: bool
    cache: str
    io: str
    tag: str
    block_size: BlockSize
    shareable: bool
    error_policy: str
    def __init__(self, name: _Optional[str] = ..., disk: _Optional[_Union[DiskTarget, _Mapping]] = ..., lun: _Optional[_Union[LunTarget, _Mapping]] = ..., cdrom: _Optional[_Union[CDRomTarget, _Mapping]] = ..., boot_order: _Optional[int] = ..., serial: _Optional[str] = ..., dedicated_io_thread: bool = ..., cache: _Optional[str] = ..., io: _Optional[str] = ..., tag: _Optional[str] = ..., block_size: _Optional[_Union[BlockSize, _Mapping]] = ..., shareable: bool = ..., error_policy: _Optional[str] = ...) -> None: ...

class InterfaceBridge(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InterfaceMasquerade(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InterfaceSRIOV(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InterfaceSlirp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InterfaceMacvtap(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InterfacePasst(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PluginBinding(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class Port(_message.Message):
    __slots__ = ("name", "protocol", "port")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    name: str
    protocol: str
    port: int
    def __init__(self, name: _Optional[str] = ..., protocol: _Optional[str] = ..., port: _Optional[int] = ...) -> None: ...

class DHCPPrivateOptions(_message.Message):
    __slots__ = ("option", "value")
    OPTION_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    option: int
    value: str
    def __init__(self, option: _Optional[int] = ..., value: _Optional[str] = ...) -> None: ...

class DHCPOptions(_message.Message):
    __slots__ = ("boot_file_name", "tftp_server_name", "ntp_servers", "private_options")
    BOOT_FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    TFTP_SERVER_NAME_FIELD_NUMBER: _ClassVar[int]
    NTP_SERVERS_FIELD_NUMBER: _ClassVar[int]
    PRIVATE_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    boot_file_name: str
    tftp_server_name: str
    ntp_servers: _containers.RepeatedScalarFieldContainer[str]
    private_options: _containers.RepeatedCompositeFieldContainer[DHCPPrivateOptions]
    def __init__(self, boot_file_name: _Optional[str] = ..., tftp_server_name: _Optional[str] = ..., ntp_servers: _Optional[_Iterable[str]] = ..., private_options: _Optional[_Iterable[_Union[DHCPPrivateOptions, _Mapping]]] = ...) -> None: ...

class Interface(_message.Message):
    __slots__ = ("name", "model", "bridge", "masquerade", "sriov", "slirp", "macvtap", "passt", "binding", "ports", "mac_address", "boot_order", "pci_address", "dhcp_options", "tag", "acpi_index", "state")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BRIDGE_FIELD_NUMBER: _ClassVar[int]
    MASQUERADE_FIELD_NUMBER: _ClassVar[int]
    SRIOV_FIELD_NUMBER: _ClassVar[int]
    SLIRP_FIELD_NUMBER: _ClassVar[int]
    MACVTAP_FIELD_NUMBER: _ClassVar[int]
    PASST_FIELD_NUMBER: _ClassVar[int]
    BINDING_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    MAC_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    BOOT_ORDER_FIELD_NUMBER: _ClassVar[int]
    PCI_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    DHCP_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    ACPI_INDEX_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    name: str
    model: str
    bridge: InterfaceBridge
    masquerade: InterfaceMasquerade
    sriov: InterfaceSRIOV
    slirp: InterfaceSlirp
    macvtap: InterfaceMacvtap
    passt: InterfacePasst
    binding: PluginBinding
    ports: _containers.RepeatedCompositeFieldContainer[Port]
    mac_address: str
    boot_order: int
    pci_address: str
    dhcp_options: DHCPOptions
    tag: str
    acpi_index: int
    state: str
    def __init__(self, name: _Optional[str] = ..., model: _Optional[str] = ..., bridge: _Optional[_Union[InterfaceBridge, _Mapping]] = ..., masquerade: _Optional[_Union[InterfaceMasquerade, _Mapping]] = ..., sriov: _Optional[_Union[InterfaceSRIOV, _Mapping]] = ..., slirp: _Optional[_Union[InterfaceSlirp, _Mapping]] = ..., macvtap: _Optional[_Union[InterfaceMacvtap, _Mapping]] = ..., passt: _Optional[_Union[InterfacePasst, _Mapping]] = ..., binding: _Optional[_Union[PluginBinding, _Mapping]] = ..., ports: _Optional[_Iterable[_Union[Port, _Mapping]]] = ..., mac_address: _Optional[str] = ..., boot_order: _Optional[int] = ..., pci_address: _Optional[str] = ..., dhcp_options: _Optional[_Union[DHCPOptions, _Mapping]] = ..., tag: _Optional[str] = ..., acpi_index: _Optional[int] = ..., state: _Optional[str] = ...) -> None: ...

class DisplayRamFB(_message.Message):
    __slots__ = ("enabled",)
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    def __init__(self, enabled: bool = ...) -> None: ...

class VGPUDisplayOptions(_message.Message):
    __slots__ = ("enabled", "ram_fb")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    RAM_FB_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    ram_fb: DisplayRamFB
    def __init__(self, enabled: bool = ..., ram_fb: _Optional[_Union[DisplayRamFB, _Mapping]] = ...) -> None: ...

class VGPUOptions(_message.Message):
    __slots__ = ("display",)
    DISPLAY_FIELD_NUMBER: _ClassVar[int]
    display: VGPUDisplayOptions
    def __init__(self, display: _Optional[_Union[VGPUDisplayOptions, _Mapping]] = ...) -> None: ...

class GPU(_message.Message):
    __slots__ = ("name", "device_name", "virtual_gpu_options", "tag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DEVICE_NAME_FIELD_NUMBER: _ClassVar[int]
    VIRTUAL_GPU_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    device_name: str
    virtual_gpu_options: VGPUOptions
    tag: str
    def __init__(self, name: _Optional[str] = ..., device_name: _Optional[str] = ..., virtual_gpu_options: _Optional[_Union[VGPUOptions, _Mapping]] = ..., tag: _Optional[str] = ...) -> None: ...

class HostDevice(_message.Message):
    __slots__ = ("name", "device_name", "tag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DEVICE_NAME_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    device_name: str
    tag: str
    def __init__(self, name: _Optional[str] = ..., device_name: _Optional[str] = ..., tag: _Optional[str] = ...) -> None: ...

class FilesystemVirtiofs(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Filesystem(_message.Message):
    __slots__ = ("name", "virtiofs")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VIRTIOFS_FIELD_NUMBER: _ClassVar[int]
    name: str
    virtiofs: FilesystemVirtiofs
    def __init__(self, name: _Optional[str] = ..., virtiofs: _Optional[_Union[FilesystemVirtiofs, _Mapping]] = ...) -> None: ...

class Input(_message.Message):
    __slots__ = ("name", "bus", "type")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BUS_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    bus: str
    type: str
    def __init__(self, name: _Optional[str] = ..., bus: _Optional[str] = ..., type: _Optional[str] = ...) -> None: ...

class I6300ESBWatchdog(_message.Message):
    __slots__ = ("action",)
    ACTION_FIELD_NUMBER: _ClassVar[int]
    action: str
    def __init__(self, action: _Optional[str] = ...) -> None: ...

class Watchdog(_message.Message):
    __slots__ = ("name", "i6300esb")
    NAME_FIELD_NUMBER: _ClassVar[int]
    I6300ESB_FIELD_NUMBER: _ClassVar[int]
    name: str
    i6300esb: I6300ESBWatchdog
    def __init__(self, name: _Optional[str] = ..., i6300esb: _Optional[_Union[I6300ESBWatchdog, _Mapping]] = ...) -> None: ...

class Rng(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SoundDevice(_message.Message):
    __slots__ = ("name", "model")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    name: str
    model: str
    def __init__(self, name: _Optional[str] = ..., model: _Optional[str] = ...) -> None: ...

class TPMDevice(_message.Message):
    __slots__ = ("enabled", "persistent")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    persistent: bool
    def __init__(self, enabled: bool = ..., persistent: bool = ...) -> None: ...

class ClientPassthroughDevices(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Devices(_message.Message):
    __slots__ = ("disks", "interfaces", "gpus", "host_devices", "filesystems", "inputs", "watchdog", "rng", "sound", "tpm", "client_passthrough", "autoattach_pod_interface", "autoattach_graphics_device", "autoattach_serial_console", "log_serial_console", "autoattach_mem_balloon", "autoattach_input_device", "autoattach_vsock", "block_multi_queue", "network_interface_multiqueue", "use_virtio_transitional", "disable_hotplug")
    DISKS_FIELD_NUMBER: _ClassVar[int]
    INTERFACES_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    HOST_DEVICES_FIELD_NUMBER: _ClassVar[int]
    FILESYSTEMS_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    WATCHDOG_FIELD_NUMBER: _ClassVar[int]
    RNG_FIELD_NUMBER: _ClassVar[int]
    SOUND_FIELD_NUMBER: _ClassVar[int]
    TPM_FIELD_NUMBER: _ClassVar[int]
    CLIENT_PASSTHROUGH_FIELD_NUMBER: _ClassVar[int]
    AUTOATTACH_POD_INTERFACE_FIELD_NUMBER: _ClassVar[int]
    AUTOATTACH_GRAPHICS_DEVICE_FIELD_NUMBER: _ClassVar[int]
    AUTOATTACH_SERIAL_CONSOLE_FIELD_NUMBER: _ClassVar[int]
    LOG_SERIAL_CONSOLE_FIELD_NUMBER: _ClassVar[int]
    AUTOATTACH_MEM_BALLOON_FIELD_NUMBER: _ClassVar[int]
    AUTOATTACH_INPUT_DEVICE_FIELD_NUMBER: _ClassVar[int]
    AUTOATTACH_VSOCK_FIELD_NUMBER: _ClassVar[int]
    BLOCK_MULTI_QUEUE_FIELD_NUMBER: _ClassVar[int]
    NETWORK_INTERFACE_MULTIQUEUE_FIELD_NUMBER: _ClassVar[int]
    USE_VIRTIO_TRANSITIONAL_FIELD_NUMBER: _ClassVar[int]
    DISABLE_HOTPLUG_FIELD_NUMBER: _ClassVar[int]
    disks: _containers.RepeatedCompositeFieldContainer[Disk]
    interfaces: _containers.RepeatedCompositeFieldContainer[Interface]
    gpus: _containers.RepeatedCompositeFieldContainer[GPU]
    host_devices: _containers.RepeatedCompositeFieldContainer[HostDevice]
    filesystems: _containers.RepeatedCompositeFieldContainer[Filesystem]
    inputs: _containers.RepeatedCompositeFieldContainer[Input]
    watchdog: Watchdog
    rng: Rng
    sound: SoundDevice
    tpm: TPMDevice
    client_passthrough: ClientPassthroughDevices
    autoattach_pod_interface: bool
    autoattach_graphics_device: bool
    autoattach_serial_console: bool
    log_serial_console: bool
    autoattach_mem_balloon: bool
    autoattach_input_device: bool
    autoattach_vsock: bool
    block_multi_queue: bool
    network_interface_multiqueue: bool
    use_virtio_transitional: bool
    disable_hotplug: bool
    def __init__(self, disks: _Optional[_Iterable[_Union[Disk, _Mapping]]] = ..., interfaces: _Optional[_Iterable[_Union[Interface, _Mapping]]] = ..., gpus: _Optional[_Iterable[_Union[GPU, _Mapping]]] = ..., host_devices: _Optional[_Iterable[_Union[HostDevice, _Mapping]]] = ..., filesystems: _Optional[_Iterable[_Union[Filesystem, _Mapping]]] = ..., inputs: _Optional[_Iterable[_Union[Input, _Mapping]]] = ..., watchdog: _Optional[_Union[Watchdog, _Mapping]] = ..., rng: _Optional[_Union[Rng, _Mapping]] = ..., sound: _Optional[_Union[SoundDevice, _Mapping]] = ..., tpm: _Optional[_Union[TPMDevice, _Mapping]] = ..., client_passthrough: _Optional[_Union[ClientPassthroughDevices, _Mapping]] = ..., autoattach_pod_interface: bool = ..., autoattach_graphics_device: bool = ..., autoattach_serial_console: bool = ..., log_serial_console: bool = ..., autoattach_mem_balloon: bool = ..., autoattach_input_device: bool = ..., autoattach_vsock: bool = ..., block_multi_queue: bool = ..., network_interface_multiqueue: bool = ..., use_virtio_transitional: bool = ..., disable_hotplug: bool = ...) -> None: ...

class DiskIOThreads(_message.Message):
    __slots__ = ("supplemental_pool_thread_count",)
    SUPPLEMENTAL_POOL_THREAD_COUNT_FIELD_NUMBER: _ClassVar[int]
    supplemental_pool_thread_count: int
    def __init__(self, supplemental_pool_thread_count: _Optional[int] = ...) -> None: ...

class Chassis(_message.Message):
    __slots__ = ("manufacturer", "version", "serial", "asset", "sku")
    MANUFACTURER_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    manufacturer: str
    version: str
    serial: str
    asset: str
    sku: str
    def __init__(self, manufacturer: _Optional[str] = ..., version: _Optional[str] = ..., serial: _Optional[str] = ..., asset: _Optional[str] = ..., sku: _Optional[str] = ...) -> None: ...

class DomainSpec(_message.Message):
    __slots__ = ("resources", "cpu", "memory", "machine", "firmware", "clock", "features", "devices", "io_threads_policy", "io_threads", "chassis", "reboot_policy")
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    FIRMWARE_FIELD_NUMBER: _ClassVar[int]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    IO_THREADS_POLICY_FIELD_NUMBER: _ClassVar[int]
    IO_THREADS_FIELD_NUMBER: _ClassVar[int]
    CHASSIS_FIELD_NUMBER: _ClassVar[int]
    REBOOT_POLICY_FIELD_NUMBER: _ClassVar[int]
    resources: _core_pb2.ResourceRequirements
    cpu: CPU
    memory: Memory
    machine: Machine
    firmware: Firmware
    clock: Clock
    features: Features
    devices: Devices
    io_threads_policy: str
    io_threads: DiskIOThreads
    chassis: Chassis
    reboot_policy: str
    def __init__(self, resources: _Optional[_Union[_core_pb2.ResourceRequirements, _Mapping]] = ..., cpu: _Optional[_Union[CPU, _Mapping]] = ..., memory: _Optional[_Union[Memory, _Mapping]] = ..., machine: _Optional[_Union[Machine, _Mapping]] = ..., firmware: _Optional[_Union[Firmware, _Mapping]] = ..., clock: _Optional[_Union[Clock, _Mapping]] = ..., features: _Optional[_Union[Features, _Mapping]] = ..., devices: _Optional[_Union[Devices, _Mapping]] = ..., io_threads_policy: _Optional[str] = ..., io_threads: _Optional[_Union[DiskIOThreads, _Mapping]] = ..., chassis: _Optional[_Union[Chassis, _Mapping]] = ..., reboot_policy: _Optional[str] = ...) -> None: ...

class ContainerDiskSource(_message.Message):
    __slots__ = ("image", "image_pull_secret", "path", "image_pull_policy")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_PULL_SECRET_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    IMAGE_PULL_POLICY_FIELD_NUMBER: _ClassVar[int]
    image: str
    image_pull_secret: str
    path: str
    image_pull_policy: str
    def __init__(self, image: _Optional[str] = ..., image_pull_secret: _Optional[str] = ..., path: _Optional[str] = ..., image_pull_policy: _Optional[str] = ...) -> None: ...

class CloudInitSource(_message.Message):
    __slots__ = ("user_data", "user_data_base64", "secret_ref", "network_data", "network_data_base64", "network_data_secret_ref")
    USER_DATA_FIELD_NUMBER: _ClassVar[int]
    USER_DATA_BASE64_FIELD_NUMBER: _ClassVar[int]
    SECRET_REF_FIELD_NUMBER: _ClassVar[int]
    NETWORK_DATA_FIELD_NUMBER: _ClassVar[int]
    NETWORK_DATA_BASE64_FIELD_NUMBER: _ClassVar[int]
    NETWORK_DATA_SECRET_REF_FIELD_NUMBER: _ClassVar[int]
    user_data: str
    user_data_base64: str
    secret_ref: _meta_pb2.LocalObjectReference
    network_data: str
    network_data_base64: str
    network_data_secret_ref: _meta_pb2.LocalObjectReference
    def __init__(self, user_data: _Optional[str] = ..., user_data_base64: _Optional[str] = ..., secret_ref: _Optional[_Union[_meta_pb2.LocalObjectReference, _Mapping]] = ..., network_data: _Optional[str] = ..., network_data_base64: _Optional[str] = ..., network_data_secret_ref: _Optional[_Union[_meta_pb2.LocalObjectReference, _Mapping]] = ...) -> None: ...

class PersistentVolumeClaimVolumeSource(_message.Message):
    __slots__ = ("claim_name", "read_only", "hotpluggable")
    CLAIM_NAME_FIELD_NUMBER: _ClassVar[int]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    HOTPLUGGABLE_FIELD_NUMBER: _ClassVar[int]
    claim_name: str
    read_only: bool
    hotpluggable: bool
    def __init__(self, claim_name: _Optional[str] = ..., read_only: bool = ..., hotpluggable: bool = ...) -> None: ...

class DataVolumeSource(_message.Message):
    __slots__ = ("name", "hotpluggable")
    NAME_FIELD_NUMBER: _ClassVar[int]
    HOTPLUGGABLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    hotpluggable: bool
    def __init__(self, name: _Optional[str] = ..., hotpluggable: bool = ...) -> None: ...

class EmptyDiskSource(_message.Message):
    __slots__ = ("capacity",)
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    capacity: _meta_pb2.Quantity
    def __init__(self, capacity: _Optional[_Union[_meta_pb2.Quantity, _Mapping]] = ...) -> None: ...

class HostDiskSource(_message.Message):
    __slots__ = ("path", "type", "capacity", "shared")
    PATH_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    SHARED_FIELD_NUMBER: _ClassVar[int]
    path: str
    type: str
    capacity: _meta_pb2.Quantity
    shared: bool
    def __init__(self, path: _Optional[str] = ..., type: _Optional[str] = ..., capacity: _Optional[_Union[_meta_pb2.Quantity, _Mapping]] = ..., shared: bool = ...) -> None: ...

class EphemeralVolumeSource(_message.Message):
    __slots__ = ("persistent_volume_claim",)
    PERSISTENT_VOLUME_CLAIM_FIELD_NUMBER: _ClassVar[int]
    persistent_volume_claim: PersistentVolumeClaimVolumeSource
    def __init__(self, persistent_volume_claim: _Optional[_Union[PersistentVolumeClaimVolumeSource, _Mapping]] = ...) -> None: ...

class ConfigMapVolumeSource(_message.Message):
    __slots__ = ("name", "optional", "volume_label")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_FIELD_NUMBER: _ClassVar[int]
    VOLUME_LABEL_FIELD_NUMBER: _ClassVar[int]
    name: str
    optional: bool
    volume_label: str
    def __init__(self, name: _Optional[str] = ..., optional: bool = ..., volume_label: _Optional[str] = ...) -> None: ...

class SecretVolumeSource(_message.Message):
    __slots__ = ("secret_name", "optional", "volume_label")
    SECRET_NAME_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_FIELD_NUMBER: _ClassVar[int]
    VOLUME_LABEL_FIELD_NUMBER: _ClassVar[int]
    secret_name: str
    optional: bool
    volume_label: str
    def __init__(self, secret_name: _Optional[str] = ..., optional: bool = ..., volume_label: _Optional[str] = ...) -> None: ...

class ServiceAccountVolumeSource(_message.Message):
    __slots__ = ("service_account_name",)
    SERVICE_ACCOUNT_NAME_FIELD_NUMBER: _ClassVar[int]
    service_account_name: str
    def __init__(self, service_account_name: _Optional[str] = ...) -> None: ...

class DownwardMetricsVolumeSource(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Volume(_message.Message):
    __slots__ = ("name", "container_disk", "cloud_init_no_cloud", "cloud_init_config_drive", "persistent_volume_claim", "data_volume", "empty_disk", "host_disk", "ephemeral", "config_map", "secret", "service_account", "downward_metrics")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_DISK_FIELD_NUMBER: _ClassVar[int]
    CLOUD_INIT_NO_CLOUD_FIELD_NUMBER: _ClassVar[int]
    CLOUD_INIT_CONFIG_DRIVE_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_VOLUME_CLAIM_FIELD_NUMBER: _ClassVar[int]
    DATA_VOLUME_FIELD_NUMBER: _ClassVar[int]
    EMPTY_DISK_FIELD_NUMBER: _ClassVar[int]
    HOST_DISK_FIELD_NUMBER: _ClassVar[int]
    EPHEMERAL_FIELD_NUMBER: _ClassVar[int]
    CONFIG_MAP_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    DOWNWARD_METRICS_FIELD_NUMBER: _ClassVar[int]
    name: str
    container_disk: ContainerDiskSource
    cloud_init_no_cloud: CloudInitSource
    cloud_init_config_drive: CloudInitSource
    persistent_volume_claim: PersistentVolumeClaimVolumeSource
    data_volume: DataVolumeSource
    empty_disk: EmptyDiskSource
    host_disk: HostDiskSource
    ephemeral: EphemeralVolumeSource
    config_map: ConfigMapVolumeSource
    secret: SecretVolumeSource
    service_account: ServiceAccountVolumeSource
    downward_metrics: DownwardMetricsVolumeSource
    def __init__(self, name: _Optional[str] = ..., container_disk: _Optional[_Union[ContainerDiskSource, _Mapping]] = ..., cloud_init_no_cloud: _Optional[_Union[CloudInitSource, _Mapping]] = ..., cloud_init_config_drive: _Optional[_Union[CloudInitSource, _Mapping]] = ..., persistent_volume_claim: _Optional[_Union[PersistentVolumeClaimVolumeSource, _Mapping]] = ..., data_volume: _Optional[_Union[DataVolumeSource, _Mapping]] = ..., empty_disk: _Optional[_Union[EmptyDiskSource, _Mapping]] = ..., host_disk: _Optional[_Union[HostDiskSource, _Mapping]] = ..., ephemeral: _Optional[_Union[EphemeralVolumeSource, _Mapping]] = ..., config_map: _Optional[_Union[ConfigMapVolumeSource, _Mapping]] = ..., secret: _Optional[_Union[SecretVolumeSource, _Mapping]] = ..., service_account: _Optional[_Union[ServiceAccountVolumeSource, _Mapping]] = ..., downward_metrics: _Optional[_Union[DownwardMetricsVolumeSource, _Mapping]] = ...) -> None: ...

class PodNetwork(_message.Message):
    __slots__ = ("vm_network_cidr", "vm_ipv6_network_cidr")
    VM_NETWORK_CIDR_FIELD_NUMBER: _ClassVar[int]
    VM_IPV6_NETWORK_CIDR_FIELD_NUMBER: _ClassVar[int]
    vm_network_cidr: str
    vm_ipv6_network_cidr: str
    def __init__(self, vm_network_cidr: _Optional[str] = ..., vm_ipv6_network_cidr: _Optional[str] = ...) -> None: ...

class MultusNetwork(_message.Message):
    __slots__ = ("network_name", "default")
    NETWORK_NAME_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FIELD_NUMBER: _ClassVar[int]
    network_name: str
    default: bool
    def __init__(self, network_name: _Optional[str] = ..., default: bool = ...) -> None: ...

class Network(_message.Message):
    __slots__ = ("name", "pod", "multus")
    NAME_FIELD_NUMBER: _ClassVar[int]
    POD_FIELD_NUMBER: _ClassVar[int]
    MULTUS_FIELD_NUMBER: _ClassVar[int]
    name: str
    pod: PodNetwork
    multus: MultusNetwork
    def __init__(self, name: _Optional[str] = ..., pod: _Optional[_Union[PodNetwork, _Mapping]] = ..., multus: _Optional[_Union[MultusNetwork, _Mapping]] = ...) -> None: ...

class SecretRefSource(_message.Message):
    __slots__ = ("secret_name",)
    SECRET_NAME_FIELD_NUMBER: _ClassVar[int]
    secret_name: str
    def __init__(self, secret_name: _Optional[str] = ...) -> None: ...

class CredentialSource(_message.Message):
    __slots__ = ("secret",)
    SECRET_FIELD_NUMBER: _ClassVar[int]
    secret: SecretRefSource
    def __init__(self, secret: _Optional[_Union[SecretRefSource, _Mapping]] = ...) -> None: ...

class NoCloudPropagation(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ConfigDrivePropagation(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class QemuGuestAgentPropagation(_message.Message):
    __slots__ = ("users",)
    USERS_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, users: _Optional[_Iterable[str]] = ...) -> None: ...

class PropagationMethod(_message.Message):
    __slots__ = ("no_cloud", "config_drive", "qemu_guest_agent")
    NO_CLOUD_FIELD_NUMBER: _ClassVar[int]
    CONFIG_DRIVE_FIELD_NUMBER: _ClassVar[int]
    QEMU_GUEST_AGENT_FIELD_NUMBER: _ClassVar[int]
    no_cloud: NoCloudPropagation
    config_drive: ConfigDrivePropagation
    qemu_guest_agent: QemuGuestAgentPropagation
    def __init__(self, no_cloud: _Optional[_Union[NoCloudPropagation, _Mapping]] = ..., config_drive: _Optional[_Union[ConfigDrivePropagation, _Mapping]] = ..., qemu_guest_agent: _Optional[_Union[QemuGuestAgentPropagation, _Mapping]] = ...) -> None: ...

class SSHPublicKeyAccessCredential(_message.Message):
    __slots__ = ("source", "propagation_method")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PROPAGATION_METHOD_FIELD_NUMBER: _ClassVar[int]
    source: CredentialSource
    propagation_method: PropagationMethod
    def __init__(self, source: _Optional[_Union[CredentialSource, _Mapping]] = ..., propagation_method: _Optional[_Union[PropagationMethod, _Mapping]] = ...) -> None: ...

class UserPasswordAccessCredential(_message.Message):
    __slots__ = ("source", "propagation_method")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PROPAGATION_METHOD_FIELD_NUMBER: _ClassVar[int]
    source: CredentialSource
    propagation_method: PropagationMethod
    def __init__(self, source: _Optional[_Union[CredentialSource, _Mapping]] = ..., propagation_method: _Optional[_Union[PropagationMethod, _Mapping]] = ...) -> None: ...

class AccessCredential(_message.Message):
    __slots__ = ("ssh_public_key", "user_password")
    SSH_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    USER_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    ssh_public_key: SSHPublicKeyAccessCredential
    user_password: UserPasswordAccessCredential
    def __init__(self, ssh_public_key: _Optional[_Union[SSHPublicKeyAccessCredential, _Mapping]] = ..., user_password: _Optional[_Union[UserPasswordAccessCredential, _Mapping]] = ...) -> None: ...
