"""The codec: KubeVirt JSON/YAML documents <-> API messages, with exact field paths.

Owns the mapping between the JSON that Kubernetes and KubeVirt write and the
messages of protos/kubevirt/v1. Decoding walks the message descriptors and
collects every problem of a document, each as a FieldCause whose path names the
field as a user wrote it (`spec.template.spec.domain.devices.disks[1].disk.bus`,
`metadata.labels[app]`); a field the model does not have is an error, never
dropped. Encoding writes KubeVirt's JSON back in field order, so a document
survives decode -> encode unchanged. docs/api.md explains the conventions
(optional scalars, empty objects, quantities, null, YAML 1.2 booleans).

Knows nothing about defaults or validation rules: that is controller.admission.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import yaml
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from protos import quantity
from protos.errors import (
    FIELD_VALUE_INVALID,
    FIELD_VALUE_REQUIRED,
    FIELD_VALUE_UNKNOWN,
    DecodeError,
    FieldCause,
    UnknownKindError,
)
from protos.kubevirt.v1 import datavolume_pb2, migration_pb2, pool_pb2, vm_pb2, vmi_pb2

__all__ = ["KINDS", "message_class", "decode", "decode_as", "encode", "load_documents",
           "dump_yaml", "dump_json"]

# The kinds virtnode serves: (apiVersion, kind) -> message class.
KINDS: dict[tuple[str, str], type[Message]] = {
    ("kubevirt.io/v1", "VirtualMachine"): vm_pb2.VirtualMachine,
    ("kubevirt.io/v1", "VirtualMachineInstance"): vmi_pb2.VirtualMachineInstance,
    ("kubevirt.io/v1", "VirtualMachineInstanceMigration"): migration_pb2.VirtualMachineInstanceMigration,
    ("pool.kubevirt.io/v1beta1", "VirtualMachinePool"): pool_pb2.VirtualMachinePool,
    ("cdi.kubevirt.io/v1beta1", "DataVolume"): datavolume_pb2.DataVolume,
}

_PKG = "virtnode.kubevirt.v1."
_QUANTITY = _PKG + "Quantity"
_INT_OR_STRING = _PKG + "IntOrString"
_STRUCT = "google.protobuf.Struct"

# KubeVirt fields that virtnode does not model yet (docs/api.md, "Not supported
# yet"): the error says so instead of suggesting a typo.
_NOT_SUPPORTED = {
    "VirtualMachineInstanceSpec": {"resourceClaims", "utilityVolumes", "readinessGates"},
    "DomainSpec": {"launchSecurity"},
    "Memory": {"reservedOverhead"},
    "Firmware": {"acpi"},
    "Devices": {"video", "panicDevices", "downwardMetrics"},
    "Interface": {"portRanges"},
    "Disk": {"changedBlockTracking"},
    "Volume": {"downwardAPI", "sysprep", "memoryDump", "containerPath"},
    "Network": {"resourceClaim"},
    "VirtualMachinePoolSpec": {"scaleInStrategy", "updateStrategy", "autohealing"},
    "VirtualMachineInstanceMigrationSpec": {"sendTo", "receive"},
    "DataVolumeSourceSpec": {"gcs", "vddk", "imageio"},
}

_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
}


def message_class(api_version: str, kind: str) -> type[Message]:
    """The message class serving apiVersion/kind; UnknownKindError when none does."""
    try:
        return KINDS[(api_version, kind)]
    except KeyError:
        known = [f"{v}/{k}" for v, k in KINDS]
        raise UnknownKindError(api_version, kind, known) from None


# --- decoding -----------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _fields(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    """JSON name -> field, for one message type."""
    return {f.json_name: f for f in descriptor.fields}


def _is_map(field: FieldDescriptor) -> bool:
    return (field.label == FieldDescriptor.LABEL_REPEATED
            and field.type == FieldDescriptor.TYPE_MESSAGE
            and field.message_type.GetOptions().map_entry)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {json.dumps(shown)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _Decoder:
    def __init__(self) -> None:
        self.causes: list[FieldCause] = []

    def fail(self, path: str, message: str, reason: str = FIELD_VALUE_INVALID) -> None:
        self.causes.append(FieldCause(path, message, reason))

    def message(self, msg: Message, doc: Any, path: str) -> None:
        """Fills msg from a JSON object; marks msg present even when doc is {}."""
        if not isinstance(doc, dict):
            self.fail(path, f"must be an object, got {_describe(doc)}")
            return
        msg.SetInParent()
        descriptor = msg.DESCRIPTOR
        full_name = descriptor.full_name
        if full_name == _STRUCT:
            msg.update(doc)
            return
        fields = _fields(descriptor)
        for key, value in doc.items():
            field = fields.get(key) if isinstance(key, str) else None
            where = _join(path, str(key))
            if field is None:
                self.unknown(descriptor, str(key), where)
                continue
            if value is None:  # null means absent, as in Kubernetes
                continue
            if _is_map(field):
                self.map(msg, field, value, where)
            elif field.label == FieldDescriptor.LABEL_REPEATED:
                self.repeated(msg, field, value, where)
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                self.submessage(msg, field, value, where)
            else:
                ok, converted = self.scalar(field, value, where)
                if ok:
                    setattr(msg, field.name, converted)

    def unknown(self, descriptor: Descriptor, key: str, where: str) -> None:
        if key in _NOT_SUPPORTED.get(descriptor.name, ()):
            self.fail(where, f"field \"{key}\" is a KubeVirt field that virtnode does not support "
                             f"yet (docs/api.md lists them)", FIELD_VALUE_UNKNOWN)
            return
        known = sorted(_fields(descriptor))
        close = difflib.get_close_matches(key, known, n=1)
        hint = f'did you mean "{close[0]}"? ' if close else ""
        self.fail(where, f'unknown field "{key}"; {hint}known fields: ' + ", ".join(known),
                  FIELD_VALUE_UNKNOWN)

    def submessage(self, parent: Message, field: FieldDescriptor, value: Any, where: str) -> None:
        special = field.message_type.full_name
        if special == _QUANTITY:
            text = self.quantity(value, where)
            if text is not None:
                getattr(parent, field.name).value = text
        elif special == _INT_OR_STRING:
            self.int_or_string(getattr(parent, field.name), value, where)
        else:
            self.message(getattr(parent, field.name), value, where)

    def quantity(self, value: Any, where: str) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(where, f"must be a quantity (a string such as 4Gi or a number), "
                             f"got {_describe(value)}")
            return None
        text = value if isinstance(value, str) else repr(value)
        try:
            quantity.parse(text)
        except quantity.QuantityError as e:
            self.fail(where, str(e))
            return None
        return text

    def int_or_string(self, msg: Message, value: Any, where: str) -> None:
        if isinstance(value, str):
            msg.str_val = value
        elif isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31:
            msg.int_val = value
        else:
            self.fail(where, f"must be a 32-bit integer or a string, got {_describe(value)}")

    def repeated(self, msg: Message, field: FieldDescriptor, value: Any, where: str) -> None:
        if not isinstance(value, list):
            self.fail(where, f"must be a list, got {_describe(value)}")
            return
        target = getattr(msg, field.name)
        is_message = field.type == FieldDescriptor.TYPE_MESSAGE
        for i, item in enumerate(value):
            at = f"{where}[{i}]"
            if is_message:
                special = field.message_type.full_name
                if special == _QUANTITY:
                    text = self.quantity(item, at)
                    if text is not None:
                        target.add().value = text
                elif special == _INT_OR_STRING:
                    self.int_or_string(target.add(), item, at)
                else:
                    self.message(target.add(), {} if item is None else item, at)
            else:
                ok, converted = self.scalar(field, item, at)
                if ok:
                    target.append(converted)

    def map(self, msg: Message, field: FieldDescriptor, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            self.fail(where, f"must be an object (a map), got {_describe(value)}")
            return
        target = getattr(msg, field.name)
        value_field = field.message_type.fields_by_name["value"]
        for key, item in value.items():
            at = f"{where}[{key}]"
            if not isinstance(key, str):
                self.fail(at, f"map keys must be strings, got {_describe(key)}")
                continue
            if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                special = value_field.message_type.full_name
                if special == _QUANTITY:
                    text = self.quantity(item, at)
                    if text is not None:
                        target[key].value = text
                elif special == _INT_OR_STRING:
                    self.int_or_string(target[key], item, at)
                else:
                    self.message(target[key], {} if item is None else item, at)
            else:
                ok, converted = self.scalar(value_field, item, at)
                if ok:
                    target[key] = converted

    def scalar(self, field: FieldDescriptor, value: Any, where: str) -> tuple[bool, Any]:
        t = field.type
        if t == FieldDescriptor.TYPE_STRING:
            if isinstance(value, str):
                return True, value
            self.fail(where, f"must be a string, got {_describe(value)}")
        elif t == FieldDescriptor.TYPE_BOOL:
            if isinstance(value, bool):
                return True, value
            self.fail(where, f"must be a boolean (true or false), got {_describe(value)}")
        elif t in _INT_RANGES:
            low, high = _INT_RANGES[t]
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, int) and not isinstance(value, bool):
                if low <= value <= high:
                    return True, value
                self.fail(where, f"must be an integer between {low} and {high}, got {value}")
            else:
                self.fail(where, f"must be an integer, got {_describe(value)}")
        else:  # not used by the model; refuse rather than guess
            self.fail(where, f"has a type the codec does not handle ({field.type})")
        return False, None


def decode_as(cls: type[Message], doc: Any, path: str = "", source: str = "") -> Message:
    """Decodes doc into a new `cls` message; DecodeError lists every problem."""
    decoder = _Decoder()
    msg = cls()
    decoder.message(msg, doc, path)
    if decoder.causes:
        raise DecodeError(decoder.causes, source)
    return msg


def decode(doc: Any, source: str = "") -> Message:
    """Decodes one API object (a dict with apiVersion and kind) into its message.

    Raises UnknownKindError for a kind virtnode does not serve and DecodeError,
    carrying every cause found, for anything else wrong with the document.
    """
    if not isinstance(doc, dict):
        raise DecodeError([FieldCause("", f"an API object must be an object with apiVersion "
                                          f"and kind, got {_describe(doc)}")], source)
    missing = [FieldCause(k, "required: every object names its apiVersion and kind",
                          FIELD_VALUE_REQUIRED)
               for k in ("apiVersion", "kind") if not isinstance(doc.get(k), str) or not doc[k]]
    if missing:
        raise DecodeError(missing, source)
    return decode_as(message_class(doc["apiVersion"], doc["kind"]), doc, source=source)


# --- encoding -----------------------------------------------------------------------------


def encode(msg: Message) -> dict:
    """A message as KubeVirt's JSON (a dict): set fields only, in field order."""
    out: dict[str, Any] = {}
    for field, value in msg.ListFields():
        if _is_map(field):
            value_field = field.message_type.fields_by_name["value"]
            if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                out[field.json_name] = {k: _encode_value(value_field, v) for k, v in value.items()}
            else:
                out[field.json_name] = dict(value)
        elif field.label == FieldDescriptor.LABEL_REPEATED:
            out[field.json_name] = [_encode_value(field, v) for v in value]
        else:
            out[field.json_name] = _encode_value(field, value)
    return out


