"""Building FieldCauses with messages that say what is allowed.

Owns the wording shared by every rule: "X is not supported; use one of: ...",
"required: ...", "... must not have the same name". Rules call these so that a
user sees the same sentence shapes everywhere. Never decides what is valid.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from protos.errors import (
    FIELD_VALUE_DUPLICATE,
    FIELD_VALUE_INVALID,
    FIELD_VALUE_NOT_SUPPORTED,
    FIELD_VALUE_REQUIRED,
    FieldCause,
)


def quoted(value: object) -> str:
    """A value as a message shows it: strings in double quotes, like Kubernetes."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


def invalid(path: str, message: str) -> FieldCause:
    """A value that is wrong for a reason the message gives."""
    return FieldCause(path, message, FIELD_VALUE_INVALID)


def required(path: str, message: str) -> FieldCause:
    """A field that must be set; message says what to set it to."""
    return FieldCause(path, f"required: {message}", FIELD_VALUE_REQUIRED)


def duplicate(path: str, message: str) -> FieldCause:
    """A value that must be unique and is not."""
    return FieldCause(path, message, FIELD_VALUE_DUPLICATE)


def not_supported(path: str, what: str, value: object, allowed: Iterable[str]) -> FieldCause:
    """A value outside a fixed set: names the set."""
    shown = ", ".join(allowed)
    return FieldCause(path, f'{what} "{value}" is not supported; use one of: {shown}',
                      FIELD_VALUE_NOT_SUPPORTED)
