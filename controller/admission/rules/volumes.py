"""Rules on a VMI's volumes: names, one source each, and each source's fields.

Owns KubeVirt's volume validators (unique names, exactly one source, cloud-init
sources and sizes, hostDisk types, claim names, singletons) and the volume side
of the disk <-> volume mapping. Called through the rule table with a VMI_SPEC target.
"""

from __future__ import annotations

from collections.abc import Iterator

from controller.admission import syntax
from controller.admission.config import GATE_HOST_DISK
from controller.admission.messages import duplicate, invalid, not_supported, quoted, required
from controller.admission.targets import Target
from controller.admission.unique import repeats
from protos.errors import FieldCause
from protos.kubevirt.v1 import volume_sources

SOURCES = volume_sources()
CLOUD_INIT = (("cloud_init_no_cloud", "cloudInitNoCloud"),
              ("cloud_init_config_drive", "cloudInitConfigDrive"))
HOST_DISK_TYPES = ("Disk", "DiskOrCreate")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")


def _path(t: Target, i: int, rel: str = "") -> str:
    return t.at(f"volumes[{i}]" + (f".{rel}" if rel else ""))


def _with(t: Target, source: str):
    """(index, source message) for every volume that sets `source`."""
    for i, vol in enumerate(t.msg.volumes):
        if vol.HasField(source):
            yield i, getattr(vol, source)


def name_required(t: Target) -> Iterator[FieldCause]:
    for i, vol in enumerate(t.msg.volumes):
        if not vol.name:
            yield required(_path(t, i, "name"), "every volume needs a name that a disk refers to")


def name_duplicate(t: Target) -> Iterator[FieldCause]:
    for name, first, i in repeats((vol.name, i) for i, vol in enumerate(t.msg.volumes)):
        yield duplicate(_path(t, i, "name"), f"volumes[{first}] and volumes[{i}] must not have the "
                                             f"same name {quoted(name)}; volume names must be unique")


def source_count(t: Target) -> Iterator[FieldCause]:
    for i, vol in enumerate(t.msg.volumes):
        found = [json for field, json in SOURCES if vol.HasField(field)]
        if len(found) != 1:
            what = ", ".join(found) if found else "none"
            yield invalid(_path(t, i), f"a volume needs exactly one source type (found: {what}); "
                                       f"set one of: {', '.join(j for _, j in SOURCES)}")


def unused(t: Target) -> Iterator[FieldCause]:
    devices = t.msg.domain.devices
    used = {d.name for d in devices.disks} | {f.name for f in devices.filesystems}
    for i, vol in enumerate(t.msg.volumes):
        if vol.name and vol.name not in used:
            yield invalid(_path(t, i, "name"),
                          f"volume {quoted(vol.name)} is not used by any disk; add a disk (or a "
                          f"filesystem) named {quoted(vol.name)}, or remove the volume")


def singleton(t: Target) -> Iterator[FieldCause]:
    for source, json in (("service_account", "serviceAccount"), ("downward_metrics", "downwardMetrics")):
        found = [i for i, _ in _with(t, source)]
        for i in found[1:]:
            yield invalid(_path(t, i, json), f"only one {json} volume is allowed; volumes[{found[0]}] "
                                             f"is one already")


def container_disk_image(t: Target) -> Iterator[FieldCause]:
    for i, cd in _with(t, "container_disk"):
        if not cd.image:
            yield required(_path(t, i, "containerDisk.image"),
                           "name the container image that holds the disk, like "
                           "quay.io/containerdisks/fedora:40")


def container_disk_path(t: Target) -> Iterator[FieldCause]:
    for i, cd in _with(t, "container_disk"):
        if cd.HasField("path"):
            problem = syntax.absolute_file_path(cd.path)
            if problem:
                yield invalid(_path(t, i, "containerDisk.path"), problem)


def image_pull_policy(t: Target) -> Iterator[FieldCause]:
    for i, cd in _with(t, "container_disk"):
        if cd.HasField("image_pull_policy") and cd.image_pull_policy not in PULL_POLICIES:
            yield not_supported(_path(t, i, "containerDisk.imagePullPolicy"), "imagePullPolicy",
                                cd.image_pull_policy, PULL_POLICIES)
    kb = t.msg.domain.firmware.kernel_boot.container
    if kb.HasField("image_pull_policy") and kb.image_pull_policy not in PULL_POLICIES:
        yield not_supported(t.at("domain.firmware.kernelBoot.container.imagePullPolicy"),
                            "imagePullPolicy", kb.image_pull_policy, PULL_POLICIES)


def cloud_init_user_data(t: Target) -> Iterator[FieldCause]:
    for source, json in CLOUD_INIT:
        for i, ci in _with(t, source):
            user = [n for f, n in (("user_data", "userData"), ("user_data_base64", "userDataBase64"),
                                   ("secret_ref", "secretRef")) if ci.HasField(f)]
            network = [f for f in ("network_data", "network_data_base64", "network_data_secret_ref")
                       if ci.HasField(f)]
            if len(user) > 1:
                yield invalid(_path(t, i, json), f"more than one user-data source set "
                                                 f"({', '.join(user)}); use only one of: userData, "
                                                 f"userDataBase64, secretRef")
            if not user and not network:
                yield required(_path(t, i, json), "set one of userData, userDataBase64 or "
                                                  "secretRef (or network data)")


