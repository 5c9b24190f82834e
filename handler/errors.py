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


class VolumeError(HandlerError):
    """A VMI volume (or a kernelBoot file) cannot be prepared on this node.

    `field` is the path as the user wrote it (`spec.volumes[2].containerDisk.image`);
    the text names it and says what is allowed. Permanent unless `transient`: the
    VMI needs a change, retrying the same spec gives the same answer.
    """

    transient = False

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class ImageNotFoundError(VolumeError):
    """The image a volume or kernelBoot names is not available on this node."""


class UnsafePathError(VolumeError):
    """A path the VMI chose leaves its image directory or goes through a symbolic link."""


class UnsupportedVolumeError(VolumeError):
    """The volume's source is one this node does not prepare."""


class VolumeSecretError(VolumeError):
    """The Secret a cloud-init volume refers to is missing or lacks the key; it may appear later."""

    transient = True


class ImageToolError(VolumeError):
    """qemu-img failed on an image (or is not installed); the text quotes its answer."""
