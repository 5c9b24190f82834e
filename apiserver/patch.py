"""PATCH bodies: JSON merge patch, JSON patch and a strategic merge subset.

Owns turning (current object, patch body, patch content type) into the new
object. The HTTP layer calls `apply(content_type, target, patch, resource)`
and maps the errors raised here to Kubernetes `Status` responses: every error
is a `PatchError` (a ValueError) carrying the HTTP status that kube-apiserver
answers for that failure. Nothing here does I/O, decodes bytes or touches the
store; objects are plain JSON values (dict, list, str, int, float, bool, None)
and are never modified in place.

Patch types, and what kubectl sends (kubectl 1.20 .. 1.32):

* `application/merge-patch+json` (RFC 7386): `kubectl patch --type merge`,
  and `kubectl label`/`annotate`/`apply` for kinds kubectl has no Go type
  for, i.e. every kubevirt.io kind.
* `application/json-patch+json` (RFC 6902): `kubectl patch --type json`.
* `application/strategic-merge-patch+json`: kube-apiserver refuses it for
  custom resources with 415, and so do we for every `typed` resource. For the
  built-in kinds we serve (namespaces, nodes, events, PVCs, leases) kubectl
  sends it from `cordon`/`uncordon`/`drain` (`{"spec":{"unschedulable":true}}`
  to a Node), `label`, `annotate`, `apply` (with
  `$setElementOrder/...` and `$retainKeys` directives for lists it merges)
  and `patch` without `--type`. We implement the subset those need: merge
  patch semantics, plus lists merged by key where Kubernetes' Go types
  declare a `patchMergeKey` (`metadata.ownerReferences` by uid,
  `status.conditions`/`status.addresses` by type, `metadata.finalizers` as a
  merged set), and the directives `$patch: replace|delete|merge`,
  `$retainKeys`, `$setElementOrder/<list>` (only removed; order is not
  enforced) and `$deleteFromPrimitiveList/<list>`.
* `application/apply-patch+yaml` (server-side apply) is not implemented:
  415, naming the accepted types, so `kubectl apply --server-side` fails
  with a clear message rather than half-working.
"""

from __future__ import annotations

import copy
from typing import Any

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

_ACCEPTED_ALL = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH)
_ACCEPTED_TYPED = (JSON_PATCH, MERGE_PATCH)


class PatchError(ValueError):
    """A patch that cannot be applied; `status` is the HTTP status to answer."""

    status = 422
    reason = "Invalid"


class MalformedPatchError(PatchError):
    """The patch document itself is not a valid patch of its type."""

    status = 400
    reason = "BadRequest"


class JSONPatchError(PatchError):
    """A JSON patch operation failed; the message names its index, op and path."""

    def __init__(self, index: int, op: str, path: str, problem: str):
        super().__init__(f"Operation {index} ({op} {path!r}): {problem}")
        self.index = index
        self.op = op
        self.path = path
        self.problem = problem


class MalformedJSONPatchError(JSONPatchError, MalformedPatchError):
    """A JSON patch operation is missing members or has bad ones."""

    status = 400
    reason = "BadRequest"


class UnsupportedPatchTypeError(PatchError):
    """The patch content type is not accepted for this resource (415)."""

    status = 415
    reason = "UnsupportedMediaType"

    def __init__(self, content_type: str, accepted: tuple[str, ...]):
        super().__init__(
            "the body of the request was in an unknown format - accepted media types include: "
            + ", ".join(accepted))
        self.content_type = content_type
        self.accepted = accepted


def accepted_types(resource) -> tuple[str, ...]:
    """The patch content types served for `resource` (a resources.Resource)."""
    return _ACCEPTED_TYPED if resource.typed else _ACCEPTED_ALL


