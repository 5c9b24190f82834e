"""Typed errors for decoding and checking API objects.

Owns FieldCause (one problem at one field path, shaped like a Kubernetes
StatusCause) and the errors that carry a list of them. The codec raises
DecodeError; controller admission reports FieldCauses too, so every layer
speaks of bad input the same way: `PATH: message`.
"""

from __future__ import annotations

from dataclasses import dataclass

# Kubernetes StatusCause reasons (metav1.CauseType) that virtnode uses.
FIELD_VALUE_INVALID = "FieldValueInvalid"
FIELD_VALUE_REQUIRED = "FieldValueRequired"
FIELD_VALUE_DUPLICATE = "FieldValueDuplicate"
FIELD_VALUE_NOT_SUPPORTED = "FieldValueNotSupported"
FIELD_VALUE_UNKNOWN = "FieldValueUnknown"  # a field the schema does not have


@dataclass(frozen=True)
class FieldCause:
    """One problem with one field: where it is, what is wrong, and its kind."""

    field: str
    message: str
    reason: str = FIELD_VALUE_INVALID

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class APIObjectError(Exception):
    """Base for every error about the content of an API object."""


class DecodeError(APIObjectError):
    """A document could not be mapped to an API object; carries every cause found."""

    def __init__(self, causes: list[FieldCause], source: str = "") -> None:
        self.causes = list(causes)
        self.source = source
        where = f" in {source}" if source else ""
        lines = "; ".join(str(c) for c in self.causes)
        super().__init__(f"Failed to decode object{where}: {lines}")


class UnknownKindError(APIObjectError):
    """A document names an apiVersion/kind that virtnode does not serve."""

    def __init__(self, api_version: str, kind: str, known: list[str]) -> None:
        self.api_version = api_version
        self.kind = kind
        super().__init__(
            f"Unknown kind {kind!r} in apiVersion {api_version!r}; "
            f"virtnode serves: {', '.join(known)}")
