"""Typed errors of the node daemon: one class per failure mode, the text is the message.

Owns the handler's exception hierarchy under `HandlerError`. API failures are
raised only by handler/client.py, which translates the `kubernetes` client's
exceptions; `transient` says whether retrying later can help (a loop logs and
retries those, and surfaces the others). Never carries control flow for
success: an object that already exists on create is AlreadyExistsError, and
the caller decides whether that is fine.
"""

from __future__ import annotations


class HandlerError(Exception):
    """Base of every error the handler raises on purpose."""


class APIRequestError(HandlerError):
    """A request to the Kubernetes API failed; the text names the verb and the object.

    `status` is the HTTP status (0 when no answer came), `reason` the Kubernetes
    Status reason (NotFound, AlreadyExists, Conflict, ...).
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
    """Create found an object of that name already (409, reason AlreadyExists)."""

    status = 409


class ConflictError(APIRequestError):
    """The write carried a stale resourceVersion (409, reason Conflict); read again and retry."""

    status = 409
    transient = True


class InvalidError(APIRequestError):
    """The API refused the object as invalid (422)."""

    status = 422


class ForbiddenError(APIRequestError):
    """The node's credentials may not do this (401/403)."""

    status = 403


class APIUnavailableError(APIRequestError):
    """No answer, a 5xx or 429: the API is down or busy; retry later."""

    transient = True
