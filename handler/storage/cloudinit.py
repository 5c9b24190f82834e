"""cloud-init data for a VMI: the files of a NoCloud seed and of an OpenStack config drive.

Owns reading a `cloudInitNoCloud` / `cloudInitConfigDrive` source (inline text,
base64, or a Secret through the caller's `secrets` callback), its size limit,
and the layout cloud-init expects on each kind of disk:

    NoCloud (volume id cidata)      ConfigDrive (volume id config-2)
    meta-data                       openstack/latest/meta_data.json
    user-data                       openstack/latest/user_data
    network-config (when given)     openstack/latest/network_data.json (when given)

Called by handler/storage/volumes.py, which writes the files into an ISO. Pure:
no filesystem, no API call except through `secrets`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from handler.errors import HandlerError, NotFoundError, VolumeError, VolumeSecretError
from protos.kubevirt.v1 import schema_pb2, vmi_pb2

NOCLOUD_VOLUME_ID = "cidata"
CONFIG_DRIVE_VOLUME_ID = "config-2"
# A Kubernetes Secret holds at most 1 MiB; the node takes no larger document from any source.
MAX_DOCUMENT_BYTES = 1 << 20
USER_DATA_KEYS = ("userdata", "userData")
NETWORK_DATA_KEYS = ("networkdata", "networkData")
_HOSTNAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")

Secrets = Callable[[str, str], dict]


@dataclass(frozen=True)
class CloudInitData:
    """The documents of one cloud-init volume; None where the VMI gives none."""

    user_data: bytes | None
    network_data: bytes | None


def hostname(vmi: vmi_pb2.VirtualMachineInstance) -> str:
    """The guest's hostname: spec.hostname, else the VMI's name (KubeVirt's rule)."""
    if vmi.spec.hostname:
        name, where = vmi.spec.hostname, "spec.hostname"
    else:
        name, where = vmi.metadata.name, "metadata.name"
    if not _HOSTNAME.match(name):
        hint = "" if where == "spec.hostname" else "; set spec.hostname to one"
        raise VolumeError(where, f"{name!r} is not a valid hostname for cloud-init: use at most 63 "
                                 f"lower-case letters, digits and '-', starting and ending with a "
                                 f"letter or digit{hint}")
    return name


def read(source: schema_pb2.CloudInitSource, where: str, namespace: str,
         secrets: Secrets | None) -> CloudInitData:
    """The user and network data of a cloud-init source; `where` is its field path."""
    user = _document(source, where, namespace, secrets,
                     (("user_data", "userData"), ("user_data_base64", "userDataBase64"),
                      ("secret_ref", "secretRef")), USER_DATA_KEYS)
    network = _document(source, where, namespace, secrets,
                        (("network_data", "networkData"), ("network_data_base64", "networkDataBase64"),
                         ("network_data_secret_ref", "networkDataSecretRef")), NETWORK_DATA_KEYS)
    return CloudInitData(user, network)


def instance_id(vmi: vmi_pb2.VirtualMachineInstance) -> str:
    """cloud-init's instance id: the VMI's uid (a new VMI is a new instance)."""
    if not re.fullmatch(r"[A-Za-z0-9-]+", vmi.metadata.uid):
        raise VolumeError("metadata.uid", f"{vmi.metadata.uid!r} is not a uid the API server "
                                          "gives; cloud-init needs it as the instance id")
    return vmi.metadata.uid


def nocloud_files(vmi: vmi_pb2.VirtualMachineInstance, data: CloudInitData) -> dict[str, bytes]:
    """The files of a NoCloud seed (cloud-init's `nocloud` data source)."""
    meta = f"instance-id: {instance_id(vmi)}\nlocal-hostname: {hostname(vmi)}\n"
    files = {"meta-data": meta.encode(), "user-data": data.user_data or b""}
    if data.network_data is not None:
        files["network-config"] = data.network_data
    return files


def config_drive_files(vmi: vmi_pb2.VirtualMachineInstance, data: CloudInitData) -> dict[str, bytes]:
    """The files of an OpenStack config drive (cloud-init's `configdrive` data source)."""
    meta = {"uuid": instance_id(vmi), "hostname": hostname(vmi), "name": vmi.metadata.name}
    files = {"openstack/latest/meta_data.json": (json.dumps(meta, sort_keys=True) + "\n").encode(),
             "openstack/latest/user_data": data.user_data or b""}
    if data.network_data is not None:
        files["openstack/latest/network_data.json"] = data.network_data
    return files


def _document(source, where: str, namespace: str, secrets: Secrets | None,
              fields: tuple[tuple[str, str], ...], keys: tuple[str, ...]) -> bytes | None:
    (text_field, text_name), (b64_field, b64_name), (ref_field, ref_name) = fields
    given = [name for field, name in fields if source.HasField(field)]
    if len(given) > 1:
        raise VolumeError(where, f"more than one of {', '.join(given)} is set; use only one")
    if source.HasField(text_field):
        data = getattr(source, text_field).encode()
        _check_size(data, f"{where}.{text_name}")
        return data
    if source.HasField(b64_field):
        try:
            data = base64.b64decode("".join(getattr(source, b64_field).split()), validate=True)
        except (binascii.Error, ValueError):
            raise VolumeError(f"{where}.{b64_name}", "is not valid base64 (RFC 4648, with padding); "
                                                     f"use {text_name} for plain text") from None
        _check_size(data, f"{where}.{b64_name}")
        return data
    if source.HasField(ref_field):
        return _from_secret(getattr(source, ref_field).name, f"{where}.{ref_name}", namespace,
                            secrets, keys)
    return None


def _from_secret(name: str, where: str, namespace: str, secrets: Secrets | None,
                 keys: tuple[str, ...]) -> bytes:
    if not name:
        raise VolumeError(f"{where}.name", "name the Secret that holds the data")
    if secrets is None:
        raise VolumeError(where, "this node cannot read Secrets; give the data inline instead")
    try:
        secret = secrets(namespace, name)
    except NotFoundError:
        raise VolumeSecretError(where, f"Secret {namespace}/{name} does not exist (yet)") from None
    except HandlerError as e:
        error = VolumeSecretError(where, f"Secret {namespace}/{name} cannot be read: {e}")
        error.transient = getattr(e, "transient", True)
        raise error from None
    values = (secret or {}).get("data") or {}
    key = next((k for k in keys if k in values), None)
    if key is None:
        raise VolumeSecretError(where, f"Secret {namespace}/{name} has no key "
                                       f"{' or '.join(keys)}; put the data under one of them")
    try:
        data = base64.b64decode(values[key] or "", validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise VolumeError(where, f"key {key!r} of Secret {namespace}/{name} is not base64 "
                                 "as the API returns Secret data") from None
    _check_size(data, where)
    return data


def _check_size(data: bytes, where: str) -> None:
    if len(data) > MAX_DOCUMENT_BYTES:
        raise VolumeError(where, f"is {len(data)} bytes; the node takes at most "
                                 f"{MAX_DOCUMENT_BYTES} bytes (1 MiB, the size limit of a Secret)")
