"""cloud-init volumes become the ISOs cloud-init reads: NoCloud (cidata) and ConfigDrive (config-2)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from handler.errors import NotFoundError, VolumeError, VolumeSecretError
from handler.storage import ImageStore, prepare_volumes
from handler.storage.cloudinit import MAX_DOCUMENT_BYTES
from tests.unit.handler.storage_samples import extract, joliet_file, vmi, volume_ids

UID = "6f1c9c2e-8a6b-4a57-9d7e-1a2b3c4d5e6f"
SCRIPT = "#!/bin/sh\necho hello from user-data\n"
STORE = ImageStore({})


def prepare(tmp_path: Path, spec, secrets=None):
    return prepare_volumes(spec, tmp_path / "vm", STORE, os.getuid(), os.getgid(), secrets)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_nocloud_iso_has_cidata_label_meta_data_and_user_data(tmp_path: Path) -> None:
    """A NoCloud seed: volume id cidata, meta-data with the VMI uid and hostname, user-data as given."""
    spec = vmi(f"""
- name: cloudinit
  cloudInitNoCloud: {{userData: {json.dumps(SCRIPT)}}}
""")
    sources = prepare(tmp_path, spec)
    source = sources["cloudinit"]
    assert (source.format, source.kind, source.readonly) == ("raw", "file", True)
    iso = Path(source.path)
    assert iso == tmp_path / "vm" / "cloudinit.iso"
    assert volume_ids(iso) == ("cidata", "cidata")
    files = extract(iso, tmp_path / "out")
    assert files == {"meta-data": f"instance-id: {UID}\nlocal-hostname: vm1\n".encode(),
                     "user-data": SCRIPT.encode()}
    assert joliet_file(iso, "/user-data") == SCRIPT.encode()
    assert oct(iso.stat().st_mode & 0o777) == oct(0o400)


def test_nocloud_takes_spec_hostname_and_network_config(tmp_path: Path) -> None:
    """spec.hostname wins over the name; networkDataBase64 becomes network-config."""
    network = "version: 2\nethernets:\n  eth0: {dhcp4: true}\n"
    spec = vmi(f"""
- name: seed
  cloudInitNoCloud:
    userDataBase64: {b64(SCRIPT)}
    networkDataBase64: {b64(network)}
""", hostname="web-1")
    files = extract(Path(prepare(tmp_path, spec)["seed"].path), tmp_path / "out")
    assert files["meta-data"] == f"instance-id: {UID}\nlocal-hostname: web-1\n".encode()
    assert files["user-data"] == SCRIPT.encode()
    assert files["network-config"] == network.encode()


def test_config_drive_layout_and_meta_data_json(tmp_path: Path) -> None:
    """A config drive: volume id config-2, openstack/latest/{meta_data.json,user_data,network_data.json}."""
    network = '{"links": [], "networks": [], "services": []}'
    spec = vmi(f"""
- name: configdrive
  cloudInitConfigDrive:
    userData: {json.dumps(SCRIPT)}
    networkData: {json.dumps(network)}
""")
    iso = Path(prepare(tmp_path, spec)["configdrive"].path)
    assert volume_ids(iso) == ("config-2", "config-2")
    files = extract(iso, tmp_path / "out")
    assert set(files) == {"openstack/latest/meta_data.json", "openstack/latest/user_data",
                          "openstack/latest/network_data.json"}
    assert json.loads(files["openstack/latest/meta_data.json"]) == {
        "uuid": UID, "hostname": "vm1", "name": "vm1"}
    assert files["openstack/latest/user_data"] == SCRIPT.encode()
    assert files["openstack/latest/network_data.json"] == network.encode()
    assert joliet_file(iso, "/openstack/latest/user_data") == SCRIPT.encode()


def test_user_and_network_data_from_secrets(tmp_path: Path) -> None:
    """secretRef/networkDataSecretRef read the Secret's userdata/networkData keys in the VMI's namespace."""
    asked = []

    def secrets(namespace: str, name: str) -> dict:
        asked.append((namespace, name))
        if name == "user":
            return {"data": {"userdata": b64(SCRIPT)}}
        return {"data": {"networkData": b64("version: 1\n")}}

    spec = vmi("""
- name: seed
  cloudInitNoCloud:
    secretRef: {name: user}
    networkDataSecretRef: {name: net}
