"""Typed errors that the control plane raises about API objects.

Owns the failure modes of admission (and, later, of the controllers) as
exception classes whose text is the message. The embedded API server turns
AdmissionError into a Kubernetes Status with one cause per problem; virtctl
prints the causes as `PATH: message`. Never raised for transient conditions:
an object that is invalid stays invalid until someone changes it.
"""

from __future__ import annotations

from protos.errors import APIObjectError, FieldCause


class AdmissionError(APIObjectError):
    """An object was refused by admission; carries every cause found, never only the first."""

    def __init__(self, kind: str, namespace: str, name: str, causes: list[FieldCause]) -> None:
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.causes = list(causes)
        lines = "; ".join(str(c) for c in self.causes)
        super().__init__(f"{kind} {namespace}/{name} is invalid: {lines}")


class ImmutableFieldError(APIObjectError):
    """An update tried to change a field that is fixed once the object exists."""

    def __init__(self, kind: str, namespace: str, name: str, field: str) -> None:
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.field = field
        super().__init__(f"{kind} {namespace}/{name}: {field} cannot be changed after creation")
