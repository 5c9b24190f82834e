"""`as=Table` responses: JSONPath columns, cells as kube-apiserver renders them, negotiation."""

from __future__ import annotations

import datetime

import pytest

from apiserver import resources, tables

NOW = datetime.datetime(2024, 5, 10, 12, 0, 0, tzinfo=datetime.timezone.utc)
VMI = resources.find("kubevirt.io", "v1", "virtualmachineinstances")
POOL = resources.find("pool.kubevirt.io", "v1beta1", "virtualmachinepools")

SAMPLE = {
    "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
    "metadata": {"name": "vm1", "namespace": "default", "uid": "u1", "resourceVersion": "7",
                 "creationTimestamp": "2024-05-08T09:00:00Z", "labels": {"a": "b"}},
    "spec": {"replicas": 3, "vmiName": "vm1", "holderIdentity": "x"},
    "status": {"phase": "Running", "nodeName": "node1", "replicas": 2, "readyReplicas": 1,
               "interfaces": [{"ipAddress": "10.0.2.2"}],
               "conditions": [{"type": "Paused", "status": "False"},
                              {"type": "Ready", "status": "True"}]},
}


def test_every_registry_column_compiles_and_evaluates() -> None:
    """Each printer column in the registry is in the supported subset and evaluates on a sample."""
    tables.check_registry()
    for res in resources.RESOURCES:
        for column in res.columns:
            tables.column_path(column).evaluate(SAMPLE)
            tables.column_path(column).evaluate({})


@pytest.mark.parametrize(("path", "value"), [
    (".status.phase", "Running"),
    ("{.status.interfaces[0].ipAddress}", "10.0.2.2"),
    (".status.conditions[?(@.type=='Ready')].status", "True"),
    ('.status.conditions[?(@.type!="Ready")].status', "False"),
    (".status.conditions[1].type", "Ready"),
    (".metadata.labels['a']", "b"),
    ("$.spec.replicas", 3),
    (".status.conditions[?(@.type=='Missing')].status", None),
    (".status.interfaces[5].ipAddress", None),
    (".status.phase.deeper", None),
    (".nope.nothing", None),
])
def test_jsonpath_subset(path: str, value) -> None:
    """Fields, indexes, quoted keys and equality filters; anything missing is None."""
    assert tables.compile_path(path).evaluate(SAMPLE) == value


@pytest.mark.parametrize("path", [
    "", "status.phase", ".status[*].x", ".a..b", ".a[-1]", ".a[0:2]",
    ".a[?(@.x>1)]", "{range .items[*]}{.x}{end}",
])
def test_unsupported_jsonpath_is_rejected_at_compile_time(path: str) -> None:
    """Syntax outside the subset raises UnsupportedJSONPathError naming the expression."""
    with pytest.raises(tables.UnsupportedJSONPathError) as e:
        tables.compile_path(path)
    assert repr(path) in str(e.value)


def test_check_registry_names_a_bad_column() -> None:
    """A registry column with unsupported syntax fails the check."""
    bad = resources.Resource("x.io", "v1", "X", "xs", "x", True,
                             columns=(resources.Column("Bad", "string", ".a[*].b"),))
    with pytest.raises(tables.UnsupportedJSONPathError, match=r"\.a\[\*\]\.b"):
        tables.check_registry((bad,))


