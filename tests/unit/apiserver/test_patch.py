"""PATCH bodies: merge patch, JSON patch and the strategic merge subset kubectl sends to built-ins."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apiserver import patch, resources

NODE = resources.find("", "v1", "nodes")
VM = resources.find("kubevirt.io", "v1", "virtualmachines")

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.text(max_size=3))
_keys = st.sampled_from(["a", "b", "c", "~", "/", "x/y~z", ""])
json_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(_keys, inner, max_size=4)),
    max_leaves=12)
# Merge patch cannot set a member to null, so targets of a round trip hold no nulls.
_scalars_no_null = st.one_of(st.booleans(), st.integers(-10, 10), st.text(max_size=3))
json_values_no_null = st.recursive(
    _scalars_no_null,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(_keys, inner, max_size=4)),
    max_leaves=12)


def merge_diff(a, b):
    """The merge patch that turns a into b (b holds no nulls)."""
    if not isinstance(a, dict) or not isinstance(b, dict):
        return b
    out = {k: None for k in a if k not in b}
    for k, v in b.items():
        if k not in a:
            out[k] = v
        elif not patch.json_equal(a[k], v):
            out[k] = merge_diff(a[k], v) if isinstance(a[k], dict) and isinstance(v, dict) else v
    return out


def json_diff(a, b, path=()):
    """A JSON patch that turns a into b: members added, removed or replaced; arrays replaced."""
    if isinstance(a, dict) and isinstance(b, dict):
        ops = []
        for k in a:
            if k not in b:
                ops.append({"op": "remove", "path": patch.format_pointer([*path, k])})
        for k, v in b.items():
            if k not in a:
                ops.append({"op": "add", "path": patch.format_pointer([*path, k]), "value": v})
            else:
                ops.extend(json_diff(a[k], v, (*path, k)))
        return ops
    if patch.json_equal(a, b):
        return []
    return [{"op": "replace", "path": patch.format_pointer(list(path)), "value": b}]


@given(json_values, json_values_no_null)
def test_merge_patch_of_diff_gives_target(a, b) -> None:
    """merge_patch(a, diff(a, b)) == b for any JSON a and null-free object b."""
    if not isinstance(b, dict):
        b = {"v": b}
    before = copy.deepcopy(a)
    assert patch.json_equal(patch.merge_patch(a, merge_diff(a, b)), b)
    assert a == before


@given(json_values, json_values)
def test_json_patch_of_diff_gives_target(a, b) -> None:
    """A JSON patch of adds, removes and replaces turns a into b and leaves a untouched."""
    before = copy.deepcopy(a)
    assert patch.json_equal(patch.json_patch(a, json_diff(a, b)), b)
    assert a == before


@settings(max_examples=200)
@given(st.dictionaries(_keys, json_values, min_size=1), st.data())
def test_json_patch_add_then_remove_round_trips(doc, data) -> None:
    """Adding at a new member or array position and removing it again restores the document."""
    paths = []

    def walk(v, p):
        if isinstance(v, dict):
            paths.append((p, "new~/key"))
            for k, c in v.items():
                walk(c, [*p, k])
        elif isinstance(v, list):
            paths.extend((p, str(i)) for i in range(len(v) + 1))
            for i, c in enumerate(v):
                walk(c, [*p, str(i)])

    walk(doc, [])
    parent, last = data.draw(st.sampled_from(paths))
    pointer = patch.format_pointer([*parent, last])
    value = data.draw(json_values)
    added = patch.json_patch(doc, [{"op": "add", "path": pointer, "value": value},
                                   {"op": "test", "path": pointer, "value": value}])
    assert patch.json_patch(added, [{"op": "remove", "path": pointer}]) == doc
    moved = patch.json_patch(added, [{"op": "move", "from": pointer, "path": "/moved~1here"},
                                     {"op": "move", "from": "/moved~1here", "path": pointer}])
    assert moved == added


def test_json_patch_operations() -> None:
    """Each RFC 6902 operation, `-` for append and ~0/~1 escaping, on the RFC's own examples."""
    doc = {"a/b": 1, "m~n": 2, "list": [1, 2], "obj": {"x": 1}}
    out = patch.json_patch(doc, [
        {"op": "add", "path": "/list/-", "value": 3},
        {"op": "add", "path": "/list/0", "value": 0},
        {"op": "replace", "path": "/a~1b", "value": 10},
        {"op": "remove", "path": "/m~0n"},
        {"op": "copy", "from": "/obj", "path": "/copy"},
        {"op": "move", "from": "/obj/x", "path": "/obj/y"},
        {"op": "test", "path": "/list", "value": [0, 1, 2, 3.0]},
    ])
    assert out == {"a/b": 10, "list": [0, 1, 2, 3], "obj": {"y": 1}, "copy": {"x": 1}}
    assert patch.json_patch(doc, [{"op": "replace", "path": "", "value": [1]}]) == [1]


