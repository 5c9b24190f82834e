"""Discovery, /version and /openapi/v2: what kubectl and client-go read before any object."""

from __future__ import annotations

import json
import re

import yaml
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from apiserver import discovery, resources

AGGREGATED_ACCEPT = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                     "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
                     "application/json")


def test_api_lists_core_versions_with_server_address() -> None:
    """/api is an APIVersions with v1 and a server address for every client."""
    doc = discovery.document("/api", AGGREGATED_ACCEPT)
    assert doc["kind"] == "APIVersions" and doc["versions"] == ["v1"]
    assert doc["serverAddressByClientCIDRs"][0]["clientCIDR"] == "0.0.0.0/0"


def test_apis_lists_named_groups_with_preferred_versions() -> None:
    """/apis answers a plain APIGroupList (even to aggregated-discovery Accept headers)."""
    doc = discovery.document("/apis/", AGGREGATED_ACCEPT)
    assert doc["kind"] == "APIGroupList" and doc["apiVersion"] == "v1"
    names = [g["name"] for g in doc["groups"]]
    assert names == [g for g in resources.groups() if g] and "" not in names
    kubevirt = doc["groups"][names.index("kubevirt.io")]
    assert kubevirt["preferredVersion"] == {"groupVersion": "kubevirt.io/v1", "version": "v1"}
    assert kubevirt["versions"] == [kubevirt["preferredVersion"]]
    assert discovery.document("/apis/pool.kubevirt.io")["kind"] == "APIGroup"
    assert discovery.document("/apis/nope.io") is None


def test_resource_lists_name_every_resource_and_subresource() -> None:
    """Each served group-version lists its resources and their subresources with verbs."""
    seen = set()
    for group, versions in resources.groups().items():
        for version in versions:
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            doc = discovery.document(path)
            assert doc["kind"] == "APIResourceList"
            assert doc["groupVersion"] == (f"{group}/{version}" if group else version)
            by_name = {e["name"]: e for e in doc["resources"]}
            for e in doc["resources"]:
                assert {"name", "singularName", "namespaced", "kind", "verbs"} <= set(e)
            for res in resources.RESOURCES:
                if res.group != group or res.version != version:
                    continue
                seen.add(res.key)
                entry = by_name[res.plural]
                assert entry["singularName"] == res.singular and entry["kind"] == res.kind
                assert entry["namespaced"] == res.namespaced
                assert entry.get("shortNames", []) == list(res.short_names)
                assert "watch" in entry["verbs"] and "patch" in entry["verbs"]
                for sub in res.subresources:
                    assert by_name[f"{res.plural}/{sub}"]["verbs"] == ["get", "patch", "update"]
    assert seen == set(resources.BY_KEY)
    vms = discovery.document("/apis/kubevirt.io/v1")["resources"]
    assert next(e for e in vms if e["name"] == "virtualmachines")["categories"] == ["all"]
    pools = discovery.document("/apis/pool.kubevirt.io/v1beta1")["resources"]
    scale = next(e for e in pools if e["name"] == "virtualmachinepools/scale")
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    assert discovery.document("/apis/kubevirt.io/v2") is None
    assert discovery.document("/api/v2") is None
    assert discovery.document("/apis/kubevirt.io/v1/virtualmachines") is None


def test_version_info_is_a_kubernetes_version() -> None:
    """/version parses as client-go's version.Info: numeric major/minor, semver gitVersion."""
    info = discovery.document("/version")
    assert info["major"].isdigit() and info["minor"].isdigit()
    assert re.fullmatch(r"v\d+\.\d+\.\d+-virtnode\.\d+\.\d+\.\d+", info["gitVersion"])
    assert info["gitVersion"].startswith(f"v{info['major']}.{info['minor']}.")
    assert re.fullmatch(r"[a-z]+/[a-z0-9_]+", info["platform"])
    assert info["goVersion"].startswith(("cpython", "pypy"))


