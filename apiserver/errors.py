"""Typed errors of the embedded API, and their Kubernetes `Status` form.

Owns one class per failure mode the API reports, each with its HTTP status
(`code`) and Kubernetes StatusReason (`reason`), and `to_status`, which turns
any exception into the `Status` object a client expects. The store and the
selector parser raise these; the HTTP layer only calls `to_status`. Messages
follow kube-apiserver's wording word for word, because clients (kubectl, the
kubernetes client, controllers) match on them. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from protos.errors import FieldCause


class APIError(Exception):
    """Base of every API failure: message, HTTP status, StatusReason and details."""

    code = 500
    reason = "InternalError"

    def __init__(self, message: str, *, name: str = "", group: str = "", kind: str = "",
                 causes: Sequence[FieldCause] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.name = name
        self.group = group
        self.kind = kind
        self.causes = list(causes)

    @property
    def details(self) -> dict:
        """The Status `details` (only the fields that are set)."""
        out: dict = {}
        if self.name:
            out["name"] = self.name
        if self.group:
            out["group"] = self.group
        if self.kind:
            out["kind"] = self.kind
        if self.causes:
            out["causes"] = [{"reason": c.reason, "message": c.message, "field": c.field}
                             for c in self.causes]
        return out


class BadRequest(APIError):
    code = 400
    reason = "BadRequest"


class Unauthorized(APIError):
    code = 401
    reason = "Unauthorized"


class Forbidden(APIError):
    code = 403
    reason = "Forbidden"


class NotFound(APIError):
    code = 404
    reason = "NotFound"


class MethodNotAllowed(APIError):
    code = 405
    reason = "MethodNotAllowed"


class AlreadyExists(APIError):
    code = 409
    reason = "AlreadyExists"


class Conflict(APIError):
    code = 409
    reason = "Conflict"


class Gone(APIError):
    code = 410
    reason = "Gone"


class ResourceExpired(Gone):
    """A watch or list from a resourceVersion the store has compacted away."""

    reason = "Expired"


class UnsupportedMediaType(APIError):
    code = 415
    reason = "UnsupportedMediaType"


class RequestEntityTooLarge(APIError):
    code = 413
    reason = "RequestEntityTooLarge"


class Invalid(APIError):
    code = 422
    reason = "Invalid"


class InternalError(APIError):
    code = 500
    reason = "InternalError"


# Constructors with kube-apiserver's messages. `resource` is the qualified
# resource name (plural.group, e.g. virtualmachines.kubevirt.io, or namespaces).

def _split(resource: str) -> tuple[str, str]:
    plural, _, group = resource.partition(".")
    return plural, group


def not_found(resource: str, name: str) -> NotFound:
    plural, group = _split(resource)
    return NotFound(f'{resource} "{name}" not found', name=name, group=group, kind=plural)


def already_exists(resource: str, name: str) -> AlreadyExists:
    plural, group = _split(resource)
    return AlreadyExists(f'{resource} "{name}" already exists', name=name, group=group,
                         kind=plural)


MODIFIED = ("the object has been modified; please apply your changes to the latest version "
            "and try again")


def conflict(resource: str, name: str, why: str = MODIFIED) -> Conflict:
    plural, group = _split(resource)
    return Conflict(f'Operation cannot be fulfilled on {resource} "{name}": {why}', name=name,
                    group=group, kind=plural)


def forbidden(resource: str, name: str, why: str,
              causes: Sequence[FieldCause] = ()) -> Forbidden:
    plural, group = _split(resource)
    subject = f'{resource} "{name}"' if name else resource
    return Forbidden(f"{subject} is forbidden: {why}", name=name, group=group, kind=plural,
                     causes=causes)


def invalid(kind: str, group: str, name: str, causes: Sequence[FieldCause]) -> Invalid:
    """Kind.group "name" is invalid: cause (or [cause, cause] when several)."""
    qualified = f"{kind}.{group}" if group else kind
    texts = [str(c) for c in causes]  # FieldCause prints as "field: message"
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return Invalid(f'{qualified} "{name}" is invalid: {joined}', name=name, group=group,
                   kind=kind, causes=causes)


def expired(requested: int, oldest: int) -> ResourceExpired:
    return ResourceExpired(f"too old resource version: {requested} ({oldest})")


def to_status(err: BaseException) -> dict:
    """The Kubernetes `Status` object for `err`; anything not an APIError is a 500."""
    if not isinstance(err, APIError):
        err = InternalError(f"Internal error occurred: {err}")
    status = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": err.message,
        "reason": err.reason,
        "code": err.code,
    }
    details = err.details
    if details:
        status["details"] = details
    return status
