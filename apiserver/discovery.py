"""Discovery, /version and /openapi/v2 documents, built from the resource registry.

Owns what clients learn about the API before they touch an object: `/api`
(APIVersions), `/apis` (APIGroupList), `/apis/<group>` (APIGroup), `/api/v1`
and `/apis/<group>/<version>` (APIResourceList, subresources included as
`virtualmachines/status` entries), `/version` (version.Info) and
`/openapi/v2` (Swagger 2.0, JSON or protobuf). The HTTP layer calls
`document(path, accept)` for GET requests and sends what it returns; nothing
here does I/O.

Client behaviour this relies on (client-go, kubectl 1.20 .. 1.32):

* Aggregated discovery: newer clients send
  `Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,
  ...;v=v2beta1;..., application/json` to `/api` and `/apis`, then look at the
  response's Content-Type: only `application/json` with those g/v/as
  parameters is read as aggregated. We always answer the unaggregated form
  with a plain `Content-Type: application/json`, and client-go then fetches
  each group-version's APIResourceList, as it does against older servers.
* `/openapi/v2`: client-go's `OpenAPISchema()` (kubectl's client-side
  validation for `apply`/`create`, and `explain` before 1.27) asks for
  `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf` and
  decodes the body as gnostic's `openapi.v2.Document` protobuf without looking
  at the Content-Type: a JSON answer fails to decode and `kubectl apply` stops
  with "error validating data". So when the Accept header names that media
  type the HTTP layer must send `openapi_v2_protobuf()` (see
  `wants_openapi_protobuf`) with `Content-Type:
  OPENAPI_V2_PROTOBUF_CONTENT_TYPE` (client-go parses the response's
  Content-Type, and the Accept spelling with "@" fails Go's mime parser:
  "mime: unexpected content after media subtype"); `document()` returns the
  JSON form for everything else. Each kind's definition is a loose `type: object` without
  `properties` (kubectl reads it as a map of anything, so no field is ever
  "unknown") with `x-kubernetes-group-version-kind` and
  `x-kubernetes-preserve-unknown-fields: true`.
* `/openapi/v3` is not served (404). kubectl >= 1.26 first asks it whether a
  kind's PATCH accepts `fieldValidation` (server-side validation); on any
  error other than "group-version not found" it falls back to the v2
  document, finds no `paths` there, and validates client-side against the
  loose v2 schema, which accepts every field.
"""

from __future__ import annotations

import json
import platform

from apiserver import resources

KUBERNETES_VERSION = "1.29.0"
VIRTNODE_VERSION = "0.1.0"
OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
# The Content-Type to answer it with: "@" is not a token character, and client-go rejects a
# response whose Content-Type it cannot parse; kube-apiserver sends this spelling.
OPENAPI_V2_PROTOBUF_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

_SUBRESOURCE_VERBS = {"status": ("get", "patch", "update"), "scale": ("get", "patch", "update")}
_SCALE = {"group": "autoscaling", "version": "v1", "kind": "Scale"}


def version_info(virtnode_version: str = VIRTNODE_VERSION, build_date: str = "") -> dict:
    """`/version`: a version.Info naming the Kubernetes API level and virtnode's version."""
    major, minor, _ = KUBERNETES_VERSION.split(".")
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(),
                                                         platform.machine().lower())
    return {
        "major": major,
        "minor": minor,
        "gitVersion": f"v{KUBERNETES_VERSION}-virtnode.{virtnode_version}",
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": build_date or "1970-01-01T00:00:00Z",
        "goVersion": f"{platform.python_implementation().lower()}{platform.python_version()}",
        "compiler": platform.python_implementation().lower(),
        "platform": f"{platform.system().lower()}/{machine}",
    }


def api_versions(server_address: str = "127.0.0.1:6443") -> dict:
    """`/api`: the core group's versions."""
    return {"kind": "APIVersions", "versions": resources.groups().get("", []),
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": server_address}]}


def api_group(group: str) -> dict | None:
    """`/apis/<group>`: its versions, the first in the registry preferred; None if not served."""
    versions = resources.groups().get(group) if group else None
    if not versions:
        return None
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": listed,
            "preferredVersion": listed[0]}


def api_group_list() -> dict:
    """`/apis`: every named group (the core group is served at /api instead)."""
    groups = [api_group(g) for g in resources.groups() if g]
    for g in groups:
        del g["kind"], g["apiVersion"]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _resource_entry(res: resources.Resource) -> dict:
    entry = {"name": res.plural, "singularName": res.singular, "namespaced": res.namespaced,
             "kind": res.kind, "verbs": list(res.verbs)}
    if res.short_names:
        entry["shortNames"] = list(res.short_names)
    if res.categories:
        entry["categories"] = list(res.categories)
    return entry


