"""The rule table: every validation rule admission runs, in one place.

Owns the registry (RULES): each rule's stable id, its area, the scope of the
object part it reads, a one-line description, and the function that yields its
FieldCauses. The per-area modules beside this one own the checks themselves;
docs/admission.md lists every id, and tests/unit/admission checks that each id
is documented and exercised. Ids never change meaning; a retired rule's id is
not reused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from controller.admission.rules import (
    compute,
    datavolume,
    devices,
    disks,
    firmware,
    lifecycle,
    metadata,
    migration,
    networks,
    pool,
    scheduling,
    vm,
    volumes,
)
from controller.admission.targets import (
    DATAVOLUME_SPEC,
    METADATA,
    MIGRATION_SPEC,
    POOL_SPEC,
    VM_SPEC,
    VMI_SPEC,
    Target,
)
from protos.errors import FieldCause


@dataclass(frozen=True)
class Rule:
    """One validation rule: what it checks and where."""

    id: str
    area: str
    scope: str
    description: str
    check: Callable[[Target], Iterable[FieldCause]]
    create_only: bool = False  # checked when an object is created, not on later updates


CREATE, UPDATE = "CREATE", "UPDATE"
R = Rule
RULES: tuple[Rule, ...] = (
    # metadata
    R("metadata-name-required", "metadata", METADATA, "An object has metadata.name or metadata.generateName.", metadata.name_required),
    R("metadata-name-format", "metadata", METADATA, "metadata.name is a DNS-1123 subdomain (and generateName can start one).", metadata.name_format),
    R("metadata-label-key", "metadata", METADATA, "Label keys are qualified names ([prefix/]name).", metadata.label_keys),
    R("metadata-label-value", "metadata", METADATA, "Label values are empty or at most 63 name characters.", metadata.label_values),
    R("metadata-annotation-key", "metadata", METADATA, "Annotation keys are qualified names.", metadata.annotation_keys),
    R("metadata-reserved-label", "metadata", METADATA, "A VMI (or VMI template) is not created with labels reserved for KubeVirt's controllers (they set them later, by update).", metadata.reserved_labels, create_only=True),
    # VirtualMachine
    R("vm-running-and-run-strategy", "vm", VM_SPEC, "running and runStrategy are not both set.", vm.running_and_run_strategy),
    R("vm-run-strategy-value", "vm", VM_SPEC, "runStrategy is one of KubeVirt's strategies.", vm.run_strategy_value),
    R("vm-template-required", "vm", VM_SPEC, "A VM has a template with a spec.", vm.template_required),
    R("vm-update-volumes-strategy-value", "vm", VM_SPEC, "updateVolumesStrategy is Migration or Replacement.", vm.update_volumes_strategy_value),
    R("vm-datavolume-template-name", "vm", VM_SPEC, "DataVolume templates have unique DNS-1123 names.", vm.datavolume_template_name),
    R("vm-datavolume-template-unreferenced", "vm", VM_SPEC, "Every DataVolume template is used by a dataVolume volume of the VMI template.", vm.datavolume_template_referenced),
    # VirtualMachinePool
    R("pool-replicas-negative", "pool", POOL_SPEC, "replicas is 0 or more.", pool.replicas_not_negative),
    R("pool-template-required", "pool", POOL_SPEC, "A pool has a virtualMachineTemplate with a spec.", pool.template_required),
    R("pool-selector-required", "pool", POOL_SPEC, "A pool has a non-empty selector.", pool.selector_required),
    R("pool-selector-mismatch", "pool", POOL_SPEC, "The selector matches the VM template's labels.", pool.selector_matches_template),
    R("pool-max-unavailable-value", "pool", POOL_SPEC, "maxUnavailable is a count of 0 or more or a percentage.", pool.max_unavailable_value),
    # VirtualMachineInstanceMigration
    R("migration-vmi-name-required", "migration", MIGRATION_SPEC, "vmiName names a VMI (a DNS-1123 subdomain).", migration.vmi_name_required),
    R("migration-priority-value", "migration", MIGRATION_SPEC, "priority is one of KubeVirt's migration priorities.", migration.priority_value),
    # DataVolume
    R("datavolume-source-count", "datavolume", DATAVOLUME_SPEC, "A DataVolume has exactly one source (or sourceRef).", datavolume.source_count),
    R("datavolume-storage-count", "datavolume", DATAVOLUME_SPEC, "A DataVolume has exactly one of pvc and storage.", datavolume.storage_count),
    # VMI spec: top level
    R("vmi-domain-required", "lifecycle", VMI_SPEC, "A VMI spec has a domain.", lifecycle.domain_required),
    R("termination-grace-period-negative", "lifecycle", VMI_SPEC, "terminationGracePeriodSeconds is 0 or more.", lifecycle.termination_grace_period),
    R("eviction-strategy-value", "lifecycle", VMI_SPEC, "evictionStrategy is None, LiveMigrate, LiveMigrateIfPossible or External.", lifecycle.eviction_strategy_value),
    R("start-strategy-value", "lifecycle", VMI_SPEC, "startStrategy is Paused when set.", lifecycle.start_strategy_value),
    R("hostname-format", "lifecycle", VMI_SPEC, "hostname is a DNS-1123 label.", lifecycle.hostname_format),
    R("subdomain-format", "lifecycle", VMI_SPEC, "subdomain is a DNS-1123 label.", lifecycle.subdomain_format),
    R("dns-policy-value", "lifecycle", VMI_SPEC, "dnsPolicy is a Kubernetes DNS policy; None needs nameservers.", lifecycle.dns_policy_value),
    R("dns-config-limits", "lifecycle", VMI_SPEC, "dnsConfig has at most 3 IP nameservers and 6 search domains.", lifecycle.dns_config_limits),
    R("probe-handler-count", "lifecycle", VMI_SPEC, "A probe has exactly one handler.", lifecycle.probe_handler_count),
    R("architecture-value", "lifecycle", VMI_SPEC, "architecture is one the cluster supports.", lifecycle.architecture_value),
    # VMI spec: compute
    R("quantity-invalid", "compute", VMI_SPEC, "Every quantity parses (resources, guest memory, disk capacities).", compute.quantity_invalid),
    R("memory-required", "compute", VMI_SPEC, "Some memory is requested: guest, requests.memory or limits.memory.", compute.memory_required),
    R("resources-negative", "compute", VMI_SPEC, "cpu and memory requests and limits are not negative.", compute.resources_not_negative),
    R("memory-minimum", "compute", VMI_SPEC, "Requested and guest memory are at least the cluster minimum (1M).", compute.memory_minimum),
    R("memory-request-above-limit", "compute", VMI_SPEC, "The memory request is at most the memory limit.", compute.memory_request_above_limit),
    R("memory-guest-above-limit", "compute", VMI_SPEC, "Guest memory is at most the memory limit.", compute.memory_guest_above_limit),
    R("memory-max-guest-below-guest", "compute", VMI_SPEC, "maxGuest is at least guest.", compute.memory_max_guest),
    R("cpu-request-above-limit", "compute", VMI_SPEC, "The cpu request is at most the cpu limit.", compute.cpu_request_above_limit),
    R("hugepages-page-size", "compute", VMI_SPEC, "hugepages.pageSize is 2Mi or 1Gi.", compute.hugepages_page_size),
    R("hugepages-memory-multiple", "compute", VMI_SPEC, "Guest memory is a whole number of hugepages.", compute.hugepages_memory_multiple),
    R("machine-type-allowed", "compute", VMI_SPEC, "machine.type matches the cluster's emulated machines.", compute.machine_type_allowed),
    R("cpu-topology-minimum", "compute", VMI_SPEC, "sockets, cores, threads and maxSockets are 1 or more when set.", compute.cpu_topology_minimum),
    R("cpu-topology-over-limit", "compute", VMI_SPEC, "sockets x cores x threads fits in the cpu limit.", compute.cpu_topology_over_limit),
    R("cpu-dedicated-integral", "compute", VMI_SPEC, "Dedicated CPUs are requested in whole CPUs.", compute.dedicated_cpu_integral),
    R("cpu-dedicated-request-equals-limit", "compute", VMI_SPEC, "Dedicated CPUs have cpu request equal to limit.", compute.dedicated_cpu_request_equals_limit),
    R("cpu-dedicated-threads", "compute", VMI_SPEC, "Dedicated CPUs have at most 2 threads per core.", compute.dedicated_cpu_threads),
    R("cpu-isolate-emulator-thread", "compute", VMI_SPEC, "isolateEmulatorThread only with dedicatedCpuPlacement.", compute.isolate_emulator_thread),
    R("cpu-feature-policy", "compute", VMI_SPEC, "CPU features are named and use force/require/optional/disable/forbid.", compute.cpu_feature_policy),
    R("cpu-numa-passthrough", "compute", VMI_SPEC, "NUMA passthrough needs its gate, dedicated CPUs and hugepages.", compute.numa_passthrough),
    R("cpu-realtime", "compute", VMI_SPEC, "realtime needs dedicated CPUs and NUMA passthrough.", compute.realtime),
    # VMI spec: firmware
    R("firmware-bootloader-exclusive", "firmware", VMI_SPEC, "Not both bios and efi.", firmware.bootloader_exclusive),
    R("firmware-secure-boot-smm", "firmware", VMI_SPEC, "EFI secure boot is not combined with SMM disabled.", firmware.secure_boot_smm),
    R("firmware-uuid-format", "firmware", VMI_SPEC, "firmware.uuid is a canonical UUID.", firmware.uuid_format),
    R("firmware-serial-format", "firmware", VMI_SPEC, "firmware.serial uses [A-Za-z0-9_.+-], at most 256.", firmware.serial_format),
    R("firmware-kernel-boot-container", "firmware", VMI_SPEC, "kernelBoot has a container with an image.", firmware.kernel_boot_container),
    R("firmware-kernel-boot-paths", "firmware", VMI_SPEC, "kernelBoot has kernelPath and/or initrdPath, absolute file paths.", firmware.kernel_boot_paths),
    # VMI spec: disks
    R("disk-name-required", "disks", VMI_SPEC, "Every disk has a name.", disks.name_required),
    R("disk-name-duplicate", "disks", VMI_SPEC, "Disk names are unique.", disks.name_duplicate),
    R("disk-target-multiple", "disks", VMI_SPEC, "A disk sets at most one of disk, lun, cdrom.", disks.target_count),
    R("disk-bus-value", "disks", VMI_SPEC, "disk and lun buses are virtio, sata, scsi or usb (no ide).", disks.bus_value),
    R("disk-cdrom-bus-value", "disks", VMI_SPEC, "CD-ROM buses are sata or scsi.", disks.cdrom_bus_value),
    R("disk-readonly-bus", "disks", VMI_SPEC, "sata hard disks are not read-only.", disks.readonly_bus),
    R("disk-pci-address-bus", "disks", VMI_SPEC, "A disk pciAddress needs bus virtio.", disks.pci_address_bus),
    R("boot-order-minimum", "disks", VMI_SPEC, "bootOrder on disks and interfaces is 1 or more.", disks.boot_order_minimum),
    R("boot-order-duplicate", "disks", VMI_SPEC, "No two disks or interfaces share a bootOrder.", disks.boot_order_duplicate),
    R("disk-volume-missing", "disks", VMI_SPEC, "Every disk has a volume of the same name.", disks.volume_missing),
    R("disk-cache-value", "disks", VMI_SPEC, "cache is none, writethrough or writeback.", disks.cache_value),
    R("disk-io-value", "disks", VMI_SPEC, "io is native or threads.", disks.io_value),
    R("disk-error-policy-value", "disks", VMI_SPEC, "errorPolicy is stop, ignore, report or enospace.", disks.error_policy_value),
    R("disk-serial-format", "disks", VMI_SPEC, "A disk serial uses [A-Za-z0-9_.+-], at most 256.", disks.serial_format),
    R("disk-io-thread-bus", "disks", VMI_SPEC, "dedicatedIOThread only on virtio disks.", disks.io_thread_bus),
    R("disk-lun-volume-source", "disks", VMI_SPEC, "A LUN's volume is a persistentVolumeClaim or dataVolume.", disks.lun_volume_source),
    R("disk-block-size", "disks", VMI_SPEC, "Custom block sizes are powers of 2 from 512, logical <= physical.", disks.block_size),
    R("disk-cdrom-tray-value", "disks", VMI_SPEC, "cdrom.tray is open or closed.", disks.cdrom_tray_value),
    # VMI spec: volumes
    R("volume-name-required", "volumes", VMI_SPEC, "Every volume has a name.", volumes.name_required),
    R("volume-name-duplicate", "volumes", VMI_SPEC, "Volume names are unique.", volumes.name_duplicate),
    R("volume-source-count", "volumes", VMI_SPEC, "A volume has exactly one source.", volumes.source_count),
    R("volume-unused", "volumes", VMI_SPEC, "Every volume is used by a disk or filesystem.", volumes.unused),
    R("volume-singleton", "volumes", VMI_SPEC, "At most one serviceAccount and one downwardMetrics volume.", volumes.singleton),
    R("volume-container-disk-image", "volumes", VMI_SPEC, "A containerDisk names an image.", volumes.container_disk_image),
    R("volume-container-disk-path", "volumes", VMI_SPEC, "containerDisk.path is an absolute file path.", volumes.container_disk_path),
    R("volume-image-pull-policy", "volumes", VMI_SPEC, "imagePullPolicy is Always, IfNotPresent or Never.", volumes.image_pull_policy),
    R("volume-cloud-init-user-data", "volumes", VMI_SPEC, "Cloud-init has one user-data source (or network data).", volumes.cloud_init_user_data),
    R("volume-cloud-init-network-data", "volumes", VMI_SPEC, "Cloud-init has at most one network-data source.", volumes.cloud_init_network_data),
    R("volume-cloud-init-base64", "volumes", VMI_SPEC, "userDataBase64 and networkDataBase64 are valid base64.", volumes.cloud_init_base64),
    R("volume-cloud-init-size", "volumes", VMI_SPEC, "Inline cloud-init data is at most 2048 bytes.", volumes.cloud_init_size),
    R("volume-empty-disk-capacity", "volumes", VMI_SPEC, "An emptyDisk has a positive capacity.", volumes.empty_disk_capacity),
    R("volume-host-disk-feature-gate", "volumes", VMI_SPEC, "hostDisk needs the HostDisk feature gate.", volumes.host_disk_feature_gate),
    R("volume-host-disk-path", "volumes", VMI_SPEC, "A hostDisk has an absolute path.", volumes.host_disk_path),
    R("volume-host-disk-type", "volumes", VMI_SPEC, "hostDisk.type is Disk or DiskOrCreate.", volumes.host_disk_type),
    R("volume-host-disk-capacity", "volumes", VMI_SPEC, "hostDisk capacity is set exactly for DiskOrCreate.", volumes.host_disk_capacity),
    R("volume-claim-name", "volumes", VMI_SPEC, "PVC, ephemeral and dataVolume volumes name their claim.", volumes.claim_name),
    R("volume-reference-name", "volumes", VMI_SPEC, "configMap, secret and serviceAccount volumes name their object.", volumes.reference_name),
    # VMI spec: networks
    R("network-name-required", "networks", VMI_SPEC, "Every network has a name.", networks.network_name_required),
    R("network-name-duplicate", "networks", VMI_SPEC, "Network names are unique.", networks.network_name_duplicate),
    R("network-source-count", "networks", VMI_SPEC, "A network is exactly one of pod, multus.", networks.network_source_count),
    R("network-default-multiple", "networks", VMI_SPEC, "At most one pod (default) network.", networks.network_default_multiple),
    R("network-multus-name", "networks", VMI_SPEC, "A multus network names its NetworkAttachmentDefinition.", networks.network_multus_name),
    R("network-pod-cidr", "networks", VMI_SPEC, "Pod network CIDRs are valid IPv4/IPv6 networks.", networks.network_pod_cidr),
    R("network-interface-missing", "networks", VMI_SPEC, "Every network has an interface.", networks.network_interface_missing),
    R("interface-name-required", "networks", VMI_SPEC, "Every interface has a name.", networks.interface_name_required),
    R("interface-name-format", "networks", VMI_SPEC, "Interface names use [A-Za-z0-9_-].", networks.interface_name_format),
    R("interface-name-duplicate", "networks", VMI_SPEC, "One interface per network.", networks.interface_name_duplicate),
    R("interface-network-missing", "networks", VMI_SPEC, "Every interface has a network.", networks.interface_network_missing),
    R("interface-binding-multiple", "networks", VMI_SPEC, "An interface sets at most one binding.", networks.interface_binding_count),
    R("interface-binding-network", "networks", VMI_SPEC, "The binding suits the network: masquerade on pod, sriov on multus.", networks.interface_binding_network),
    R("interface-binding-discontinued", "networks", VMI_SPEC, "slirp, macvtap and passt core bindings are rejected.", networks.interface_binding_discontinued),
    R("interface-model-value", "networks", VMI_SPEC, "model is a NIC model QEMU emulates.", networks.interface_model_value),
    R("interface-mac-format", "networks", VMI_SPEC, "macAddress is six hex pairs.", networks.interface_mac_format),
    R("interface-mac-multicast", "networks", VMI_SPEC, "macAddress is unicast.", networks.interface_mac_multicast),
    R("interface-mac-duplicate", "networks", VMI_SPEC, "No two interfaces share a MAC.", networks.interface_mac_duplicate),
    R("interface-port-number", "networks", VMI_SPEC, "Ports are 1-65535.", networks.interface_port_number),
    R("interface-port-protocol", "networks", VMI_SPEC, "Port protocols are TCP or UDP.", networks.interface_port_protocol),
    R("interface-port-name", "networks", VMI_SPEC, "Port names are IANA service names.", networks.interface_port_name),
    R("interface-port-duplicate", "networks", VMI_SPEC, "Port names and port/protocol pairs are unique per interface.", networks.interface_port_duplicate),
    R("interface-state-value", "networks", VMI_SPEC, "state is up, down or (bridge on multus) absent.", networks.interface_state_value),
    # VMI spec: other devices
    R("pci-address-format", "devices", VMI_SPEC, "pciAddress on disks and interfaces is dddd:bb:ss.f.", devices.pci_address_format),
    R("device-name-required", "devices", VMI_SPEC, "GPUs and host devices have names.", devices.device_name_required),
    R("device-name-duplicate", "devices", VMI_SPEC, "GPU and host device names are unique.", devices.device_name_duplicate),
    R("device-resource-required", "devices", VMI_SPEC, "GPUs and host devices name a resource (deviceName).", devices.device_resource_required),
    R("device-permitted", "devices", VMI_SPEC, "deviceName is permitted by the cluster.", devices.device_permitted),
    R("device-feature-gate", "devices", VMI_SPEC, "GPUs, host devices and virtiofs need their feature gates.", devices.device_feature_gate),
    R("filesystem-volume", "devices", VMI_SPEC, "A filesystem is virtiofs and has a volume.", devices.filesystem_volume),
    R("input-bus-value", "devices", VMI_SPEC, "Input bus is virtio or usb.", devices.input_bus_value),
    R("input-type-value", "devices", VMI_SPEC, "Input type is tablet.", devices.input_type_value),
    R("sound-value", "devices", VMI_SPEC, "A sound device is named and is ich9 or ac97.", devices.sound_value),
    R("watchdog-value", "devices", VMI_SPEC, "A watchdog is i6300esb with action poweroff, reset or shutdown.", devices.watchdog_value),
    # VMI spec: scheduling
    R("toleration-operator", "scheduling", VMI_SPEC, "Toleration operator is Equal or Exists, consistent with key and value.", scheduling.toleration_operator),
    R("toleration-effect", "scheduling", VMI_SPEC, "Toleration effect is a taint effect.", scheduling.toleration_effect),
    R("node-selector-label", "scheduling", VMI_SPEC, "nodeSelector keys and values are label syntax.", scheduling.node_selector_labels),
    R("affinity-operator", "scheduling", VMI_SPEC, "Selector requirement operators are known.", scheduling.affinity_operator),
    R("affinity-values", "scheduling", VMI_SPEC, "Selector requirement values fit the operator.", scheduling.affinity_values),
    R("topology-spread-value", "scheduling", VMI_SPEC, "Topology spread constraints have maxSkew, a key and a known whenUnsatisfiable.", scheduling.topology_spread_value),
)

BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}
if len(BY_ID) != len(RULES):  # pragma: no cover - a programming error, caught at import
    raise RuntimeError("Duplicate rule id in controller.admission.rules.RULES")


@dataclass(frozen=True)
class Finding:
    """A cause and the rule that found it."""

    rule: str
    cause: FieldCause


def run(parts: Iterable[Target], operation: str = CREATE) -> list[Finding]:
    """Every finding of every rule on every part, parts in order, rules in table order.

    `operation` is CREATE or UPDATE; create-only rules are skipped on UPDATE."""
    found: list[Finding] = []
    for part in parts:
        for rule in RULES:
            if rule.scope == part.scope and (operation == CREATE or not rule.create_only):
                found.extend(Finding(rule.id, cause) for cause in rule.check(part))
    return found
