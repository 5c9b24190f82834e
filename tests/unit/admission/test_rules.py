"""One failing manifest per validation rule: each rule fires at the exact path and
its message names what is allowed; the table covers the registry exactly."""

from __future__ import annotations

from dataclasses import replace

import pytest

from controller.admission import BY_ID, RULES, ClusterConfig
from controller.admission.config import GATE_HOST_DISK, GATE_VIRTIOFS
from tests.unit.admission.manifests import DELETE, DEV, DOM, build, decode, findings

POD = {"spec.networks": [{"name": "default", "pod": {}}],
       f"{DEV}.interfaces": [{"name": "default", "masquerade": {}}]}
HOSTDISK = ClusterConfig(feature_gates=frozenset({GATE_HOST_DISK}))
VIRTIOFS = ClusterConfig(feature_gates=frozenset({GATE_VIRTIOFS}))
I0 = f"{DEV}.interfaces[0]"


def with_pod(**more):
    return {**POD, **more}


def extra_volume(volume: dict) -> dict:
    """Adds a second disk and volume named after `volume`."""
    return {f"{DEV}.disks[1]": {"name": volume["name"], "disk": {}}, "spec.volumes[1]": volume}


def dvt(name: str) -> dict:
    return {"metadata": {"name": name},
            "spec": {"source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "1Gi"}}}}}


def sel_terms(req: dict) -> dict:
    return {"spec.affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [req]}]}}}}


AFF = ("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
       ".nodeSelectorTerms[0].matchExpressions[0]")

# rule id: (base manifest, patches, expected path, text the message must contain[, config])
CASES: dict[str, tuple] = {
    # metadata
    "metadata-name-required": ("vmi", {"metadata.name": DELETE}, "metadata.name", "generateName"),
    "metadata-name-format": ("vmi", {"metadata.name": "Bad_Name"}, "metadata.name", "DNS-1123 subdomain"),
    "metadata-label-key": ("vmi", {"metadata.labels": {"bad key!": "x"}}, "metadata.labels[bad key!]", "qualified name"),
    "metadata-label-value": ("vmi", {"metadata.labels": {"app": "bad value!"}}, "metadata.labels[app]", "at most 63"),
    "metadata-annotation-key": ("vmi", {"metadata.annotations": {"-x/y": "1"}}, "metadata.annotations[-x/y]", "DNS-1123 subdomain"),
    "metadata-reserved-label": ("vm", {"spec.template.metadata.labels": {"kubevirt.io/nodeName": "n1"}}, "spec.template.metadata.labels[kubevirt.io/nodeName]", "kubevirt.io/created-by"),
    # VirtualMachine
    "vm-running-and-run-strategy": ("vm", {"spec.running": True}, "spec.running", "set only runStrategy"),
    "vm-run-strategy-value": ("vm", {"spec.runStrategy": "Sometimes"}, "spec.runStrategy", "RerunOnFailure"),
    "vm-template-required": ("vm", {"spec.template": DELETE}, "spec.template.spec", "template"),
    "vm-update-volumes-strategy-value": ("vm", {"spec.updateVolumesStrategy": "Copy"}, "spec.updateVolumesStrategy", "Migration, Replacement"),
    "vm-datavolume-template-name": ("vm", {"spec.dataVolumeTemplates": [dvt("d1"), dvt("d1")]}, "spec.dataVolumeTemplates[1].metadata.name", "unique"),
    "vm-datavolume-template-unreferenced": ("vm", {"spec.dataVolumeTemplates": [dvt("d1")]}, "spec.dataVolumeTemplates[0].metadata.name", "dataVolume.name: d1"),
    # VirtualMachinePool
    "pool-replicas-negative": ("pool", {"spec.replicas": -1}, "spec.replicas", "0 or more"),
    "pool-template-required": ("pool", {"spec.virtualMachineTemplate": DELETE}, "spec.virtualMachineTemplate.spec", "template"),
    "pool-selector-required": ("pool", {"spec.selector": DELETE}, "spec.selector", "matchLabels"),
    "pool-selector-mismatch": ("pool", {"spec.selector.matchLabels": {"app": "other"}}, "spec.selector", "template's labels"),
    "pool-max-unavailable-value": ("pool", {"spec.maxUnavailable": "150%"}, "spec.maxUnavailable", "between 0% and 100%"),
    # migration
    "migration-vmi-name-required": ("migration", {"spec.vmiName": DELETE}, "spec.vmiName", "VirtualMachineInstance"),
    "migration-priority-value": ("migration", {"spec.priority": "urgent"}, "spec.priority", "user-triggered"),
    # DataVolume
    "datavolume-source-count": ("dv", {"spec.sourceRef": {"kind": "DataSource", "name": "x"}}, "spec.source", "exactly one source"),
    "datavolume-storage-count": ("dv", {"spec.storage": DELETE}, "spec.storage", "exactly one of pvc and storage"),
    # VMI top level
    "vmi-domain-required": ("vmi", {"spec.domain": DELETE}, "spec.domain", "domain"),
    "termination-grace-period-negative": ("vmi", {"spec.terminationGracePeriodSeconds": -1}, "spec.terminationGracePeriodSeconds", "0 (stop at once)"),
    "eviction-strategy-value": ("vmi", {"spec.evictionStrategy": "Evict"}, "spec.evictionStrategy", "LiveMigrateIfPossible"),
    "start-strategy-value": ("vmi", {"spec.startStrategy": "Running"}, "spec.startStrategy", "Paused"),
    "hostname-format": ("vmi", {"spec.hostname": "My_Host"}, "spec.hostname", "DNS-1123 label"),
    "subdomain-format": ("vmi", {"spec.subdomain": "a.b"}, "spec.subdomain", "DNS-1123 label"),
    "dns-policy-value": ("vmi", {"spec.dnsPolicy": "Custom"}, "spec.dnsPolicy", "ClusterFirst"),
    "dns-config-limits": ("vmi", {"spec.dnsConfig": {"nameservers": ["not-an-ip"]}}, "spec.dnsConfig.nameservers[0]", "IP address"),
    "probe-handler-count": ("vmi", {"spec.readinessProbe": {"exec": {"command": ["true"]}, "guestAgentPing": {}}}, "spec.readinessProbe", "exactly one probe type"),
    "architecture-value": ("vmi", {"spec.architecture": "riscv64"}, "spec.architecture", "amd64"),
    # compute
    "memory-required": ("vmi", {f"{DOM}.resources": DELETE}, f"{DOM}.resources.requests.memory", "domain.memory.guest"),
    "resources-negative": ("vmi", {f"{DOM}.resources.limits": {"cpu": "-1"}}, f"{DOM}.resources.limits.cpu", "0 or more"),
    "memory-minimum": ("vmi", {f"{DOM}.resources.requests.memory": "1Ki"}, f"{DOM}.resources.requests.memory", "at least 1000000 bytes"),
    "memory-request-above-limit": ("vmi", {f"{DOM}.resources": {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}}, f"{DOM}.resources.requests.memory", "at most the limit"),
    "memory-guest-above-limit": ("vmi", {f"{DOM}.memory": {"guest": "2Gi"}, f"{DOM}.resources": {"limits": {"memory": "1Gi"}}}, f"{DOM}.memory.guest", "equal to or less than the limit"),
    "memory-max-guest-below-guest": ("vmi", {f"{DOM}.memory": {"guest": "1Gi", "maxGuest": "512Mi"}}, f"{DOM}.memory.maxGuest", "at least the guest memory"),
    "cpu-request-above-limit": ("vmi", {f"{DOM}.resources.requests.cpu": "2", f"{DOM}.resources.limits": {"cpu": "1"}}, f"{DOM}.resources.requests.cpu", "at most the limit"),
    "hugepages-page-size": ("vmi", {f"{DOM}.memory": {"hugepages": {"pageSize": "4Ki"}}}, f"{DOM}.memory.hugepages.pageSize", "2Mi, 1Gi"),
    "hugepages-memory-multiple": ("vmi", {f"{DOM}.memory": {"hugepages": {"pageSize": "2Mi"}}, f"{DOM}.resources.requests.memory": "100M"}, f"{DOM}.resources.requests.memory", "whole number of pages"),
    "machine-type-allowed": ("vmi", {f"{DOM}.machine": {"type": "pc-i440fx-rhel7.6.0"}}, f"{DOM}.machine.type", "q35*"),
    "cpu-topology-minimum": ("vmi", {f"{DOM}.cpu": {"cores": 0}}, f"{DOM}.cpu.cores", "1 or more"),
    "cpu-topology-over-limit": ("vmi", {f"{DOM}.cpu": {"cores": 4}, f"{DOM}.resources.limits": {"cpu": "2"}}, f"{DOM}.cpu", "at most 2 vCPUs"),
    "cpu-dedicated-integral": ("vmi", {f"{DOM}.cpu": {"dedicatedCpuPlacement": True}, f"{DOM}.resources.requests.cpu": "1500m"}, f"{DOM}.resources.requests.cpu", "whole CPUs"),
    "cpu-dedicated-request-equals-limit": ("vmi", {f"{DOM}.cpu": {"dedicatedCpuPlacement": True}, f"{DOM}.resources.requests.cpu": "1", f"{DOM}.resources.limits": {"cpu": "2"}}, f"{DOM}.resources.requests.cpu", "equal"),
    "cpu-dedicated-threads": ("vmi", {f"{DOM}.cpu": {"dedicatedCpuPlacement": True, "threads": 4}}, f"{DOM}.cpu.threads", "1 or 2"),
    "cpu-isolate-emulator-thread": ("vmi", {f"{DOM}.cpu": {"isolateEmulatorThread": True}}, f"{DOM}.cpu.isolateEmulatorThread", "dedicatedCpuPlacement: true"),
    "cpu-feature-policy": ("vmi", {f"{DOM}.cpu": {"features": [{"name": "vmx", "policy": "maybe"}]}}, f"{DOM}.cpu.features[0].policy", "force, require, optional, disable, forbid"),
    "cpu-numa-passthrough": ("vmi", {f"{DOM}.cpu": {"numa": {"guestMappingPassthrough": {}}}}, f"{DOM}.cpu.numa.guestMappingPassthrough", "dedicatedCpuPlacement: true"),
    "cpu-realtime": ("vmi", {f"{DOM}.cpu": {"realtime": {}}}, f"{DOM}.cpu.realtime", "dedicatedCpuPlacement: true"),
    # firmware
    "firmware-bootloader-exclusive": ("vmi", {f"{DOM}.firmware": {"bootloader": {"bios": {}, "efi": {}}}}, f"{DOM}.firmware.bootloader", "only one"),
    "firmware-secure-boot-smm": ("vmi", {f"{DOM}.firmware": {"bootloader": {"efi": {}}}, f"{DOM}.features": {"smm": {"enabled": False}}}, f"{DOM}.features.smm.enabled", "secureBoot: false"),
    "firmware-uuid-format": ("vmi", {f"{DOM}.firmware": {"uuid": "not-a-uuid"}}, f"{DOM}.firmware.uuid", "8-4-4-4-12"),
    "firmware-serial-format": ("vmi", {f"{DOM}.firmware": {"serial": "bad serial!"}}, f"{DOM}.firmware.serial", "at most 256 letters"),
    "firmware-kernel-boot-container": ("vmi", {f"{DOM}.firmware": {"kernelBoot": {"kernelArgs": "console=ttyS0"}}}, f"{DOM}.firmware.kernelBoot.container", "image"),
    "firmware-kernel-boot-paths": ("vmi", {f"{DOM}.firmware": {"kernelBoot": {"container": {"image": "k", "kernelPath": "../vmlinuz"}}}}, f"{DOM}.firmware.kernelBoot.container.kernelPath", "absolute path"),
    # disks
    "disk-name-required": ("vmi", {f"{DEV}.disks[0].name": DELETE}, f"{DEV}.disks[0].name", "name"),
    "disk-name-duplicate": ("vmi", {f"{DEV}.disks[1]": {"name": "root", "disk": {}}}, f"{DEV}.disks[1].name", "unique"),
    "disk-target-multiple": ("vmi", {f"{DEV}.disks[0].cdrom": {"bus": "sata"}}, f"{DEV}.disks[0]", "exactly one of: disk, lun, cdrom"),
    "disk-bus-value": ("vmi", {f"{DEV}.disks[0].disk.bus": "ide"}, f"{DEV}.disks[0].disk.bus", "virtio, sata, scsi, usb"),
    "disk-cdrom-bus-value": ("vmi", {f"{DEV}.disks[0]": {"name": "root", "cdrom": {"bus": "virtio"}}}, f"{DEV}.disks[0].cdrom.bus", "sata, scsi"),
    "disk-readonly-bus": ("vmi", {f"{DEV}.disks[0].disk": {"bus": "sata", "readonly": True}}, f"{DEV}.disks[0].disk.readonly", "virtio, scsi or usb"),
    "disk-pci-address-bus": ("vmi", {f"{DEV}.disks[0].disk": {"bus": "scsi", "pciAddress": "0000:00:05.0"}}, f"{DEV}.disks[0].disk.pciAddress", "bus virtio"),
    "boot-order-minimum": ("vmi", {f"{DEV}.disks[0].bootOrder": 0}, f"{DEV}.disks[0].bootOrder", "1 or more"),
    "boot-order-duplicate": ("vmi", with_pod(**{f"{DEV}.disks[0].bootOrder": 1, f"{I0}.bootOrder": 1}), f"{I0}.bootOrder", "different boot order"),
    "disk-volume-missing": ("vmi", {f"{DEV}.disks[1]": {"name": "data", "disk": {}}}, f"{DEV}.disks[1].name", "add a volume named \"data\""),
    "disk-cache-value": ("vmi", {f"{DEV}.disks[0].cache": "unsafe"}, f"{DEV}.disks[0].cache", "none, writethrough, writeback"),
    "disk-io-value": ("vmi", {f"{DEV}.disks[0].io": "aio"}, f"{DEV}.disks[0].io", "native, threads"),
    "disk-error-policy-value": ("vmi", {f"{DEV}.disks[0].errorPolicy": "panic"}, f"{DEV}.disks[0].errorPolicy", "stop, ignore, report, enospace"),
    "disk-serial-format": ("vmi", {f"{DEV}.disks[0].serial": "has space"}, f"{DEV}.disks[0].serial", "letters, digits"),
    "disk-io-thread-bus": ("vmi", {f"{DEV}.disks[0].dedicatedIOThread": True, f"{DEV}.disks[0].disk.bus": "sata"}, f"{DEV}.disks[0].dedicatedIOThread", "virtio"),
    "disk-lun-volume-source": ("vmi", {f"{DEV}.disks[0]": {"name": "root", "lun": {}}}, f"{DEV}.disks[0].lun", "persistentVolumeClaim or dataVolume"),
    "disk-block-size": ("vmi", {f"{DEV}.disks[0].blockSize": {"custom": {"logical": 1000, "physical": 4096}}}, f"{DEV}.disks[0].blockSize.custom.logical", "power of 2"),
    "disk-cdrom-tray-value": ("vmi", {f"{DEV}.disks[0]": {"name": "root", "cdrom": {"tray": "ajar"}}}, f"{DEV}.disks[0].cdrom.tray", "open, closed"),
    # volumes
    "volume-name-required": ("vmi", {"spec.volumes[0].name": DELETE}, "spec.volumes[0].name", "name"),
    "volume-name-duplicate": ("vmi", {"spec.volumes[1]": {"name": "root", "emptyDisk": {"capacity": "1Gi"}}}, "spec.volumes[1].name", "unique"),
    "volume-source-count": ("vmi", {"spec.volumes[0].emptyDisk": {"capacity": "1Gi"}}, "spec.volumes[0]", "exactly one source type"),
    "volume-unused": ("vmi", {"spec.volumes[1]": {"name": "extra", "emptyDisk": {"capacity": "1Gi"}}}, "spec.volumes[1].name", "add a disk"),
    "volume-singleton": ("vmi", {**extra_volume({"name": "sa1", "serviceAccount": {"serviceAccountName": "a"}}), f"{DEV}.disks[2]": {"name": "sa2"}, "spec.volumes[2]": {"name": "sa2", "serviceAccount": {"serviceAccountName": "b"}}}, "spec.volumes[2].serviceAccount", "only one serviceAccount"),
    "volume-container-disk-image": ("vmi", {"spec.volumes[0].containerDisk": {}}, "spec.volumes[0].containerDisk.image", "container image"),
    "volume-container-disk-path": ("vmi", {"spec.volumes[0].containerDisk.path": "disk.img"}, "spec.volumes[0].containerDisk.path", "absolute path"),
    "volume-image-pull-policy": ("vmi", {"spec.volumes[0].containerDisk.imagePullPolicy": "Sometimes"}, "spec.volumes[0].containerDisk.imagePullPolicy", "Always, IfNotPresent, Never"),
    "volume-cloud-init-user-data": ("vmi", extra_volume({"name": "ci", "cloudInitNoCloud": {"userData": "x", "userDataBase64": "eA=="}}), "spec.volumes[1].cloudInitNoCloud", "userData, userDataBase64, secretRef"),
    "volume-cloud-init-network-data": ("vmi", extra_volume({"name": "ci", "cloudInitConfigDrive": {"networkData": "a", "networkDataBase64": "YQ=="}}), "spec.volumes[1].cloudInitConfigDrive", "networkDataSecretRef"),
    "volume-cloud-init-base64": ("vmi", extra_volume({"name": "ci", "cloudInitNoCloud": {"userDataBase64": "!!not base64"}}), "spec.volumes[1].cloudInitNoCloud.userDataBase64", "standard base64"),
    "volume-cloud-init-size": ("vmi", extra_volume({"name": "ci", "cloudInitNoCloud": {"userData": "x" * 3000}}), "spec.volumes[1].cloudInitNoCloud.userData", "use secretRef"),
    "volume-empty-disk-capacity": ("vmi", extra_volume({"name": "scratch", "emptyDisk": {}}), "spec.volumes[1].emptyDisk.capacity", "10Gi"),
    "volume-host-disk-feature-gate": ("vmi", extra_volume({"name": "h", "hostDisk": {"path": "/d.img", "type": "Disk"}}), "spec.volumes[1].hostDisk", "HostDisk feature gate"),
    "volume-host-disk-path": ("vmi", extra_volume({"name": "h", "hostDisk": {"type": "Disk"}}), "spec.volumes[1].hostDisk.path", "absolute path", HOSTDISK),
    "volume-host-disk-type": ("vmi", extra_volume({"name": "h", "hostDisk": {"path": "/d.img", "type": "File"}}), "spec.volumes[1].hostDisk.type", "Disk, DiskOrCreate", HOSTDISK),
    "volume-host-disk-capacity": ("vmi", extra_volume({"name": "h", "hostDisk": {"path": "/d.img", "type": "DiskOrCreate"}}), "spec.volumes[1].hostDisk.capacity", "DiskOrCreate", HOSTDISK),
    "volume-claim-name": ("vmi", extra_volume({"name": "data", "persistentVolumeClaim": {}}), "spec.volumes[1].persistentVolumeClaim.claimName", "PersistentVolumeClaim"),
    "volume-reference-name": ("vmi", extra_volume({"name": "cfg", "configMap": {}}), "spec.volumes[1].configMap.name", "ConfigMap"),
    # networks
    "network-name-required": ("vmi", {"spec.networks": [{"pod": {}}]}, "spec.networks[0].name", "name"),
    "network-name-duplicate": ("vmi", with_pod(**{"spec.networks[1]": {"name": "default", "multus": {"networkName": "n"}}}), "spec.networks[1].name", "unique name"),
    "network-source-count": ("vmi", with_pod(**{"spec.networks[0]": {"name": "default"}}), "spec.networks[0]", "pod, multus"),
    "network-default-multiple": ("vmi", with_pod(**{"spec.networks[1]": {"name": "second", "pod": {}}, f"{DEV}.interfaces[1]": {"name": "second", "masquerade": {}}}), "spec.networks[1]", "at most one pod network"),
    "network-multus-name": ("vmi", with_pod(**{"spec.networks[0]": {"name": "default", "multus": {}}, f"{I0}": {"name": "default", "bridge": {}}}), "spec.networks[0].multus.networkName", "NetworkAttachmentDefinition"),
    "network-pod-cidr": ("vmi", with_pod(**{"spec.networks[0].pod": {"vmNetworkCIDR": "10.0.2.1/24"}}), "spec.networks[0].pod.vmNetworkCIDR", "10.0.2.0/24"),
    "network-interface-missing": ("vmi", with_pod(**{"spec.networks[1]": {"name": "extra", "multus": {"networkName": "n"}}}), "spec.networks[1].name", "add an interface named \"extra\""),
    "interface-name-required": ("vmi", with_pod(**{I0: {"masquerade": {}}}), f"{I0}.name", "name"),
    "interface-name-format": ("vmi", with_pod(**{"spec.networks[0].name": "bad name", f"{I0}.name": "bad name"}), f"{I0}.name", "letters, digits, '-' and '_'"),
    "interface-name-duplicate": ("vmi", with_pod(**{f"{DEV}.interfaces[1]": {"name": "default", "masquerade": {}}}), f"{DEV}.interfaces[1].name", "only one interface"),
    "interface-network-missing": ("vmi", with_pod(**{f"{DEV}.interfaces[1]": {"name": "other", "bridge": {}}}), f"{DEV}.interfaces[1].name", "add a network named \"other\""),
    "interface-binding-multiple": ("vmi", with_pod(**{f"{I0}.bridge": {}}), I0, "exactly one of: bridge, masquerade, sriov, binding"),
    "interface-binding-network": ("vmi", with_pod(**{"spec.networks[0]": {"name": "default", "multus": {"networkName": "n"}}}), f"{I0}.masquerade", "bridge or sriov"),
    "interface-binding-discontinued": ("vmi", with_pod(**{I0: {"name": "default", "slirp": {}}}), f"{I0}.slirp", "masquerade, bridge, sriov"),
    "interface-model-value": ("vmi", with_pod(**{f"{I0}.model": "virtio-net"}), f"{I0}.model", "e1000, e1000e"),
    "interface-mac-format": ("vmi", with_pod(**{f"{I0}.macAddress": "zz:00:00:00:00:01"}), f"{I0}.macAddress", "six pairs of hex digits"),
    "interface-mac-multicast": ("vmi", with_pod(**{f"{I0}.macAddress": "01:00:5e:00:00:01"}), f"{I0}.macAddress", "unicast"),
    "interface-mac-duplicate": ("vmi", with_pod(**{f"{I0}.macAddress": "02:00:00:00:00:01", "spec.networks[1]": {"name": "sec", "multus": {"networkName": "n"}}, f"{DEV}.interfaces[1]": {"name": "sec", "bridge": {}, "macAddress": "02-00-00-00-00-01"}}), f"{DEV}.interfaces[1].macAddress", "different MAC"),
    "interface-port-number": ("vmi", with_pod(**{f"{I0}.ports": [{"port": 70000}]}), f"{I0}.ports[0].port", "1 to 65535"),
    "interface-port-protocol": ("vmi", with_pod(**{f"{I0}.ports": [{"port": 80, "protocol": "tcp"}]}), f"{I0}.ports[0].protocol", "TCP, UDP"),
    "interface-port-name": ("vmi", with_pod(**{f"{I0}.ports": [{"name": "Http_Port", "port": 80}]}), f"{I0}.ports[0].name", "at most 15"),
    "interface-port-duplicate": ("vmi", with_pod(**{f"{I0}.ports": [{"name": "http", "port": 80}, {"name": "web", "port": 80}]}), f"{I0}.ports[1].port", "each port and protocol once"),
    "interface-state-value": ("vmi", with_pod(**{f"{I0}.state": "sleeping"}), f"{I0}.state", "up, down, absent"),
    # devices
    "pci-address-format": ("vmi", with_pod(**{f"{I0}.pciAddress": "00:05.0"}), f"{I0}.pciAddress", "domain:bus:slot.function"),
    "device-name-required": ("vmi", {f"{DEV}.gpus": [{"deviceName": "nvidia.com/X"}]}, f"{DEV}.gpus[0].name", "name"),
    "device-name-duplicate": ("vmi", {f"{DEV}.gpus": [{"name": "g", "deviceName": "a/b"}], f"{DEV}.hostDevices": [{"name": "g", "deviceName": "c/d"}]}, f"{DEV}.hostDevices[0].name", "unique"),
    "device-resource-required": ("vmi", {f"{DEV}.gpus": [{"name": "g"}]}, f"{DEV}.gpus[0].deviceName", "resource name"),
    "device-permitted": ("vmi", {f"{DEV}.gpus": [{"name": "g", "deviceName": "nvidia.com/B"}]}, f"{DEV}.gpus[0].deviceName", "nvidia.com/A", ClusterConfig(permit_unlisted_host_devices=False, permitted_host_devices=frozenset({"nvidia.com/A"}))),
    "device-feature-gate": ("vmi", {f"{DEV}.gpus": [{"name": "g", "deviceName": "nvidia.com/A"}]}, f"{DEV}.gpus[0]", "GPU feature gate", ClusterConfig(feature_gates=frozenset())),
    "filesystem-volume": ("vmi", {f"{DEV}.filesystems": [{"name": "share", "virtiofs": {}}]}, f"{DEV}.filesystems[0].name", "add a volume named \"share\"", VIRTIOFS),
    "input-bus-value": ("vmi", {f"{DEV}.inputs": [{"name": "t", "type": "tablet", "bus": "ps2"}]}, f"{DEV}.inputs[0].bus", "virtio, usb"),
    "input-type-value": ("vmi", {f"{DEV}.inputs": [{"name": "k", "type": "keyboard", "bus": "usb"}]}, f"{DEV}.inputs[0].type", "tablet"),
    "sound-value": ("vmi", {f"{DEV}.sound": {"name": "s", "model": "sb16"}}, f"{DEV}.sound.model", "ich9, ac97"),
    "watchdog-value": ("vmi", {f"{DEV}.watchdog": {"name": "w", "i6300esb": {"action": "explode"}}}, f"{DEV}.watchdog.i6300esb.action", "poweroff, reset, shutdown"),
    # scheduling
    "toleration-operator": ("vmi", {"spec.tolerations": [{"key": "k", "operator": "Maybe"}]}, "spec.tolerations[0].operator", "Equal, Exists"),
    "toleration-effect": ("vmi", {"spec.tolerations": [{"key": "k", "operator": "Exists", "effect": "NoRun"}]}, "spec.tolerations[0].effect", "NoSchedule, PreferNoSchedule, NoExecute"),
    "node-selector-label": ("vmi", {"spec.nodeSelector": {"bad key!": "x"}}, "spec.nodeSelector[bad key!]", "qualified name"),
    "affinity-operator": ("vmi", sel_terms({"key": "k", "operator": "Has", "values": ["a"]}), f"{AFF}.operator", "In, NotIn, Exists, DoesNotExist, Gt, Lt"),
    "affinity-values": ("vmi", sel_terms({"key": "k", "operator": "In", "values": []}), f"{AFF}.values", "at least one value"),
    "topology-spread-value": ("vmi", {"spec.topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "Maybe"}]}, "spec.topologySpreadConstraints[0].whenUnsatisfiable", "DoNotSchedule, ScheduleAnyway"),
}

# Rules that need an object the codec would refuse: built by editing the decoded message.
EDITED = {"quantity-invalid"}


def test_every_rule_has_a_case() -> None:
    """The failing-manifest table covers the rule registry exactly."""
    assert set(CASES) | EDITED == set(BY_ID)
    assert not set(CASES) & EDITED


def test_there_are_at_least_forty_rules_with_unique_ids() -> None:
    """The registry is one table of uniquely named rules, at least 40 of them."""
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids)) >= 40
    assert all(r.description and r.area for r in RULES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires_at_its_path_naming_what_is_allowed(rule_id: str) -> None:
    """A manifest broken in one way is refused by that rule, at the field's exact path."""
    base, patches, path, allowed, *rest = CASES[rule_id]
    config = rest[0] if rest else ClusterConfig()
    found = findings(build(base, patches), config)
    mine = [(p, m) for rule, p, m in found if rule == rule_id]
    assert mine, (rule_id, found)
    assert any(p == path and allowed in m for p, m in mine), (rule_id, mine)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_the_same_manifest_unbroken_has_no_cause_from_that_rule(rule_id: str) -> None:
    """Each case's base manifest is valid, so the cause above comes from the patch alone."""
    base, *_ , = CASES[rule_id]
    assert findings(build(base)) == []


def test_unparsable_quantity_is_reported_with_what_is_allowed() -> None:
    """A quantity that does not parse (possible from a protobuf client) is a cause at its path."""
    msg = decode(build("vmi", {f"{DOM}.resources.limits": {"memory": "1Gi"}}))
    msg.spec.domain.resources.limits["memory"].value = "lots"
    found = findings(msg)
    assert ("quantity-invalid", f"{DOM}.resources.limits.memory") in {(r, p) for r, p, _ in found}
    message = next(m for r, _, m in found if r == "quantity-invalid")
    assert "Gi" in message and "lots" in message


def test_hugepages_guest_memory_is_checked_where_it_is_set() -> None:
    """With domain.memory.guest set, the hugepage multiple is reported at guest, not requests."""
    found = findings(build("vmi", {f"{DOM}.memory": {"guest": "3M", "hugepages": {"pageSize": "2Mi"}}}))
    assert ("hugepages-memory-multiple", f"{DOM}.memory.guest") in {(r, p) for r, p, _ in found}


def test_rules_apply_inside_vm_and_pool_templates_at_their_paths() -> None:
    """The same VMI rule reports under spec.template.spec and the pool's template path."""
    vm_found = findings(build("vm", {"spec.template.spec.domain.devices.disks[0].disk.bus": "ide"}))
    assert ("disk-bus-value", "spec.template.spec.domain.devices.disks[0].disk.bus") in \
        {(r, p) for r, p, _ in vm_found}
    prefix = "spec.virtualMachineTemplate.spec.template.spec"
    pool_found = findings(build("pool", {f"{prefix}.domain.devices.disks[0].disk.bus": "ide",
                                         "spec.virtualMachineTemplate.spec.running": True}))
    got = {(r, p) for r, p, _ in pool_found}
    assert ("disk-bus-value", f"{prefix}.domain.devices.disks[0].disk.bus") in got
    assert ("vm-running-and-run-strategy", "spec.virtualMachineTemplate.spec.running") in got


def test_bridge_on_pod_network_can_be_forbidden_by_the_cluster() -> None:
    """permitBridgeInterfaceOnPodNetwork: false refuses bridge on the pod network."""
    doc = build("vmi", with_pod(**{I0: {"name": "default", "bridge": {}}}))
    assert findings(doc) == []
    config = replace(ClusterConfig(), permit_bridge_interface_on_pod_network=False)
    assert ("interface-binding-network", f"{I0}.bridge") in {(r, p) for r, p, _ in findings(doc, config)}


def test_reserved_labels_are_refused_on_create_but_not_on_update() -> None:
    """KubeVirt's controllers add kubevirt.io/nodeName to a VMI by update; a user cannot create one with it."""
    from controller.admission import admit
    from protos import codec

    vmi = codec.decode({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
                        "metadata": {"name": "v", "labels": {"kubevirt.io/nodeName": "node-a"}},
                        "spec": {"domain": {"devices": {}, "resources": {"requests": {"memory": "64Mi"}}}}})
    created = admit(vmi, ClusterConfig(), "CREATE")
    assert [c.field for c in created.causes] == ["metadata.labels[kubevirt.io/nodeName]"]
    assert admit(vmi, ClusterConfig(), "UPDATE").causes == []