@pytest.mark.parametrize(("seconds", "text"), [
    (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (119, "119s"), (120, "2m"), (303, "5m3s"),
    (600, "10m"), (179 * 60, "179m"), (3 * 3600 + 5 * 60, "3h5m"), (8 * 3600, "8h"),
    (47 * 3600, "47h"), (51 * 3600, "2d3h"), (3 * 86400, "3d"), (30 * 86400, "30d"),
    (800 * 86400, "2y70d"), (9 * 365 * 86400, "9y"),
])
def test_human_duration_matches_kubernetes(seconds: int, text: str) -> None:
    """Ages read as in kubectl against a real cluster (apimachinery's HumanDuration)."""
    assert tables.human_duration(seconds) == text


def test_table_for_vmis() -> None:
    """A Table with Name first, dates as ages, first filter match and PartialObjectMetadata rows."""
    out = tables.table(VMI, [SAMPLE, {"metadata": {"name": "bare"}}], wide=True,
                       resource_version=42, continue_token="abc", now=NOW)
    assert out["kind"] == "Table" and out["apiVersion"] == "meta.k8s.io/v1"
    assert out["metadata"] == {"resourceVersion": "42", "continue": "abc"}
    names = [c["name"] for c in out["columnDefinitions"]]
    assert names == ["Name", "Age", "Phase", "IP", "NodeName", "Ready", "Live-Migratable",
                     "Paused"]
    first = out["columnDefinitions"][0]
    assert first["format"] == "name" and first["type"] == "string" and first["priority"] == 0
    assert out["columnDefinitions"][1]["type"] == "date"
    assert [c["priority"] for c in out["columnDefinitions"]][-2:] == [1, 1]
    assert all(set(c) == {"name", "type", "format", "description", "priority"}
               for c in out["columnDefinitions"])
    assert out["rows"][0]["cells"] == ["vm1", "2d3h", "Running", "10.0.2.2", "node1", "True",
                                       None, "False"]
    assert out["rows"][1]["cells"] == ["bare", None, None, None, None, None, None, None]
    assert out["rows"][0]["object"] == {"kind": "PartialObjectMetadata",
                                        "apiVersion": "meta.k8s.io/v1",
                                        "metadata": SAMPLE["metadata"]}


def test_table_options() -> None:
    """Narrow tables drop priority columns; includeObject None/Object; v1beta1; no headers."""
    narrow = tables.table(VMI, [SAMPLE], wide=False, include_object="Object",
                          resource_version="1", version="v1beta1", now=NOW)
    assert len(narrow["columnDefinitions"]) == len(narrow["rows"][0]["cells"]) == 6
    assert narrow["rows"][0]["object"] is SAMPLE
    assert narrow["apiVersion"] == "meta.k8s.io/v1beta1" and "continue" not in narrow["metadata"]
    bare = tables.table(VMI, [SAMPLE], include_object="None", resource_version="1",
                        no_headers=True, now=NOW)
    assert "columnDefinitions" not in bare and bare["rows"][0]["object"] is None
    with pytest.raises(ValueError):
        tables.table(VMI, [], include_object="All", resource_version="1")


def test_cells_follow_column_types() -> None:
    """integer columns give integers, string columns text, bad dates "<invalid>"."""
    out = tables.table(POOL, [SAMPLE], resource_version="1", now=NOW)
    assert out["rows"][0]["cells"] == ["vm1", 3, 2, 1, "2d3h"]
    assert tables.cell("integer", "3", NOW) is None
    assert tables.cell("integer", 3.0, NOW) == 3
    assert tables.cell("string", 5, NOW) == "5"
    assert tables.cell("string", True, NOW) == "true"
    assert tables.cell("string", {"b": 1, "a": [2]}, NOW) == '{"a":[2],"b":1}'
    assert tables.cell("boolean", True, NOW) is True
    assert tables.cell("date", "yesterday", NOW) == "<invalid>"
    assert tables.cell("date", "2024-05-10T11:59:30.5+00:00", NOW) == "29s"


@pytest.mark.parametrize(("accept", "wanted"), [
    ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;"
     "g=meta.k8s.io,application/json", (True, "v1")),
    ("application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json", (True, "v1beta1")),
    ("application/json; as=Table; g=meta.k8s.io; v=v1", (True, "v1")),
    ("application/json", (False, "")),
    ("", (False, "")),
    (None, (False, "")),
    ("*/*", (False, "")),
    ("application/json;as=Table;v=v2;g=meta.k8s.io, application/json", (False, "")),
    ("application/json;as=Table;v=v1;g=other.io, application/json", (False, "")),
    ("application/json;q=0.5, application/json;as=Table;v=v1;g=meta.k8s.io", (True, "v1")),
    ("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io, application/json",
     (False, "")),
    ("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,"
     "application/json;as=Table;v=v1;g=meta.k8s.io", (True, "v1")),
])
def test_wants_table(accept, wanted) -> None:
    """kubectl's Accept header selects a Table; plain JSON (or an unknown form) does not."""
    assert tables.wants_table(accept) == wanted
