"""Label and field selectors: parsing and matching, with Kubernetes' grammar.

Owns `parse_labels` (`a=b,c!=d,e in (x,y),f notin (z),g,!h`, plus `k>1`/`k<1`)
and `parse_fields` (`metadata.name=x,metadata.namespace!=y`); both return a
selector whose `matches` says whether an object is selected. The store calls
these for list and watch; bad input raises `errors.BadRequest` naming the
selector, as kube-apiserver does. Also owns label key and value syntax, which
the store checks on writes. Nothing here knows about storage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from apiserver.errors import BadRequest

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_NAME_RE = re.compile(rf"^{_NAME}$")
_DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def label_key_error(key: str) -> str | None:
    """Why `key` is not a valid label key ([prefix/]name), or None."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN_RE.match(prefix)):
        return "prefix part must be a lowercase RFC 1123 subdomain"
    if not name or len(name) > 63 or not _NAME_RE.match(name):
        return ("name part must consist of alphanumeric characters, '-', '_' or '.', and must "
                "start and end with an alphanumeric character, at most 63 characters")
    return None


def label_value_error(value: str) -> str | None:
    """Why `value` is not a valid label value (empty is valid), or None."""
    if value == "":
        return None
    if len(value) > 63 or not _NAME_RE.match(value):
        return ("a valid label must be an empty string or consist of alphanumeric characters, "
                "'-', '_' or '.', and must start and end with an alphanumeric character, "
                "at most 63 characters")
    return None


@dataclass(frozen=True)
class Requirement:
    """One label requirement: key, operator (=, !=, in, notin, exists, !, gt, lt), values."""

    key: str
    op: str
    values: tuple[str, ...] = ()

    def matches(self, labels: dict) -> bool:
        has = self.key in labels
        value = labels.get(self.key)
        if self.op in ("=", "in"):
            return has and value in self.values
        if self.op in ("!=", "notin"):
            return not has or value not in self.values
        if self.op == "exists":
            return has
        if self.op == "!":
            return not has
        if not has:
            return False
        try:
            number = int(value)
        except (TypeError, ValueError):
            return False
        bound = int(self.values[0])
        return number > bound if self.op == "gt" else number < bound


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, labels: dict | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def matches_object(self, obj: dict) -> bool:
        return self.matches((obj.get("metadata") or {}).get("labels"))


# Tokens: an identifier (anything but whitespace and the punctuation below), or
# an operator. Multi-character operators come first.
_TOKEN_RE = re.compile(r"\s*(==|!=|=|!|,|\(|\)|<|>|[^\s,()=!<>]+)")


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:  # pragma: no cover - the pattern matches any non-space character
            raise ValueError(f"unexpected character at {pos}")
        out.append(m.group(1))
        pos = m.end()
    return out


_OPERATORS = {"=", "==", "!=", "!", ",", "(", ")", "<", ">"}


