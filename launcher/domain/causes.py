"""The list of problems one conversion finds, reported together.

Owns Causes: every part of the conversion adds what it cannot convert, with
the field path the user wrote (`spec.domain.devices.disks[1].disk.bus`), and
the conversion raises one ConversionError at the end carrying all of them. Never
raises on the first problem.
"""

from __future__ import annotations

from launcher.errors import ConversionError
from protos.errors import (FIELD_VALUE_INVALID, FIELD_VALUE_NOT_SUPPORTED,
                           FIELD_VALUE_REQUIRED, FieldCause)

DEV = "spec.domain.devices"
DOM = "spec.domain"


class Causes:
    """Collects FieldCauses; `raise_if_any` turns them into one ConversionError."""

    def __init__(self) -> None:
        self._causes: list[FieldCause] = []

    def invalid(self, path: str, message: str) -> None:
        self._causes.append(FieldCause(path, message, FIELD_VALUE_INVALID))

    def required(self, path: str, message: str) -> None:
        self._causes.append(FieldCause(path, message, FIELD_VALUE_REQUIRED))

    def unsupported(self, path: str, message: str) -> None:
        self._causes.append(FieldCause(path, message, FIELD_VALUE_NOT_SUPPORTED))

    def __bool__(self) -> bool:
        return bool(self._causes)

    def raise_if_any(self) -> None:
        if self._causes:
            raise ConversionError(self._causes)
