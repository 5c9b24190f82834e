"""`as=Table` responses: the rows and columns `kubectl get` prints.

Owns Accept-header negotiation for tables, the JSONPath subset that printer
columns use, and building `meta.k8s.io/v1` (or v1beta1) `Table` objects from
a resource's `Column`s. The HTTP layer calls `wants_table` on GET/LIST/WATCH
requests and `table` with the objects it read from the store; nothing here
does I/O.

Behaviour follows kube-apiserver's table convertor for custom resources:

* the first column is always `Name` (type string, format "name": kubectl uses
  that format to find the name for `--show-kind`); kubectl adds NAMESPACE
  itself with `-A`, reading it from each row's object, which is why rows carry
  a PartialObjectMetadata by default;
* every column is sent with its priority and kubectl hides priority > 0
  unless `-o wide` (kubectl does not tell the server about `-o wide`, so the
  HTTP layer must pass `wide=True` for kubectl; `wide=False` drops those
  columns for other callers);
* column `type` and `format` are sent as the registry has them (a CRD's
  `date` column has type "date" and no format);
* `date` cells are rendered by the server as ages ("5m", "2d3h", Kubernetes'
  HumanDuration; kubectl prints cells as sent, it never converts dates),
  "<invalid>" for a bad timestamp; `string` cells are the JSONPath result as
  text (containers as compact JSON), `integer`/`number`/`boolean` cells the
  value when it has that type, and missing values are null (kubectl shows
  "<none>").

JSONPath subset: `.a.b`, `.a[0].b`, `['a.b']`, and filters
`[?(@.type=='Ready')]` (== or !=, string or number literal, @ followed by a
field path); the first match wins. Anything else raises
`UnsupportedJSONPathError` when the path is compiled; every column of
`resources.RESOURCES` is compiled when this module is imported.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from typing import Any

from apiserver import resources

TABLE_VERSIONS = ("v1", "v1beta1")
INCLUDE_OBJECT = ("None", "Metadata", "Object")

_NAME_DESCRIPTION = ("Name must be unique within a namespace. Is required when creating "
                     "resources. Cannot be updated.")


class UnsupportedJSONPathError(ValueError):
    """A printer column's JSONPath uses syntax outside the supported subset."""

    def __init__(self, expression: str, position: int, problem: str):
        super().__init__(f"Unsupported JSONPath {expression!r} at offset {position}: {problem}")
        self.expression = expression
        self.position = position


# --- JSONPath subset ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    name: str


@dataclass(frozen=True)
class _Index:
    index: int


@dataclass(frozen=True)
class _Filter:
    path: tuple            # of _Field/_Index, evaluated on each element
    negate: bool
    literal: Any


_FIELD = re.compile(r"\.([A-Za-z0-9_\-$]+)")
_QUOTED_FIELD = re.compile(r"\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]")
_INDEX = re.compile(r"\[\s*(\d+)\s*\]")
_FILTER = re.compile(
    r"\[\?\(\s*@((?:\.[A-Za-z0-9_\-$]+|\[\d+\])+)\s*(==|!=)\s*"
    r"('[^']*'|\"[^\"]*\"|-?\d+(?:\.\d+)?)\s*\)\]")


@dataclass(frozen=True)
class JSONPath:
    """A compiled printer-column path; `evaluate(obj)` is its first match, or None."""

    expression: str
    steps: tuple

    def evaluate(self, obj: Any) -> Any:
        matches = _walk([obj], self.steps)
        return matches[0] if matches else None


def compile_path(expression: str) -> JSONPath:
    """Compile a printer-column JSONPath (with or without surrounding `{}`)."""
    text = expression.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    if not text:
        raise UnsupportedJSONPathError(expression, 0, "empty path")
    return JSONPath(expression, _parse_steps(expression, text, allow_filter=True))


def _parse_steps(expression: str, text: str, *, allow_filter: bool) -> tuple:
    steps: list = []
    pos = 0
    while pos < len(text):
        if m := _FIELD.match(text, pos):
            steps.append(_Field(m.group(1)))
        elif m := _QUOTED_FIELD.match(text, pos):
            steps.append(_Field(m.group(1) if m.group(1) is not None else m.group(2)))
        elif m := _INDEX.match(text, pos):
            steps.append(_Index(int(m.group(1))))
        elif allow_filter and (m := _FILTER.match(text, pos)):
            literal_text = m.group(3)
            if literal_text[0] in "'\"":
                literal: Any = literal_text[1:-1]
            else:
                literal = float(literal_text) if "." in literal_text else int(literal_text)
            steps.append(_Filter(_parse_steps(expression, m.group(1), allow_filter=False),
                                 m.group(2) == "!=", literal))
        else:
            raise UnsupportedJSONPathError(expression, pos, f"cannot parse {text[pos:]!r}")
        pos = m.end()
    return tuple(steps)


def _walk(values: list, steps: tuple) -> list:
    for step in steps:
        out = []
        for v in values:
            if isinstance(step, _Field):
                if isinstance(v, dict) and step.name in v:
                    out.append(v[step.name])
            elif isinstance(step, _Index):
                if isinstance(v, list) and step.index < len(v):
                    out.append(v[step.index])
            elif isinstance(v, list):
                for item in v:
                    found = _walk([item], step.path)
                    equal = bool(found) and _literal_equal(found[0], step.literal)
                    if found and equal != step.negate:
                        out.append(item)
        values = out
    return values


def _literal_equal(value: Any, literal: Any) -> bool:
    if isinstance(literal, str):
        return value == literal
    return not isinstance(value, bool) and isinstance(value, (int, float)) and value == literal