def cloud_init_network_data(t: Target) -> Iterator[FieldCause]:
    for source, json in CLOUD_INIT:
        for i, ci in _with(t, source):
            found = [n for f, n in (("network_data", "networkData"),
                                    ("network_data_base64", "networkDataBase64"),
                                    ("network_data_secret_ref", "networkDataSecretRef"))
                     if ci.HasField(f)]
            if len(found) > 1:
                yield invalid(_path(t, i, json), f"more than one network-data source set "
                                                 f"({', '.join(found)}); use only one of: networkData, "
                                                 f"networkDataBase64, networkDataSecretRef")


def cloud_init_base64(t: Target) -> Iterator[FieldCause]:
    for source, json in CLOUD_INIT:
        for i, ci in _with(t, source):
            for field, name in (("user_data_base64", "userDataBase64"),
                                ("network_data_base64", "networkDataBase64")):
                if ci.HasField(field):
                    problem = syntax.base64_text(getattr(ci, field))
                    if problem:
                        yield invalid(_path(t, i, f"{json}.{name}"), f"{name} {problem}")


def cloud_init_size(t: Target) -> Iterator[FieldCause]:
    limit = t.config.cloud_init_inline_limit
    for source, json in CLOUD_INIT:
        for i, ci in _with(t, source):
            for field, name, ref in (("user_data", "userData", "secretRef"),
                                     ("network_data", "networkData", "networkDataSecretRef")):
                size = len(getattr(ci, field).encode())
                if size > limit:
                    yield invalid(_path(t, i, f"{json}.{name}"),
                                  f"inline {name} is {size} bytes; at most {limit} bytes may be "
                                  f"inline, use {ref} for larger data")


def empty_disk_capacity(t: Target) -> Iterator[FieldCause]:
    for i, ed in _with(t, "empty_disk"):
        path = _path(t, i, "emptyDisk.capacity")
        if not ed.HasField("capacity"):
            yield required(path, "an emptyDisk needs a capacity, like 10Gi")
            continue
        value = syntax.quantity_value(ed.capacity)
        if value is not None and value <= 0:
            yield invalid(path, f"capacity {quoted(ed.capacity.value)} is not positive; use a size "
                                f"greater than 0, like 10Gi")


def host_disk_feature_gate(t: Target) -> Iterator[FieldCause]:
    if t.config.gate(GATE_HOST_DISK):
        return
    for i, _ in _with(t, "host_disk"):
        yield invalid(_path(t, i, "hostDisk"), f"hostDisk volumes need the {GATE_HOST_DISK} "
                                               f"feature gate, which is not enabled")


def host_disk_path(t: Target) -> Iterator[FieldCause]:
    for i, hd in _with(t, "host_disk"):
        path = _path(t, i, "hostDisk.path")
        if not hd.path:
            yield required(path, "set the absolute path of the disk image on the host")
        elif not hd.path.startswith("/"):
            yield invalid(path, f"path {quoted(hd.path)} is relative; use an absolute path on the host")


def host_disk_type(t: Target) -> Iterator[FieldCause]:
    for i, hd in _with(t, "host_disk"):
        path = _path(t, i, "hostDisk.type")
        if not hd.type:
            yield required(path, f"set type to one of: {', '.join(HOST_DISK_TYPES)}")
        elif hd.type not in HOST_DISK_TYPES:
            yield not_supported(path, "hostDisk type", hd.type, HOST_DISK_TYPES)


def host_disk_capacity(t: Target) -> Iterator[FieldCause]:
    for i, hd in _with(t, "host_disk"):
        path = _path(t, i, "hostDisk.capacity")
        if hd.type == "Disk" and hd.HasField("capacity"):
            yield invalid(path, "capacity is only allowed with type DiskOrCreate; a Disk uses the "
                                "existing image's size")
        elif hd.type == "DiskOrCreate" and not hd.HasField("capacity"):
            yield required(path, "type DiskOrCreate needs the capacity of the image to create, "
                                 "like 10Gi")


def claim_name(t: Target) -> Iterator[FieldCause]:
    for i, vol in enumerate(t.msg.volumes):
        if vol.HasField("persistent_volume_claim") and not vol.persistent_volume_claim.claim_name:
            yield required(_path(t, i, "persistentVolumeClaim.claimName"),
                           "name the PersistentVolumeClaim in the VMI's namespace")
        if vol.HasField("ephemeral") and not vol.ephemeral.persistent_volume_claim.claim_name:
            yield required(_path(t, i, "ephemeral.persistentVolumeClaim.claimName"),
                           "name the PersistentVolumeClaim to overlay")
        if vol.HasField("data_volume") and not vol.data_volume.name:
            yield required(_path(t, i, "dataVolume.name"),
                           "name the DataVolume (or a dataVolumeTemplates entry)")


def reference_name(t: Target) -> Iterator[FieldCause]:
    for i, vol in enumerate(t.msg.volumes):
        if vol.HasField("config_map") and not vol.config_map.name:
            yield required(_path(t, i, "configMap.name"), "name the ConfigMap to present")
        if vol.HasField("secret") and not vol.secret.secret_name:
            yield required(_path(t, i, "secret.secretName"), "name the Secret to present")
        if vol.HasField("service_account") and not vol.service_account.service_account_name:
            yield required(_path(t, i, "serviceAccount.serviceAccountName"),
                           "name the ServiceAccount whose token to present")
