"""Named network namespaces (/run/netns/NAME): create with loopback up, check, delete.

Owns the pyroute2 calls that make and remove a namespace; the sandbox
(handler/sandbox/netns.py) calls these for the VMI's netns, and the pod network
checks that a namespace exists before it plumbs into it. Errors come out as
NamespaceError. Never touches a namespace whose name it was not given, and
never configures a link other than `lo`.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

from handler.net.errors import NamespaceError

NETNS_DIR = Path("/run/netns")


def path_of(name: str) -> Path:
    return NETNS_DIR / name


def exists(name: str) -> bool:
    """True when /run/netns/NAME is a mounted namespace (not a left-over empty file)."""
    return os.path.ismount(path_of(name))


def inode(name: str) -> int:
    """The namespace's inode, as /proc/<pid>/ns/net of a process inside it shows."""
    return os.stat(path_of(name)).st_ino


def require(name: str) -> None:
    """NamespaceError unless the namespace exists (nothing here ever creates one by accident)."""
    if not exists(name):
        raise NamespaceError(f"Network namespace {name} does not exist; create the VMI's sandbox first")


def create(name: str) -> None:
    """Create the namespace (an existing one is fine) and bring its loopback up."""
    if not exists(name):
        try:
            netns.create(name)
        except FileExistsError:
            pass
        except (OSError, NetlinkError) as exc:
            raise NamespaceError(f"Failed to create network namespace {name}: {exc}") from exc
    try:
        with IPRoute(netns=name, flags=0) as ns:
            (index,) = ns.link_lookup(ifname="lo")
            ns.link("set", index=index, state="up")
    except (OSError, NetlinkError, ValueError) as exc:
        raise NamespaceError(f"Failed to bring up loopback in network namespace {name}: {exc}") from exc


def remove(name: str) -> None:
    """Delete the namespace; one that is gone is fine."""
    try:
        netns.remove(name)
    except FileNotFoundError:
        return
    except (OSError, NetlinkError) as exc:
        if getattr(exc, "errno", None) == errno.ENOENT or getattr(exc, "code", None) == errno.ENOENT:
            return
        raise NamespaceError(f"Failed to delete network namespace {name}: {exc}") from exc