class _LabelParser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ValueError("unexpected end of selector")
        self.pos += 1
        return token

    def identifier(self, what: str) -> str:
        token = self.take()
        if token in _OPERATORS:
            raise ValueError(f"found '{token}', expected: {what}")
        return token

    def parse(self) -> tuple[Requirement, ...]:
        out: list[Requirement] = []
        if self.peek() is None:
            return ()
        while True:
            out.append(self.requirement())
            token = self.peek()
            if token is None:
                return tuple(out)
            if token != ",":
                raise ValueError(f"found '{token}', expected: ',' or end of selector")
            self.take()

    def requirement(self) -> Requirement:
        if self.peek() == "!":
            self.take()
            key = self.key()
            return Requirement(key, "!")
        key = self.key()
        op = self.peek()
        if op is None or op == ",":
            return Requirement(key, "exists")
        self.take()
        if op in ("=", "=="):
            return Requirement(key, "=", (self.value(),))
        if op == "!=":
            return Requirement(key, "!=", (self.value(),))
        if op in ("<", ">"):
            bound = self.identifier("an integer")
            if not re.fullmatch(r"-?[0-9]+", bound):
                raise ValueError(f"for 'Gt', 'Lt' operators, the value must be an integer: {bound}")
            return Requirement(key, "gt" if op == ">" else "lt", (bound,))
        if op in ("in", "notin"):
            return Requirement(key, op, self.value_set())
        raise ValueError(f"found '{op}', expected: in, notin, =, ==, !=, gt, lt")

    def key(self) -> str:
        key = self.identifier("identifier")
        why = label_key_error(key)
        if why:
            raise ValueError(f"invalid label key {key!r}: {why}")
        return key

    def value(self) -> str:
        token = self.peek()
        if token is None or token in (",", ")"):
            return ""  # `a=` selects an empty value, as Kubernetes allows
        value = self.identifier("a value")
        why = label_value_error(value)
        if why:
            raise ValueError(f"invalid label value {value!r}: {why}")
        return value

    def value_set(self) -> tuple[str, ...]:
        if self.take() != "(":
            raise ValueError("expected: '('")
        values: list[str] = []
        while True:
            values.append(self.value())
            token = self.take()
            if token == ")":
                return tuple(values)
            if token != ",":
                raise ValueError(f"found '{token}', expected: ',' or ')'")


def parse_labels(text: str | None) -> LabelSelector:
    """Parse a label selector; BadRequest naming the selector when it is malformed."""
    try:
        return LabelSelector(_LabelParser(text or "").parse())
    except ValueError as err:
        raise BadRequest(f'unable to parse label selector "{text}": {err}') from None


# Field selectors

DEFAULT_FIELDS = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    op: str       # "=" or "!="
    value: str

    def matches(self, obj: dict) -> bool:
        actual = field_value(obj, self.field)
        return (actual == self.value) == (self.op == "=")


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, obj: dict) -> bool:
        return all(r.matches(obj) for r in self.requirements)


def field_value(obj: dict, path: str) -> str:
    """The string value at a dotted path; "" when absent (as for a cluster-scoped namespace)."""
    node: object = obj
    for part in path.split("."):
        if not isinstance(node, dict):
            return ""
        node = node.get(part)
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


def _split_terms(text: str) -> Iterable[str]:
    """Split on commas not escaped with a backslash, and unescape (\\, \\= \\\\)."""
    term: list[str] = []
    escaped = False
    for ch in text:
        if escaped:
            term.append("\\" + ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            yield "".join(term)
            term = []
        else:
            term.append(ch)
    if escaped:
        raise ValueError("trailing backslash")
    yield "".join(term)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _split_operator(term: str) -> tuple[str, str, str]:
    # The first unescaped operator; `!=` and `==` before `=`.
    i = 0
    while i < len(term):
        if term[i] == "\\":
            i += 2
            continue
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op):]
        i += 1
    raise ValueError(f"invalid selector: '{term}'; can't understand '{term}'")


def parse_fields(text: str | None,
                 supported: Iterable[str] = DEFAULT_FIELDS) -> FieldSelector:
    """Parse a field selector over the `supported` fields; BadRequest otherwise."""
    text = text or ""
    if not text.strip():
        return FieldSelector()
    allowed = set(supported)
    out: list[FieldRequirement] = []
    for term in _split_terms_checked(text):
        try:
            field, op, value = _split_operator(term)
        except ValueError as err:
            raise BadRequest(f'unable to parse field selector "{text}": {err}') from None
        field = _unescape(field).strip()
        if field not in allowed:
            raise BadRequest(f'field label not supported: {field}')
        out.append(FieldRequirement(field, "!=" if op == "!=" else "=", _unescape(value)))
    return FieldSelector(tuple(out))


def _split_terms_checked(text: str) -> list[str]:
    try:
        terms = list(_split_terms(text))
    except ValueError as err:
        raise BadRequest(f'unable to parse field selector "{text}": {err}') from None
    return [t for t in terms if t.strip()]  # empty terms are skipped, as Kubernetes does
