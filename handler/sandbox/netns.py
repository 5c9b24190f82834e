"""The sandbox's network namespace: a named netns (/run/netns/NAME) with loopback up.

Owns the pyroute2 calls of the sandbox and translates their errors once into
NetnsError (entering the namespace is handler/sandbox/enter.py's).
Called by handler/sandbox/sandbox.py. Never touches a namespace whose name it
was not given, and never configures links other than `lo` (handler/net does).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from pyroute2 import NetNS, netns
from pyroute2.netlink.exceptions import NetlinkError

from handler.sandbox.errors import NetnsError

NETNS_DIR = Path("/run/netns")


def path_of(name: str) -> Path:
    return NETNS_DIR / name


def exists(name: str) -> bool:
    """True when /run/netns/NAME is a mounted namespace (not a left-over empty file)."""
    return os.path.ismount(path_of(name))


def inode(name: str) -> int:
    """The namespace's inode, as /proc/<pid>/ns/net of a process inside it shows."""
    return os.stat(path_of(name)).st_ino


def create(name: str) -> None:
    """Create the namespace (an existing one is fine) and bring its loopback up."""
    if not exists(name):
        try:
            netns.create(name)
        except FileExistsError:
            pass
        except (OSError, NetlinkError) as exc:
            raise NetnsError(f"Failed to create network namespace {name}: {exc}") from exc
    try:
        with NetNS(name) as ns:
            (index,) = ns.link_lookup(ifname="lo")
            ns.link("set", index=index, state="up")
    except (OSError, NetlinkError, ValueError) as exc:
        raise NetnsError(f"Failed to bring up loopback in network namespace {name}: {exc}") from exc


def remove(name: str) -> None:
    """Delete the namespace; one that is gone is fine."""
    try:
        netns.remove(name)
    except FileNotFoundError:
        return
    except (OSError, NetlinkError) as exc:
        if getattr(exc, "errno", None) == errno.ENOENT or getattr(exc, "code", None) == errno.ENOENT:
            return
        raise NetnsError(f"Failed to delete network namespace {name}: {exc}") from exc
