"""Typed errors of the node's pod network: one class per failure mode, the text is the message.

Owns the exceptions of handler/net, all under `NetworkError` (a
`handler.errors.HandlerError`). What the kernel and the tools answer
(pyroute2's NetlinkError, OSError, a failing `nft`) is translated into these
once, in the module that made the call (links.py, namespaces.py, nsexec.py);
callers never see a pyroute2 type. `transient` says whether retrying later can
help: a VMI the node cannot plumb as written will not plumb on a retry.
"""

from __future__ import annotations

from handler.errors import HandlerError


class NetworkError(HandlerError):
    """Base of every pod-network failure; the text names the VMI, the link or the field."""

    transient = True


class NetworkSpecError(NetworkError):
    """The VMI asks for networking this node does not provide; names every field path at once."""

    transient = False

    def __init__(self, vmi: str, problems: list[str]) -> None:
        self.vmi = vmi
        self.problems = list(problems)
        super().__init__(f"The networks of VMI {vmi} cannot be set up on this node: "
                         + "; ".join(self.problems))


class AddressPoolExhaustedError(NetworkError):
    """Every address of the pod network's CIDR is allocated."""


class LinkError(NetworkError):
    """Creating, configuring or deleting a link, address or route failed (the kernel's words)."""


class NamespaceError(NetworkError):
    """A network namespace is missing, or creating, entering or deleting one failed."""


class FirewallError(NetworkError):
    """Applying, listing or deleting nftables rules failed (nft's words), or nft is missing."""
