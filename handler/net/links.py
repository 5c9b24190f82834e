"""Links, addresses and routes, on the host or inside a named network namespace.

Owns every pyroute2 link call of the pod network: `Links(netns)` opens one
netlink socket in the host's namespace (`None`) or in a named one and offers
verbs that are idempotent as the reconcile loop needs them (a link that
exists is fine on create, one that is gone is fine on delete, and nothing
else). pyroute2's NetlinkError and OSError are translated here, once, into
LinkError with the kernel's words. Called by handler/net/pod.py. Never deletes
a link whose name it was not given, and never creates a namespace (a missing
one is a NamespaceError).
"""

from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from typing import Iterator

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from handler.net import namespaces
from handler.net.errors import LinkError, NamespaceError

IFF_UP = 0x1


@dataclass(frozen=True)
class LinkInfo:
    """What the pod network checks about one link."""

    name: str
    index: int
    kind: str          # bridge, veth, tun, ... ("" for plain devices)
    master: int        # index of the bridge it is a port of, 0 when none
    peer: int          # veth: the peer's index (in its own namespace), 0 otherwise
    up: bool
    mtu: int
    mac: str
    tun_owner: int | None = None   # tun/tap: the owning uid, None when unowned
    tun_type: str = ""             # tun/tap: "tap" or "tun"


def _code(exc: Exception) -> int | None:
    return getattr(exc, "code", None) or getattr(exc, "errno", None)


def _reason(exc: Exception) -> str:
    code = _code(exc)
    if isinstance(code, int) and code > 0:
        return os.strerror(code)
    return str(exc)


