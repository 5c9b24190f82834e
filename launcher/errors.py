"""The launcher's typed errors.

Owns the one error hierarchy of the launcher. Each dependency boundary
(libvirt in launcher/virt.py, the daemon process in launcher/daemon.py, the
console socket in launcher/console.py) translates what it catches into one of
these, once; the command server (launcher/server.py) maps each class to one
gRPC status code, in one table. Messages are sentences that say what failed
and, where there is one, what to do.
"""

from __future__ import annotations

from protos.errors import FieldCause


class LauncherError(Exception):
    """Base of every error the launcher reports."""


class InvalidRequestError(LauncherError):
    """A request the launcher refuses as given (bad field, wrong shape)."""


class WrongVMIError(LauncherError):
    """A request names a VMI uid other than the one this launcher owns."""

    def __init__(self, owned: str, asked: str) -> None:
        self.owned, self.asked = owned, asked
        super().__init__(f"This launcher owns VMI {owned}, not {asked}; the request was not applied")


class ConversionError(InvalidRequestError):
    """The VMI cannot be turned into a domain; carries every cause with its field path."""

    def __init__(self, causes: list[FieldCause]) -> None:
        self.causes = list(causes)
        super().__init__("The VMI cannot be converted to a domain: "
                         + "; ".join(str(c) for c in self.causes))


class MissingResourceError(LauncherError):
    """Something the domain needs is not there (an image file, a tap device, a firmware file)."""


class DomainNotFoundError(LauncherError):
    """No domain is defined yet for this launcher's VMI."""


class DomainStateError(LauncherError):
    """The domain is not in a state the command can act on (e.g. pausing a stopped guest)."""


class AgentUnavailableError(LauncherError):
    """The guest agent is not connected or did not answer in time."""


class HypervisorError(LauncherError):
    """libvirt or QEMU failed; the message carries libvirt's own words."""


class KVMInternalError(HypervisorError):
    """The guest stopped with a KVM internal error (nested or broken KVM)."""

    HINT = ("the host's KVM cannot run this guest; run the node with emulation "
            "(accelerator 'emulation', like KubeVirt's useEmulation) or fix KVM on the host")


class DhcpError(LauncherError):
    """The guest's DHCP responder cannot listen (its port is taken, the socket cannot be made)."""


class DaemonError(LauncherError):
    """The private libvirt daemon could not be started, or it went away."""


class ConnectionLostError(DaemonError):
    """The connection to the private libvirt daemon was lost; the launcher must exit (crash-only)."""