# --- cells ----------------------------------------------------------------------------------


def human_duration(seconds: float) -> str:
    """Kubernetes' HumanDuration: about two significant figures ("45s", "5m3s", "2d3h", "3y")."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // 24 // 365, (hours // 24) % 365
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"


def parse_timestamp(text: str) -> datetime.datetime:
    """An RFC 3339 timestamp as metav1.Time accepts it ("2024-01-02T03:04:05Z")."""
    value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone")
    return value


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def cell(column_type: str, value: Any, now: datetime.datetime) -> Any:
    """The table cell for a column of `column_type` whose JSONPath gave `value`."""
    if value is None:
        return None
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if column_type == "string":
        return _text(value)
    if column_type == "integer":
        return int(value) if is_number else None
    if column_type == "number":
        return float(value) if is_number else None
    if column_type == "boolean":
        return value if isinstance(value, bool) else None
    if column_type == "date":
        if not isinstance(value, str):
            return None
        try:
            return human_duration((now - parse_timestamp(value)).total_seconds())
        except ValueError:
            return "<invalid>"
    return None


# --- tables ---------------------------------------------------------------------------------


_COMPILED: dict[str, JSONPath] = {}


def column_path(column: resources.Column) -> JSONPath:
    """The compiled JSONPath of `column` (compiled once)."""
    compiled = _COMPILED.get(column.json_path)
    if compiled is None:
        compiled = _COMPILED[column.json_path] = compile_path(column.json_path)
    return compiled


def check_registry(registry: tuple[resources.Resource, ...] = resources.RESOURCES) -> None:
    """Compile every printer column; UnsupportedJSONPathError names the first bad one."""
    for res in registry:
        for column in res.columns:
            column_path(column)


def column_definitions(resource: resources.Resource, *, wide: bool = True) -> list[dict]:
    """The Table's columnDefinitions for `resource`: Name first, then its printer columns."""
    out = [{"name": "Name", "type": "string", "format": "name",
            "description": _NAME_DESCRIPTION, "priority": 0}]
    for c in resource.columns:
        if wide or c.priority == 0:
            out.append({"name": c.name, "type": c.type, "format": "",
                        "description": c.description or
                        f"Custom resource definition column (in JSONPath format): {c.json_path}",
                        "priority": c.priority})
    return out


def partial_object_metadata(obj: dict, version: str = "v1") -> dict:
    """`obj` as the PartialObjectMetadata kubectl reads namespaces and names from."""
    return {"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{version}",
            "metadata": obj.get("metadata", {})}


def table(resource: resources.Resource, objects: list[dict], *, wide: bool = True,
          include_object: str = "Metadata", resource_version: str | int,
          continue_token: str | None = None, version: str = "v1", no_headers: bool = False,
          now: datetime.datetime | None = None) -> dict:
    """A meta.k8s.io `Table` of `objects` (all of `resource`) with one row per object."""
    if include_object not in INCLUDE_OBJECT:
        raise ValueError(f"includeObject must be one of {', '.join(INCLUDE_OBJECT)}, "
                         f"not {include_object!r}")
    if version not in TABLE_VERSIONS:
        raise ValueError(f"Table version must be one of {', '.join(TABLE_VERSIONS)}")
    now = now or datetime.datetime.now(datetime.timezone.utc)
    columns = [c for c in resource.columns if wide or c.priority == 0]
    rows = []
    for obj in objects:
        cells: list[Any] = [obj.get("metadata", {}).get("name", "")]
        cells += [cell(c.type, column_path(c).evaluate(obj), now) for c in columns]
        row: dict[str, Any] = {"cells": cells}
        if include_object == "Metadata":
            row["object"] = partial_object_metadata(obj, version)
        elif include_object == "Object":
            row["object"] = obj
        else:
            row["object"] = None
        rows.append(row)
    metadata: dict[str, Any] = {"resourceVersion": str(resource_version)}
    if continue_token:
        metadata["continue"] = continue_token
    out: dict[str, Any] = {"kind": "Table", "apiVersion": f"meta.k8s.io/{version}",
                           "metadata": metadata}
    if not no_headers:
        out["columnDefinitions"] = column_definitions(resource, wide=wide)
    out["rows"] = rows
    return out


# --- negotiation ----------------------------------------------------------------------------


def _media_ranges(accept: str) -> list[tuple[str, dict[str, str]]]:
    ranges = []
    for order, clause in enumerate(accept.split(",")):
        parts = [p.strip() for p in clause.split(";")]
        if not parts[0]:
            continue
        params = {}
        for p in parts[1:]:
            key, _, value = p.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            q = 0.0
        if q > 0:
            ranges.append((-q, order, parts[0].lower(), params))
    return [(media, params) for _, _, media, params in sorted(ranges)]


def wants_table(accept_header: str | None) -> tuple[bool, str]:
    """(True, "v1"|"v1beta1") when the Accept header's preferred JSON form is a meta.k8s.io
    Table, as kubectl asks with `application/json;as=Table;v=v1;g=meta.k8s.io, application/json`;
    otherwise (False, "")."""
    for media, params in _media_ranges(accept_header or ""):
        if media not in ("application/json", "application/*", "*/*"):
            continue
        if "as" not in params:
            return False, ""
        if (params.get("as") == "Table" and params.get("g") == "meta.k8s.io"
                and params.get("v") in TABLE_VERSIONS):
            return True, params["v"]
    return False, ""


check_registry()
