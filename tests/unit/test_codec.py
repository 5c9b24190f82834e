"""The codec: KubeVirt manifests decode exactly, every problem names its path, round trips are lossless."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import yaml
from google.protobuf.descriptor import FieldDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protos import codec
from protos.errors import FIELD_VALUE_UNKNOWN, DecodeError, UnknownKindError
from protos.kubevirt.v1 import vm_pb2, vmi_pb2

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples" / "kubevirt").glob("*.yaml"))


def vmi(spec: dict | None = None, **top) -> dict:
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
           "metadata": {"name": "t"}, "spec": spec if spec is not None else {"domain": {"devices": {}}}}
    doc.update(top)
    return doc


def causes_of(doc_or_text) -> dict[str, str]:
    with pytest.raises(DecodeError) as e:
        if isinstance(doc_or_text, str):
            codec.load_documents(doc_or_text)
        else:
            codec.decode(doc_or_text)
    return {c.field: c.message for c in e.value.causes}


def without_nulls(value):
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


@pytest.mark.parametrize("manifest", EXAMPLES, ids=lambda p: p.name)
def test_documented_manifests_round_trip_unchanged(manifest: Path) -> None:
    """decode -> encode gives back the manifest (null being absent, as in Kubernetes)."""
    docs = [d for d in yaml.safe_load_all(manifest.read_text()) if d]
    objects = codec.load_documents(manifest.read_text(), source=manifest.name)
    assert [codec.encode(o) for o in objects] == [without_nulls(d) for d in docs]


def test_unknown_field_names_its_full_path_and_the_known_fields() -> None:
    doc = vmi({"domain": {"devices": {"disks": [{"name": "a", "disk": {}},
                                                 {"name": "b", "disk": {"buss": "virtio"}}]}}})
    causes = causes_of(doc)
    message = causes["spec.domain.devices.disks[1].disk.buss"]
    assert 'did you mean "bus"?' in message and "pciAddress" in message


def test_kubevirt_field_not_supported_yet_says_so() -> None:
    causes = causes_of(vmi({"domain": {"devices": {}, "launchSecurity": {"sev": {}}}}))
    assert "does not support yet" in causes["spec.domain.launchSecurity"]


def test_every_problem_is_reported_at_once() -> None:
    doc = vmi({"domain": {"devices": {"disks": [{"name": 5}], "autoattachGraphicsDevice": "no"},
                          "cpu": {"cores": -1}, "resources": {"requests": {"memory": "4GB"}}},
               "terminationGracePeriodSeconds": "30", "volumes": {"name": "x"}, "bogus": 1})
    causes = causes_of(doc)
    assert set(causes) == {
        "spec.domain.devices.disks[0].name", "spec.domain.devices.autoattachGraphicsDevice",
        "spec.domain.cpu.cores", "spec.domain.resources.requests[memory]",
        "spec.terminationGracePeriodSeconds", "spec.volumes", "spec.bogus"}
    assert causes["spec.domain.devices.disks[0].name"] == "must be a string, got the number 5"
    assert "between 0 and 4294967295" in causes["spec.domain.cpu.cores"]
    assert "'4GB' is not a quantity" in causes["spec.domain.resources.requests[memory]"]
    assert causes["spec.volumes"] == "must be a list, got an object"


def test_yaml_1_2_booleans_yes_is_a_string() -> None:
    """`running: yes` is the string "yes" in Kubernetes, so it is an error, not true."""
    text = "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: v}\nspec:\n  running: yes\n"
    assert causes_of(text) == {"spec.running": 'must be a boolean (true or false), got the string "yes"'}
    ok = codec.load_documents(text.replace("yes", "True"))[0]
    assert ok.spec.running is True


def test_unquoted_timestamps_stay_strings() -> None:
    text = ("apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: v\n"
            "  creationTimestamp: 2026-11-23T10:00:00Z\n")
    assert codec.load_documents(text)[0].metadata.creation_timestamp == "2026-11-23T10:00:00Z"


def test_duplicate_keys_are_an_error_with_the_line() -> None:
    text = "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: a\n  name: b\n"
    (message,) = causes_of(text).values()
    assert 'duplicate key "name"' in message and "line 5" in message


def test_invalid_yaml_names_line_and_column() -> None:
    (message,) = causes_of("apiVersion: kubevirt.io/v1\nkind: [VirtualMachine\n").values()
    assert message.startswith("not valid YAML or JSON at line")


def test_zero_values_and_empty_objects_survive() -> None:
    """`running: false`, `bootOrder: 0` and `masquerade: {}` are kept as written."""
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "z"},
           "spec": {"running": False, "template": {"spec": {
               "domain": {"devices": {"disks": [{"name": "d", "bootOrder": 0, "disk": {}}],
                                      "interfaces": [{"name": "default", "masquerade": {}}]}},
               "networks": [{"name": "default", "pod": {}}]}}}}
    msg = codec.decode(doc)
    assert msg.spec.HasField("running") and msg.spec.running is False
    assert msg.spec.template.spec.domain.devices.interfaces[0].HasField("masquerade")
    assert codec.encode(msg) == doc


def test_null_means_absent() -> None:
    msg = codec.decode(vmi({"domain": {"devices": {}, "cpu": None}, "hostname": None}))
    assert not msg.spec.domain.HasField("cpu") and not msg.spec.HasField("hostname")


def test_quantities_keep_their_text_strings_and_numbers() -> None:
    msg = codec.decode(vmi({"domain": {"devices": {}, "resources": {
        "requests": {"memory": "1.5Gi", "cpu": 2}, "limits": {"cpu": 0.5}}}}))
    res = codec.encode(msg)["spec"]["domain"]["resources"]
    assert res == {"requests": {"memory": "1.5Gi", "cpu": "2"}, "limits": {"cpu": "0.5"}}


def test_int_or_string_and_free_form_fields() -> None:
    doc = {"apiVersion": "pool.kubevirt.io/v1beta1", "kind": "VirtualMachinePool",
           "metadata": {"name": "p", "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]},
           "spec": {"replicas": 2}}
    assert codec.encode(codec.decode(doc)) == doc
    probe = {"readinessProbe": {"httpGet": {"port": "http"}},
             "livenessProbe": {"tcpSocket": {"port": 22}}}
    enc = codec.encode(codec.decode(vmi({"domain": {"devices": {}}, **probe})))["spec"]
    assert enc["readinessProbe"]["httpGet"]["port"] == "http"
    assert enc["livenessProbe"]["tcpSocket"]["port"] == 22


def test_map_values_are_checked_with_the_key_in_the_path() -> None:
    causes = causes_of(vmi(metadata={"name": "t", "labels": {"app": "web", "tier": 3}}))
    assert causes == {"metadata.labels[tier]": "must be a string, got the number 3"}


def test_apiversion_and_kind_are_required_and_must_be_served() -> None:
    assert set(causes_of({"metadata": {}})) == {"apiVersion", "kind"}
    with pytest.raises(UnknownKindError) as e:
        codec.decode({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstanceReplicaSet"})
    assert "kubevirt.io/v1/VirtualMachine" in str(e.value)


def test_multi_document_streams_and_lists() -> None:
    one = json.dumps(vmi())
    text = f"---\n{one}\n---\n---\n{one}\n"
    assert len(codec.load_documents(text)) == 2
    as_list = json.dumps({"apiVersion": "v1", "kind": "List", "items": [vmi(), vmi()]})
    assert len(codec.load_documents(as_list)) == 2
    assert codec.load_documents("---\n") == []
    bad = f"{one}\n---\napiVersion: kubevirt.io/v1\nkind: VirtualMachine\nspec: {{runing: true}}\n"
    assert causes_of(bad) == {"[doc 2] spec.runing": pytest.approx(causes_of(bad)["[doc 2] spec.runing"])}
    assert 'did you mean "running"?' in causes_of(bad)["[doc 2] spec.runing"]


def test_unknown_fields_carry_the_kubernetes_reason() -> None:
    with pytest.raises(DecodeError) as e:
        codec.decode(vmi(extra=1))
    assert [c.reason for c in e.value.causes] == [FIELD_VALUE_UNKNOWN]


def test_dump_yaml_writes_user_data_as_a_block_and_reads_back() -> None:
    user_data = "#cloud-config\npassword: fedora\nchpasswd: { expire: False }\n"
    msg = codec.decode(vmi({"domain": {"devices": {}}, "volumes": [
        {"name": "c", "cloudInitNoCloud": {"userData": user_data}}]}))
    text = codec.dump_yaml([msg, msg])
    assert "userData: |\n" in text and text.count("---") == 2
    assert codec.load_documents(text) == [msg, msg]


def test_dump_json_of_several_objects_is_a_list() -> None:
    msg = codec.decode(vmi())
    assert json.loads(codec.dump_json(msg)) == vmi()
    assert json.loads(codec.dump_json([msg, msg]))["kind"] == "List"


def test_json_names_are_kubevirts_where_protoc_would_differ() -> None:
    doc = vmi({"domain": {"devices": {"autoattachVSOCK": True,
                                      "disks": [{"name": "d", "dedicatedIOThread": True}]},
                          "ioThreadsPolicy": "auto"}})
    assert codec.encode(codec.decode(doc)) == doc


# --- lossless round trip of arbitrary objects -------------------------------------------

_SCALARS = {
    FieldDescriptor.TYPE_STRING: st.text(max_size=8),
    FieldDescriptor.TYPE_BOOL: st.booleans(),
    FieldDescriptor.TYPE_INT32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: st.integers(0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: st.integers(0, 2**64 - 1),
}
_QUANTITIES = st.sampled_from(["1Gi", "500m", "2", "1.5Gi", "128974848", "1e3"])


def _value(field, depth):
    if field.type != FieldDescriptor.TYPE_MESSAGE:
        return _SCALARS[field.type]
    name = field.message_type.full_name
    if name.endswith(".Quantity"):
        return _QUANTITIES
    if name.endswith(".IntOrString"):
        return st.one_of(st.integers(0, 65535), st.text(min_size=1, max_size=5))
    if name == "google.protobuf.Struct":
        return st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2)
    return _object(field.message_type, depth + 1)


@functools.lru_cache(maxsize=None)
def _object(descriptor, depth=0):
    if depth > 5:
        return st.just({})
    parts = {}
    for f in descriptor.fields:
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            parts[f.json_name] = st.dictionaries(st.text(min_size=1, max_size=5),
                                                 _value(f.message_type.fields_by_name["value"], depth),
                                                 min_size=1, max_size=2)
        elif f.label == FieldDescriptor.LABEL_REPEATED:
            parts[f.json_name] = st.lists(_value(f, depth), min_size=1, max_size=2)
        else:
            parts[f.json_name] = _value(f, depth)
    names = sorted(parts)
    if not names:
        return st.just({})
    return st.lists(st.sampled_from(names), unique=True, max_size=4).flatmap(
        lambda chosen: st.fixed_dictionaries({n: parts[n] for n in chosen}))


@pytest.mark.parametrize("cls", [vm_pb2.VirtualMachine, vmi_pb2.VirtualMachineInstance])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_object_round_trips_losslessly(cls, data) -> None:
    """For arbitrary documents of the model, encode(decode(doc)) == doc, key for key."""
    doc = data.draw(_object(cls.DESCRIPTOR))
    assert codec.encode(codec.decode_as(cls, doc)) == doc