def apply(content_type: str, target: Any, patch: Any, resource) -> Any:
    """The patched copy of `target` for a PATCH with this (parameter-free) content type."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in accepted_types(resource):
        raise UnsupportedPatchTypeError(media, accepted_types(resource))
    if media == MERGE_PATCH:
        return merge_patch(target, patch)
    if media == JSON_PATCH:
        return json_patch(target, patch)
    return strategic_merge_patch(target, patch)


# --- RFC 7386 -------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null removes a member, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


# --- RFC 6902 -------------------------------------------------------------------------------


def parse_pointer(pointer: str) -> list[str]:
    """RFC 6901 reference tokens of `pointer` ("" is the whole document)."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError("a JSON pointer must be empty or start with '/'")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def format_pointer(tokens: list[str]) -> str:
    """The JSON pointer for `tokens` (inverse of parse_pointer)."""
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def _index(token: str, length: int, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return length
    if not token.isdigit() or (len(token) > 1 and token[0] == "0") or not token.isascii():
        raise LookupError(f"{token!r} is not an array index")
    i = int(token)
    if i > length or (i == length and not allow_end):
        raise LookupError(f"index {i} is out of range (length {length})")
    return i


def _resolve(doc: Any, tokens: list[str]) -> Any:
    for t in tokens:
        if isinstance(doc, dict):
            if t not in doc:
                raise LookupError(f"member {t!r} does not exist")
            doc = doc[t]
        elif isinstance(doc, list):
            doc = doc[_index(t, len(doc), allow_end=False)]
        else:
            raise LookupError(f"cannot descend into a {type(doc).__name__} with {t!r}")
    return doc


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _resolve(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(last, len(parent), allow_end=True), value)
    else:
        raise LookupError(f"parent is a {type(parent).__name__}, not an object or array")
    return doc


def _remove(doc: Any, tokens: list[str]) -> tuple[Any, Any]:
    if not tokens:
        raise LookupError("cannot remove the whole document")
    parent = _resolve(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise LookupError(f"member {last!r} does not exist")
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(last, len(parent), allow_end=False))
    raise LookupError(f"parent is a {type(parent).__name__}, not an object or array")


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: 1 == 1.0, but true != 1 and objects ignore member order."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _member(op: dict, index: int, name: str) -> Any:
    if name not in op:
        raise MalformedJSONPatchError(index, str(op.get("op")), str(op.get("path", "")),
                                      f"missing member {name!r}")
    return op[name]


def _pointer(op: dict, index: int, name: str) -> list[str]:
    value = _member(op, index, name)
    if not isinstance(value, str):
        raise MalformedJSONPatchError(index, str(op.get("op")), str(value),
                                      f"{name!r} must be a string")
    try:
        return parse_pointer(value)
    except ValueError as e:
        raise MalformedJSONPatchError(index, str(op.get("op")), value, str(e)) from None


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902: apply `operations` in order to a copy of `target`; all or nothing."""
    if not isinstance(operations, list):
        raise MalformedPatchError("A JSON patch must be an array of operations")
    doc = copy.deepcopy(target)
    for i, op in enumerate(operations):
        if not isinstance(op, dict):
            raise MalformedJSONPatchError(i, "?", "", "an operation must be an object")
        name = _member(op, i, "op")
        path = _pointer(op, i, "path")
        raw_path = op["path"]
        try:
            if name == "add":
                doc = _add(doc, path, copy.deepcopy(_member(op, i, "value")))
            elif name == "remove":
                doc, _ = _remove(doc, path)
            elif name == "replace":
                value = copy.deepcopy(_member(op, i, "value"))
                _resolve(doc, path)
                doc = value if not path else _replace(doc, path, value)
            elif name in ("move", "copy"):
                src = _pointer(op, i, "from")
                if name == "move":
                    if path[:len(src)] == src and len(path) > len(src):
                        raise LookupError("cannot move a value into one of its own children")
                    doc, value = _remove(doc, src)
                else:
                    value = copy.deepcopy(_resolve(doc, src))
                doc = _add(doc, path, value)
            elif name == "test":
                expected = _member(op, i, "value")
                if not json_equal(_resolve(doc, path), expected):
                    raise LookupError(f"value is not equal to {expected!r}")
            else:
                raise MalformedJSONPatchError(i, str(name), raw_path, "unknown operation")
        except LookupError as e:
            raise JSONPatchError(i, name, raw_path, str(e)) from None
    return doc


def _replace(doc: Any, tokens: list[str], value: Any) -> Any:
    parent = _resolve(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, list):
        parent[_index(last, len(parent), allow_end=False)] = value
    else:
        parent[last] = value
    return doc


# --- strategic merge patch (subset) ---------------------------------------------------------

_SET = "<set>"  # a list of scalars merged as a set, in order (patchStrategy=merge, no key)

# Field path (dotted, from the object root) -> merge key, for the lists of the built-in kinds we
# serve that Kubernetes' Go types mark patchStrategy=merge. Every other list is replaced.
MERGE_KEYS: dict[str, str] = {
    "metadata.ownerReferences": "uid",
    "metadata.finalizers": _SET,
    "status.conditions": "type",
    "status.addresses": "type",
    "spec.podCIDRs": _SET,
}

_DIRECTIVE_PATCH = "$patch"
_RETAIN_KEYS = "$retainKeys"
_ORDER_PREFIX = "$setElementOrder/"
_DELETE_PRIMITIVE_PREFIX = "$deleteFromPrimitiveList/"


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Kubernetes' strategic merge patch, for the lists and directives kubectl sends to built-ins."""
    if not isinstance(patch, dict):
        raise MalformedPatchError("A strategic merge patch must be a JSON object")
    return _smp_map(target if isinstance(target, dict) else {}, patch, "")


def _smp_map(target: dict, patch: dict, path: str) -> Any:
    directive = patch.get(_DIRECTIVE_PATCH)
    if directive == "delete":
        return None
    body = {k: v for k, v in patch.items() if k != _DIRECTIVE_PATCH}
    if directive == "replace":
        return _strip_directives(body)
    if directive not in (None, "merge"):
        raise MalformedPatchError(f"Unknown patch directive {directive!r} at {path or '/'}")
    out = dict(target)
    retain = body.pop(_RETAIN_KEYS, None)
    for key, value in body.items():
        if key.startswith(_ORDER_PREFIX):
            continue
        if key.startswith(_DELETE_PRIMITIVE_PREFIX):
            field = key[len(_DELETE_PRIMITIVE_PREFIX):]
            if not isinstance(value, list):
                raise MalformedPatchError(f"{key} at {path or '/'} must be a list")
            if isinstance(out.get(field), list):
                out[field] = [x for x in out[field] if x not in value]
            continue
        child = f"{path}.{key}" if path else key
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict):
            merged = _smp_map(out[key] if isinstance(out.get(key), dict) else {}, value, child)
            if merged is None:
                out.pop(key, None)
            else:
                out[key] = merged
        elif isinstance(value, list) and child in MERGE_KEYS and isinstance(out.get(key), list):
            out[key] = _smp_list(out[key], value, MERGE_KEYS[child], child)
        else:
            out[key] = _strip_directives(value)
    if retain is not None:
        if not isinstance(retain, list):
            raise MalformedPatchError(f"$retainKeys at {path or '/'} must be a list")
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _smp_list(current: list, patch: list, key: str, path: str) -> list:
    if key == _SET:
        return current + [x for x in patch if x not in current]
    if any(isinstance(x, dict) and x.get(_DIRECTIVE_PATCH) == "replace" for x in patch):
        return [_strip_directives(x) for x in patch
                if not (isinstance(x, dict) and x.get(_DIRECTIVE_PATCH) == "replace")]
    out = list(current)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise MalformedPatchError(f"Items of {path} must be objects with {key!r}")
        at = next((i for i, x in enumerate(out)
                   if isinstance(x, dict) and x.get(key) == item[key]), None)
        if item.get(_DIRECTIVE_PATCH) == "delete":
            if at is not None:
                del out[at]
        elif at is None:
            out.append(_strip_directives(item))
        else:
            out[at] = _smp_map(out[at], item, path)
    return out


def _strip_directives(value: Any) -> Any:
    """A copy of a patch value with its `$` directives and null members removed."""
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items()
                if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value
