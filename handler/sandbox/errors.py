"""Typed errors of the sandbox: one class per failure mode, the text is the message.

Owns the sandbox's exceptions, all under `handler.errors.HandlerError`. The
kernel's answers (OSError from cgroupfs, handler/net's NamespaceError for the
network namespace) are translated into these once, in the module that made the
call; callers never see a pyroute2 type.
"""

from __future__ import annotations

from handler.errors import HandlerError


class SandboxError(HandlerError):
    """Base of every sandbox failure; the text names the VMI or the path."""


class CgroupSetupError(SandboxError):
    """No usable cgroup hierarchy, or creating/writing a cgroup failed."""


class NetnsError(SandboxError):
    """Creating, configuring, entering or deleting a network namespace failed."""


class SandboxNotFoundError(SandboxError):
    """adopt() found neither the network namespace nor the cgroup of the VMI."""


class SandboxRunError(SandboxError):
    """A process could not be started inside the sandbox."""


class SandboxKillTimeoutError(SandboxError):
    """destroy() could not empty the cgroup within its bound (processes named)."""


class DeviceGrantError(SandboxError):
    """Granting (or revoking) a device node to the launcher's user failed."""
