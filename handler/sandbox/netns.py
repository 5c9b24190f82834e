"""The sandbox's network namespace: a named netns (/run/netns/NAME) with loopback up.

Owns the sandbox's use of the namespace: create, check, delete, by the VMI's
netns name. The pyroute2 calls live in handler/net/namespaces.py (handler/net is
the only place the handler imports pyroute2); its NamespaceError is translated
here, once, into the sandbox's NetnsError. Entering the namespace is
handler/sandbox/enter.py's. Called by handler/sandbox/sandbox.py. Never touches
a namespace whose name it was not given, and never configures links other than
`lo` (handler/net plumbs the pod network).
"""

from __future__ import annotations

from pathlib import Path

from handler.net import namespaces
from handler.net.errors import NamespaceError
from handler.sandbox.errors import NetnsError

NETNS_DIR = namespaces.NETNS_DIR


def path_of(name: str) -> Path:
    return namespaces.path_of(name)


def exists(name: str) -> bool:
    """True when /run/netns/NAME is a mounted namespace (not a left-over empty file)."""
    return namespaces.exists(name)


def inode(name: str) -> int:
    """The namespace's inode, as /proc/<pid>/ns/net of a process inside it shows."""
    return namespaces.inode(name)


def create(name: str) -> None:
    """Create the namespace (an existing one is fine) and bring its loopback up."""
    try:
        namespaces.create(name)
    except NamespaceError as exc:
        raise NetnsError(str(exc)) from exc


def remove(name: str) -> None:
    """Delete the namespace; one that is gone is fine."""
    try:
        namespaces.remove(name)
    except NamespaceError as exc:
        raise NetnsError(str(exc)) from exc
