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


class APIRequestError(Exception):
    """A request to the Kubernetes API failed; the text names the verb and the object.

    `status` is the HTTP status (0 when no answer came), `reason` the Kubernetes
    Status reason (NotFound, AlreadyExists, Conflict, ...). Raised only by
    controller/client.py, which translates the `kubernetes` client's exceptions.
    """

    status = 0
    transient = False

    def __init__(self, verb: str, what: str, message: str, status: int = 0, reason: str = "") -> None:
        self.verb = verb
        self.what = what
        self.message = message
        self.status = status or self.status
        self.reason = reason
        super().__init__(f"Failed to {verb} {what}: {message}")


class NotFoundError(APIRequestError):
    """The object does not exist (404)."""

    status = 404


class AlreadyExistsError(APIRequestError):
    """An object with that name already exists (409 AlreadyExists)."""

    status = 409


class ConflictError(APIRequestError):
    """The object changed since it was read (409 Conflict); read it again and retry."""

    status = 409
    transient = True


class GoneError(APIRequestError):
    """The requested resourceVersion was compacted away (410); list again."""

    status = 410


class InvalidError(APIRequestError):
    """The API refused the object as invalid (422); retrying the same object cannot help."""

    status = 422


class ForbiddenError(APIRequestError):
    """The controller's credentials may not do this (401/403)."""

    status = 403


class APIUnavailableError(APIRequestError):
    """No answer, a timeout, throttling or a server error (429, 5xx): retry later."""

    transient = True