""")
    files = extract(Path(prepare(tmp_path, spec, secrets)["seed"].path), tmp_path / "out")
    assert asked == [("tenant", "user"), ("tenant", "net")]
    assert files["user-data"] == SCRIPT.encode()
    assert files["network-config"] == b"version: 1\n"


@pytest.mark.parametrize(("volume", "field", "words"), [
    ("cloudInitNoCloud: {userDataBase64: 'not base64!'}",
     "spec.volumes[0].cloudInitNoCloud.userDataBase64", "not valid base64"),
    ("cloudInitConfigDrive: {userData: x, networkDataBase64: 'YQ'}",
     "spec.volumes[0].cloudInitConfigDrive.networkDataBase64", "not valid base64"),
    ("cloudInitNoCloud: {userData: x, userDataBase64: eA==}",
     "spec.volumes[0].cloudInitNoCloud", "more than one of userData, userDataBase64"),
    ("cloudInitNoCloud: {secretRef: {name: s}}",
     "spec.volumes[0].cloudInitNoCloud.secretRef", "cannot read Secrets"),
])
def test_bad_cloud_init_input_names_the_field(tmp_path: Path, volume: str, field: str,
                                              words: str) -> None:
    """Bad base64, two user-data sources, a secretRef without Secret access: an error at the field."""
    with pytest.raises(VolumeError) as caught:
        prepare(tmp_path, vmi(f"- name: seed\n  {volume}\n"))
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert words in str(caught.value)
    assert not (tmp_path / "vm").exists()  # nothing made for a VMI with a bad volume


def test_documents_larger_than_a_secret_are_refused(tmp_path: Path) -> None:
    """More than 1 MiB of user-data is refused with the size and the limit."""
    big = "#!/bin/sh\n" + "#" * MAX_DOCUMENT_BYTES
    with pytest.raises(VolumeError) as caught:
        prepare(tmp_path, vmi(f"- name: seed\n  cloudInitNoCloud: {{userDataBase64: {b64(big)}}}\n"))
    assert caught.value.field == "spec.volumes[0].cloudInitNoCloud.userDataBase64"
    assert f"is {len(big)} bytes" in str(caught.value) and str(MAX_DOCUMENT_BYTES) in str(caught.value)


def test_missing_secret_is_a_transient_error(tmp_path: Path) -> None:
    """A Secret that does not exist yet (or lacks the key) is reported as retryable."""
    def absent(namespace: str, name: str) -> dict:
        raise NotFoundError("get", f"Secret {namespace}/{name}", "not found")

    spec = vmi("- name: seed\n  cloudInitNoCloud: {secretRef: {name: later}}\n")
    with pytest.raises(VolumeSecretError) as caught:
        prepare(tmp_path, spec, absent)
    assert caught.value.transient
    assert "Secret tenant/later does not exist" in str(caught.value)
    with pytest.raises(VolumeSecretError) as caught:
        prepare(tmp_path, spec, lambda namespace, name: {"data": {"other": b64("x")}})
    assert "has no key userdata or userData" in str(caught.value)


def test_invalid_hostname_is_refused(tmp_path: Path) -> None:
    """A hostname cloud-init cannot use is refused at spec.hostname."""
    with pytest.raises(VolumeError) as caught:
        prepare(tmp_path, vmi("- name: seed\n  cloudInitNoCloud: {userData: x}\n",
                              hostname="Bad_Host"))
    assert caught.value.field == "spec.hostname"


def test_existing_seed_is_reused(tmp_path: Path) -> None:
    """A second call (a handler restart) keeps the ISO that exists: same file, same inode."""
    spec = vmi("- name: seed\n  cloudInitNoCloud: {userData: x}\n")
    first = Path(prepare(tmp_path, spec)["seed"].path)
    inode = first.stat().st_ino
    again = Path(prepare(tmp_path, spec)["seed"].path)
    assert again == first and again.stat().st_ino == inode


def test_a_vmi_without_uid_gets_no_seed(tmp_path: Path) -> None:
    """The instance id is the VMI uid: a VMI without one (not from the API) is refused at metadata.uid."""
    spec = vmi("- name: seed\n  cloudInitNoCloud: {userData: x}\n")
    spec.metadata.uid = ""
    with pytest.raises(VolumeError) as caught:
        prepare(tmp_path, spec)
    assert caught.value.field == "metadata.uid"