def _subresource_entry(res: resources.Resource, sub: str) -> dict:
    entry = {"name": f"{res.plural}/{sub}", "singularName": "", "namespaced": res.namespaced,
             "kind": res.kind, "verbs": list(_SUBRESOURCE_VERBS.get(sub, ("get",)))}
    if sub == "scale":
        entry.update(_SCALE)
    return entry


def api_resource_list(group: str, version: str) -> dict | None:
    """`/api/v1` or `/apis/<group>/<version>`; None if that group-version is not served."""
    served = [r for r in resources.RESOURCES if r.group == group and r.version == version]
    if not served:
        return None
    entries = []
    for res in served:
        entries.append(_resource_entry(res))
        entries.extend(_subresource_entry(res, sub) for sub in res.subresources)
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": served[0].api_version, "resources": entries}


def definition_name(res: resources.Resource) -> str:
    """The OpenAPI definition name Kubernetes gives the kind (io.kubevirt.v1.VirtualMachine)."""
    if not res.group:
        prefix = "io.k8s.api.core"
    elif res.group.endswith(".k8s.io"):
        prefix = "io.k8s.api." + res.group[:-len(".k8s.io")]
    else:
        prefix = ".".join(reversed(res.group.split(".")))
    return f"{prefix}.{res.version}.{res.kind}"


def _gvk(res: resources.Resource) -> list[dict]:
    return [{"group": res.group, "kind": res.kind, "version": res.version}]


def openapi_v2() -> dict:
    """`/openapi/v2` as JSON: one loose definition per kind, no paths."""
    definitions = {}
    for res in resources.RESOURCES:
        definitions[definition_name(res)] = {
            "description": f"{res.kind} ({res.api_version}); fields are not described here.",
            "type": "object",
            "x-kubernetes-group-version-kind": _gvk(res),
            "x-kubernetes-preserve-unknown-fields": True,
        }
    return {"swagger": "2.0",
            "info": {"title": "virtnode", "version": version_info()["gitVersion"]},
            "paths": {}, "definitions": definitions}


def wants_openapi_protobuf(accept_header: str | None) -> bool:
    """Whether a `/openapi/v2` request asks for gnostic protobuf (client-go always does)."""
    return any(clause.split(";")[0].strip().lower() == OPENAPI_V2_PROTOBUF.lower()
               for clause in (accept_header or "").split(","))


# --- gnostic openapi.v2.Document protobuf ----------------------------------------------------
# Field numbers from gnostic's openapiv2/OpenAPIv2.proto: Document{swagger=1, info=2,
# definitions=9}, Info{title=1, version=2}, Definitions{additional_properties=1},
# NamedSchema{name=1, value=2}, Schema{description=4, type=22, vendor_extension=31},
# TypeItem{value=1}, NamedAny{name=1, value=2}, Any{yaml=2}. Every field used is
# length-delimited (wire type 2).


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _named_any(name: str, value) -> bytes:
    # JSON is valid YAML; kubectl yaml-decodes Any.yaml.
    return _field(1, name) + _field(2, _field(2, json.dumps(value)))


def _schema_pb(schema: dict) -> bytes:
    out = _field(4, schema["description"]) + _field(22, _field(1, schema["type"]))
    for key, value in schema.items():
        if key.startswith("x-"):
            out += _field(31, _named_any(key, value))
    return out


def openapi_v2_protobuf() -> bytes:
    """`/openapi/v2` as a gnostic `openapi.v2.Document` protobuf, for client-go."""
    doc = openapi_v2()
    info = _field(1, doc["info"]["title"]) + _field(2, doc["info"]["version"])
    definitions = b"".join(_field(1, _field(1, name) + _field(2, _schema_pb(schema)))
                           for name, schema in doc["definitions"].items())
    return _field(1, doc["swagger"]) + _field(2, info) + _field(9, definitions)


# --- routing ---------------------------------------------------------------------------------


def document(path: str, accept: str = "") -> dict | None:
    """The JSON discovery document served at `path`, or None when `path` is not a discovery
    path. `accept` is read only to note that aggregated discovery is never answered (see the
    module docstring): the caller sends the result as plain `application/json`."""
    del accept
    parts = [p for p in path.split("/") if p]
    if parts == ["version"]:
        return version_info()
    if parts == ["openapi", "v2"]:
        return openapi_v2()
    if parts == ["api"]:
        return api_versions()
    if parts == ["apis"]:
        return api_group_list()
    if len(parts) == 2 and parts[0] == "api":
        return api_resource_list("", parts[1])
    if len(parts) == 2 and parts[0] == "apis":
        return api_group(parts[1])
    if len(parts) == 3 and parts[0] == "apis":
        return api_resource_list(parts[1], parts[2])
    return None