class Links:
    """A netlink socket in the host namespace (`netns=None`) or in the named one."""

    def __init__(self, netns: str | None = None) -> None:
        self.netns = netns
        self.where = f"network namespace {netns}" if netns else "the host namespace"
        if netns is not None:
            namespaces.require(netns)
        try:
            self._ipr = IPRoute(netns=netns, flags=0) if netns else IPRoute()
        except (OSError, NetlinkError) as exc:
            raise NamespaceError(f"Failed to open {self.where}: {_reason(exc)}") from exc

    def close(self) -> None:
        self._ipr.close()

    def __enter__(self) -> Links:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _doing(self, what: str, *, ok: tuple[int, ...] = ()) -> Iterator[None]:
        try:
            yield
        except (NetlinkError, OSError) as exc:
            if _code(exc) in ok:
                return
            raise LinkError(f"Failed to {what} in {self.where}: {_reason(exc)}") from exc

    # -- reading -------------------------------------------------------------------------------

    def get(self, name: str) -> LinkInfo | None:
        """The link called `name`, or None."""
        with self._doing(f"look up link {name}"):
            found = self._ipr.link_lookup(ifname=name)
        if not found:
            return None
        with self._doing(f"read link {name}", ok=(errno.ENODEV,)):
            (msg,) = self._ipr.get_links(found[0])
            return _info(msg)
        return None

    def names(self) -> list[str]:
        """The names of every link."""
        with self._doing("list links"):
            return sorted(msg.get_attr("IFLA_IFNAME") for msg in self._ipr.get_links())
        return []

    def addresses(self, name: str) -> list[IPv4Interface]:
        """The IPv4 addresses on link `name`."""
        info = self.get(name)
        if info is None:
            return []
        with self._doing(f"list the addresses of {name}"):
            return [IPv4Interface(f"{m.get_attr('IFA_ADDRESS')}/{m['prefixlen']}")
                    for m in self._ipr.get_addr(family=2, index=info.index)]
        return []

    def default_gateway(self) -> IPv4Address | None:
        """The IPv4 default route's gateway, or None."""
        with self._doing("read the default route"):
            for route in self._ipr.get_default_routes(family=2):
                gateway = route.get_attr("RTA_GATEWAY")
                if gateway:
                    return IPv4Address(gateway)
        return None

    def default_route_mtu(self) -> int | None:
        """The MTU of the link the IPv4 default route leaves through, or None."""
        with self._doing("read the default route"):
            for route in self._ipr.get_default_routes(family=2):
                oif = route.get_attr("RTA_OIF")
                if oif:
                    (msg,) = self._ipr.get_links(oif)
                    return int(msg.get_attr("IFLA_MTU"))
        return None

    def _require(self, name: str) -> LinkInfo:
        info = self.get(name)
        if info is None:
            raise LinkError(f"Link {name} does not exist in {self.where}")
        return info

    # -- creating --------------------------------------------------------------------------

    def ensure_bridge(self, name: str, mtu: int) -> LinkInfo:
        """A bridge `name` (no STP, no forwarding delay), up, with `mtu`."""
        info = self.get(name)
        if info is not None and info.kind != "bridge":
            raise LinkError(f"Link {name} in {self.where} exists but is a {info.kind or 'plain'} "
                            f"device, not a bridge; remove it or configure another bridge name")
        if info is None:
            with self._doing(f"create bridge {name}", ok=(errno.EEXIST,)):
                self._ipr.link("add", ifname=name, kind="bridge", br_stp_state=0, br_forward_delay=0)
        return self.set_up(name, mtu=mtu)

    def ensure_veth(self, host: str, peer: str, peer_netns: str, mtu: int) -> LinkInfo:
        """A veth pair: `host` here, `peer` in `peer_netns` (created there directly).

        A half-made pair (one end missing, or ends that are not each other's peers)
        is deleted and made again.
        """
        mine = self.get(host)
        with Links(peer_netns) as there:
            theirs = there.get(peer)
            paired = (mine is not None and theirs is not None and mine.kind == "veth"
                      and theirs.kind == "veth" and mine.peer == theirs.index and theirs.peer == mine.index)
            if not paired:
                if mine is not None:
                    self.delete(host)
                if theirs is not None:
                    there.delete(peer)
                with self._doing(f"create veth pair {host} / {peer} ({peer_netns})"):
                    self._ipr.link("add", ifname=host, kind="veth", mtu=mtu,
                                   peer={"ifname": peer, "net_ns_fd": peer_netns, "mtu": mtu})
        return self.set_up(host, mtu=mtu)

    def ensure_tap(self, name: str, owner_uid: int, mtu: int) -> LinkInfo:
        """A persistent tap `name` owned by `owner_uid` (that user may attach to it without
        CAP_NET_ADMIN), up. One with another owner or of another kind is made again."""
        info = self.get(name)
        if info is not None and (info.kind != "tun" or info.tun_type != "tap" or info.tun_owner != owner_uid):
            self.delete(name)
            info = None
        if info is None:
            with self._doing(f"create tap {name} owned by uid {owner_uid}"):
                self._ipr.link("add", ifname=name, kind="tuntap", mode="tap", uid=owner_uid,
                               ifr={"no_pi": True, "vnet_hdr": True, "one_queue": False,
                                    "multi_queue": False})
        return self.set_up(name, mtu=mtu)

    def set_up(self, name: str, *, mtu: int | None = None, master: str | None = None) -> LinkInfo:
        """Bring `name` up, with `mtu` and as a port of bridge `master` when given."""
        info = self._require(name)
        changes: dict[str, object] = {}
        if mtu is not None and info.mtu != mtu:
            changes["mtu"] = mtu
        if master is not None:
            bridge = self._require(master)
            if info.master != bridge.index:
                changes["master"] = bridge.index
        if not info.up:
            changes["state"] = "up"
        if changes:
            with self._doing(f"configure link {name} ({', '.join(sorted(changes))})"):
                self._ipr.link("set", index=info.index, **changes)
            info = self._require(name)
        return info

    def detach(self, name: str) -> None:
        """Make `name` a port of no bridge (an interface that was bridged before)."""
        info = self._require(name)
        if info.master:
            with self._doing(f"take link {name} off its bridge"):
                self._ipr.link("set", index=info.index, master=0)

    def set_addresses(self, name: str, wanted: list[IPv4Interface]) -> None:
        """Exactly `wanted` as the IPv4 addresses of `name` (others are removed)."""
        info = self._require(name)
        present = self.addresses(name)
        for address in present:
            if address not in wanted:
                with self._doing(f"remove address {address} from {name}", ok=(errno.EADDRNOTAVAIL,)):
                    self._ipr.addr("del", index=info.index, address=str(address.ip),
                                   prefixlen=address.network.prefixlen)
        for address in wanted:
            if address not in present:
                with self._doing(f"add address {address} to {name}", ok=(errno.EEXIST,)):
                    self._ipr.addr("add", index=info.index, address=str(address.ip),
                                   prefixlen=address.network.prefixlen)

    def set_default_route(self, gateway: IPv4Address, device: str) -> None:
        """The IPv4 default route goes via `gateway` on `device` (replacing any other)."""
        info = self._require(device)
        with self._doing(f"set the default route via {gateway} on {device}"):
            self._ipr.route("replace", dst="0.0.0.0/0", gateway=str(gateway), oif=info.index)

    def delete(self, name: str) -> None:
        """Delete link `name`; one that is gone is fine (a veth takes its peer with it)."""
        info = self.get(name)
        if info is None:
            return
        with self._doing(f"delete link {name}", ok=(errno.ENODEV,)):
            self._ipr.link("del", index=info.index)


def _info(msg) -> LinkInfo:
    linkinfo = msg.get_attr("IFLA_LINKINFO")
    kind, owner, tun_type = "", None, ""
    if linkinfo is not None:
        kind = linkinfo.get_attr("IFLA_INFO_KIND") or ""
        data = linkinfo.get_attr("IFLA_INFO_DATA")
        if kind == "tun" and data is not None and hasattr(data, "get_attr"):
            owner = data.get_attr("IFLA_TUN_OWNER")
            tun_type = {1: "tun", 2: "tap"}.get(data.get_attr("IFLA_TUN_TYPE"), "")
    return LinkInfo(
        name=msg.get_attr("IFLA_IFNAME"), index=msg["index"], kind=kind,
        master=msg.get_attr("IFLA_MASTER") or 0, peer=msg.get_attr("IFLA_LINK") or 0,
        up=bool(msg["flags"] & IFF_UP), mtu=int(msg.get_attr("IFLA_MTU") or 0),
        mac=(msg.get_attr("IFLA_ADDRESS") or "").lower(), tun_owner=owner, tun_type=tun_type)