@pytest.mark.parametrize(("ops", "index", "words"), [
    ([{"op": "remove", "path": "/nope"}], 0, "does not exist"),
    ([{"op": "add", "path": "/a", "value": 1}, {"op": "add", "path": "/x/y", "value": 1}], 1,
     "does not exist"),
    ([{"op": "test", "path": "/a", "value": True}], 0, "not equal"),
    ([{"op": "replace", "path": "/l/2", "value": 1}], 0, "out of range"),
    ([{"op": "add", "path": "/l/01", "value": 1}], 0, "not an array index"),
    ([{"op": "move", "from": "/d", "path": "/d/e"}], 0, "its own children"),
])
def test_json_patch_failures_name_index_and_path(ops, index, words) -> None:
    """A failed operation raises a 422 error naming its index, op and path, and why."""
    with pytest.raises(patch.JSONPatchError) as e:
        patch.json_patch({"a": 1, "l": [1, 2], "d": {}}, ops)
    assert e.value.index == index and e.value.status == 422
    assert f"Operation {index}" in str(e.value) and ops[index]["path"] in str(e.value)
    assert words in str(e.value)


@pytest.mark.parametrize("ops", [
    {"op": "add"}, [{"op": "add", "path": "/a"}], [{"op": "frob", "path": "/a"}],
    [{"op": "add", "path": "a", "value": 1}], [{"path": "/a"}], ["add"],
    [{"op": "copy", "path": "/a"}],
])
def test_malformed_json_patch_is_a_bad_request(ops) -> None:
    """A patch that is not a list of well-formed operations is a 400, not a 422."""
    with pytest.raises(patch.MalformedPatchError) as e:
        patch.json_patch({"a": 1}, ops)
    assert e.value.status == 400


def test_merge_patch_rfc7386_examples() -> None:
    """The RFC 7386 appendix examples (a selection)."""
    assert patch.merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert patch.merge_patch({"a": "b"}, {"a": None}) == {}
    assert patch.merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert patch.merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert patch.merge_patch("x", {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}
    assert patch.merge_patch({"a": "foo"}, "bar") == "bar"


def test_cordon_is_a_strategic_merge_patch_to_a_node() -> None:
    """kubectl cordon's patch sets spec.unschedulable and keeps the rest of the node."""
    node = {"metadata": {"name": "n1", "labels": {"a": "b"}}, "spec": {"podCIDR": "10.0.0.0/24"}}
    out = patch.apply("application/strategic-merge-patch+json", node,
                      {"spec": {"unschedulable": True}}, NODE)
    assert out["spec"] == {"podCIDR": "10.0.0.0/24", "unschedulable": True}
    out = patch.apply("application/strategic-merge-patch+json", out,
                      {"spec": {"unschedulable": None}}, NODE)
    assert out["spec"] == {"podCIDR": "10.0.0.0/24"}


def test_strategic_merge_lists_by_key_and_directives() -> None:
    """Conditions merge by type, finalizers as a set, other lists replace; directives apply."""
    node = {"metadata": {"finalizers": ["a"], "labels": {"x": "1", "y": "2"}},
            "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]},
            "status": {"conditions": [{"type": "Ready", "status": "False"},
                                      {"type": "DiskPressure", "status": "False"}]}}
    out = patch.strategic_merge_patch(node, {
        "metadata": {"finalizers": ["b", "a"], "labels": {"x": None},
                     "$setElementOrder/finalizers": ["a", "b"]},
        "spec": {"taints": [{"key": "j", "effect": "NoExecute"}]},
        "status": {"conditions": [{"type": "Ready", "status": "True"},
                                  {"type": "DiskPressure", "$patch": "delete"},
                                  {"type": "PIDPressure", "status": "False"}]},
    })
    assert out["metadata"] == {"finalizers": ["a", "b"], "labels": {"y": "2"}}
    assert out["spec"]["taints"] == [{"key": "j", "effect": "NoExecute"}]
    assert out["status"]["conditions"] == [{"type": "Ready", "status": "True"},
                                           {"type": "PIDPressure", "status": "False"}]
    out = patch.strategic_merge_patch(node, {
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]},
        "spec": {"$patch": "replace", "unschedulable": True},
        "status": {"$retainKeys": ["phase"], "phase": "Running"}})
    assert out["metadata"]["finalizers"] == [] and out["spec"] == {"unschedulable": True}
    assert out["status"] == {"phase": "Running"}
    assert "status" not in patch.strategic_merge_patch(node, {"status": {"$patch": "delete"}})


def test_typed_resources_refuse_strategic_merge_like_crds() -> None:
    """kubevirt.io kinds answer 415 for strategic merge and server-side apply, naming the types."""
    with pytest.raises(patch.UnsupportedPatchTypeError) as e:
        patch.apply("application/strategic-merge-patch+json", {}, {}, VM)
    assert e.value.status == 415
    assert str(e.value) == ("the body of the request was in an unknown format - accepted media "
                            "types include: application/json-patch+json, "
                            "application/merge-patch+json")
    with pytest.raises(patch.UnsupportedPatchTypeError):
        patch.apply("application/apply-patch+yaml", {}, {}, NODE)
    vm = {"metadata": {"labels": {"a": "b"}}}
    assert patch.apply("application/merge-patch+json; charset=utf-8", vm,
                       {"metadata": {"labels": {"c": "d"}}}, VM) == {
        "metadata": {"labels": {"a": "b", "c": "d"}}}


def test_json_equal_distinguishes_booleans_from_numbers() -> None:
    """JSON equality: 1 == 1.0, true != 1, member order does not matter."""
    assert patch.json_equal({"a": 1, "b": [1.0]}, {"b": [1], "a": 1.0})
    assert not patch.json_equal(True, 1)
    assert not patch.json_equal([0], [False])