def _encode_value(field: FieldDescriptor, value: Any) -> Any:
    if field.type != FieldDescriptor.TYPE_MESSAGE:
        return value
    name = field.message_type.full_name
    if name == _QUANTITY:
        return value.value
    if name == _INT_OR_STRING:
        return value.int_val if value.WhichOneof("kind") == "int_val" else value.str_val
    if name == _STRUCT:
        return json_format.MessageToDict(value)
    return encode(value)


# --- documents ----------------------------------------------------------------------------


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML with YAML 1.2 booleans (only true/false) and no duplicate keys."""


# YAML 1.1 also reads yes/no/on/off as booleans and unquoted dates as
# timestamps; Kubernetes (YAML 1.2, then JSON) reads both as strings.
_YAML11_ONLY = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _YAML11_ONLY]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    mapping: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key \"{key}\" (each key may appear once in a mapping)", mark)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _yaml_problem(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(e, "problem", None) or str(e)
    return f"not valid YAML or JSON{where}: {problem}"


def parse_documents(text: str, source: str = "") -> list[Any]:
    """The documents of a YAML/JSON stream as plain data; empty documents dropped."""
    try:
        docs = [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
    except yaml.YAMLError as e:
        raise DecodeError([FieldCause("", _yaml_problem(e))], source) from None
    expanded: list[Any] = []
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "List" and doc.get("apiVersion") == "v1":
            items = doc.get("items") or []
            if not isinstance(items, list):
                raise DecodeError([FieldCause("items", "must be a list of objects")], source)
            expanded.extend(items)
        else:
            expanded.append(doc)
    return expanded


def load_documents(text: str, source: str = "") -> list[Message]:
    """Decodes every object of a YAML/JSON stream (multi-document, or a v1 List).

    Problems of every document are reported together in one DecodeError; in a
    stream of several objects each path is prefixed with `[doc N] ` (1-based).
    """
    docs = parse_documents(text, source)
    objects: list[Message] = []
    causes: list[FieldCause] = []
    for n, doc in enumerate(docs, start=1):
        try:
            objects.append(decode(doc, source))
        except DecodeError as e:
            if len(docs) == 1:
                raise
            causes.extend(FieldCause(f"[doc {n}] {c.field}".rstrip(), c.message, c.reason)
                          for c in e.causes)
        except UnknownKindError as e:
            if len(docs) == 1:
                raise
            causes.append(FieldCause(f"[doc {n}] kind", str(e), FIELD_VALUE_INVALID))
    if causes:
        raise DecodeError(causes, source)
    return objects


class _Dumper(yaml.SafeDumper):
    """Block-style YAML; multi-line strings (cloud-init user data) as `|` blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(objects: Iterable[Message]) -> str:
    """Objects as a YAML stream, one document each, separated by `---`."""
    return yaml.dump_all([encode(o) for o in objects], Dumper=_Dumper, sort_keys=False,
                         default_flow_style=False, explicit_start=True, allow_unicode=True)


def dump_json(obj: Message | list[Message]) -> str:
    """One object as JSON, or several as a Kubernetes v1 List."""
    if isinstance(obj, list):
        doc: Any = {"apiVersion": "v1", "kind": "List", "items": [encode(o) for o in obj]}
    else:
        doc = encode(obj)
    return json.dumps(doc, indent=2, ensure_ascii=False)