def test_openapi_v2_json_names_every_kind_loosely() -> None:
    """The Swagger document parses and has a loose definition with its GVK for every kind."""
    doc = json.loads(json.dumps(discovery.document("/openapi/v2")))
    assert doc["swagger"] == "2.0" and doc["paths"] == {}
    kinds = set()
    for definition in doc["definitions"].values():
        assert definition["type"] == "object" and "properties" not in definition
        assert definition["x-kubernetes-preserve-unknown-fields"] is True
        (gvk,) = definition["x-kubernetes-group-version-kind"]
        kinds.add((gvk["group"], gvk["version"], gvk["kind"]))
    assert kinds == {(r.group, r.version, r.kind) for r in resources.RESOURCES}
    assert "io.kubevirt.v1.VirtualMachine" in doc["definitions"]
    assert "io.k8s.api.core.v1.Node" in doc["definitions"]
    assert "io.k8s.api.coordination.v1.Lease" in doc["definitions"]


def _gnostic_document_class():
    """openapi.v2.Document with the fields we send, numbered as gnostic's OpenAPIv2.proto."""
    f = descriptor_pb2.FileDescriptorProto(name="openapiv2_subset.proto", package="openapi.v2",
                                           syntax="proto3")
    string, message = descriptor_pb2.FieldDescriptorProto.TYPE_STRING, \
        descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
    optional, repeated = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL, \
        descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
    shapes = {
        "Document": [("swagger", 1, string, None, optional), ("info", 2, message, "Info", optional),
                     ("definitions", 9, message, "Definitions", optional)],
        "Info": [("title", 1, string, None, optional), ("version", 2, string, None, optional)],
        "Definitions": [("additional_properties", 1, message, "NamedSchema", repeated)],
        "NamedSchema": [("name", 1, string, None, optional), ("value", 2, message, "Schema",
                                                               optional)],
        "Schema": [("description", 4, string, None, optional),
                   ("type", 22, message, "TypeItem", optional),
                   ("vendor_extension", 31, message, "NamedAny", repeated)],
        "TypeItem": [("value", 1, string, None, repeated)],
        "NamedAny": [("name", 1, string, None, optional), ("value", 2, message, "Any", optional)],
        "Any": [("yaml", 2, string, None, optional)],
    }
    for name, fields in shapes.items():
        m = f.message_type.add(name=name)
        for fname, number, ftype, type_name, label in fields:
            m.field.add(name=fname, number=number, type=ftype, label=label,
                        type_name=f".openapi.v2.{type_name}" if type_name else None)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("openapi.v2.Document"))


def test_openapi_v2_protobuf_decodes_as_gnostic_document() -> None:
    """The protobuf form decodes (with the real protobuf runtime) to the same kinds and GVKs."""
    doc = _gnostic_document_class()()
    doc.ParseFromString(discovery.openapi_v2_protobuf())
    assert doc.swagger == "2.0" and doc.info.title == "virtnode"
    as_json = discovery.openapi_v2()["definitions"]
    assert [d.name for d in doc.definitions.additional_properties] == list(as_json)
    for named in doc.definitions.additional_properties:
        assert list(named.value.type.value) == ["object"]
        extensions = {e.name: yaml.safe_load(e.value.yaml) for e in named.value.vendor_extension}
        assert extensions == {k: v for k, v in as_json[named.name].items() if k.startswith("x-")}


def test_openapi_protobuf_is_chosen_by_client_go_accept_header() -> None:
    """client-go's Accept for /openapi/v2 asks for protobuf; a browser's does not."""
    assert discovery.wants_openapi_protobuf(discovery.OPENAPI_V2_PROTOBUF)
    assert discovery.wants_openapi_protobuf(f"{discovery.OPENAPI_V2_PROTOBUF}, */*")
    assert not discovery.wants_openapi_protobuf("application/json")
    assert not discovery.wants_openapi_protobuf(None)
    # The answer's Content-Type must parse as Go's mime.ParseMediaType does (no "@").
    assert re.fullmatch(r"[\w.+-]+/[\w.+-]+", discovery.OPENAPI_V2_PROTOBUF_CONTENT_TYPE)


def test_unknown_paths_are_not_discovery() -> None:
    """Object paths fall through to the resource handlers."""
    assert discovery.document("/api/v1/namespaces") is None
    assert discovery.document("/apis/kubevirt.io/v1/namespaces/default/virtualmachines") is None
    assert discovery.document("/openapi/v3") is None
