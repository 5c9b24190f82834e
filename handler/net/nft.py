"""nftables rules of the pod network: the masquerade NAT in a VMI's namespace, the node's egress.

Owns the rulesets as text (pure functions, unit-tested) and applying them
with the `nft` program, inside the VMI's network namespace or on the host.
Each ruleset is one table that belongs to virtnode alone and is replaced
whole, atomically, in one nft transaction (`table` / `delete table` / the new
table), so applying it again is harmless and a changed spec replaces the
rules without a window. nft's failures become FirewallError with nft's words.
Called by handler/net/pod.py. Never touches a table it did not name.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network

from handler.net import nsexec
from handler.net.errors import FirewallError
from handler.net.spec import Port

POD_TABLE = "virtnode"          # `table ip virtnode` in each VMI's network namespace
POD_BRIDGE_TABLE = "virtnode"   # `table bridge virtnode` there (bridge binding: DHCP stays inside)


def node_table(bridge: str) -> str:
    """The host's table for the node bridge (`virtnode_vn0`); nft names take no '-'."""
    return "virtnode_" + "".join(c if c.isalnum() else "_" for c in bridge)


def _replace(family: str, table: str, body: str) -> str:
    return (f"table {family} {table}\n"
            f"delete table {family} {table}\n"
            f"table {family} {table} {{\n{body}}}\n")


def masquerade_ruleset(pod_interface: str, pod_ip: IPv4Address, guest_ip: IPv4Address,
                       ports: Sequence[Port]) -> str:
    """KubeVirt's masquerade NAT for one guest, in the VMI's namespace:

    - DNAT: what arrives on the pod interface for the pod IP goes to the guest
      (only the listed ports when there are any; all traffic otherwise);
    - masquerade: what the guest sends out of the pod interface leaves with the pod IP.
    """
    if ports:
        by_protocol: dict[str, list[int]] = {}
        for port in ports:
            by_protocol.setdefault(port.protocol, []).append(port.number)
        inbound = "".join(
            f"    {protocol} dport {{ {', '.join(str(n) for n in sorted(set(numbers)))} }} "
            f"counter dnat to {guest_ip}\n"
            for protocol, numbers in sorted(by_protocol.items()))
    else:
        inbound = f"    counter dnat to {guest_ip}\n"
    body = (
        "  chain prerouting {\n"
        "    type nat hook prerouting priority dstnat; policy accept;\n"
        f"    iifname \"{pod_interface}\" ip daddr {pod_ip} jump inbound\n"
        "  }\n"
        "  chain inbound {\n"
        f"{inbound}"
        "  }\n"
        "  chain postrouting {\n"
        "    type nat hook postrouting priority srcnat; policy accept;\n"
        f"    oifname \"{pod_interface}\" ip saddr {guest_ip} counter masquerade\n"
        "  }\n")
    return _replace("ip", POD_TABLE, body)


def bridge_isolation_ruleset(pod_interface: str) -> str:
    """Bridge binding: the launcher's DHCP answers and the guest's DHCP requests stay inside
    the VMI's namespace (the node bridge and the other VMIs never see them)."""
    body = (
        "  chain forward {\n"
        "    type filter hook forward priority filter; policy accept;\n"
        f"    oifname \"{pod_interface}\" udp dport {{ 67, 68 }} counter drop\n"
        f"    iifname \"{pod_interface}\" udp dport {{ 67, 68 }} counter drop\n"
        "  }\n"
        "  chain input {\n"
        "    type filter hook input priority filter; policy accept;\n"
        f"    iifname \"{pod_interface}\" udp dport 67 counter drop\n"
        "  }\n"
        "  chain output {\n"
        "    type filter hook output priority filter; policy accept;\n"
        f"    oifname \"{pod_interface}\" udp sport 67 counter drop\n"
        "  }\n")
    return _replace("bridge", POD_BRIDGE_TABLE, body)


def egress_ruleset(bridge: str, cidr: IPv4Network) -> str:
    """The node's egress: the pod CIDR's traffic that leaves the host by another link than
    the node bridge is masqueraded behind the host's address."""
    body = (
        "  chain postrouting {\n"
        "    type nat hook postrouting priority srcnat; policy accept;\n"
        f"    ip saddr {cidr} oifname != \"{bridge}\" counter masquerade\n"
        "  }\n")
    return _replace("ip", node_table(bridge), body)


def _nft(netns: str | None, args: Sequence[str], stdin: str = "") -> str:
    if shutil.which("nft") is None:
        raise FirewallError("The nft program is not installed; install Debian's nftables package "
                            "(make install does)")
    where = f"network namespace {netns}" if netns else "the host namespace"
    try:
        done = nsexec.run(netns, ["nft", *args], stdin=stdin)
    except (OSError, subprocess.SubprocessError) as exc:
        raise FirewallError(f"Failed to run nft {' '.join(args)} in {where}: {exc}") from exc
    if done.returncode != 0:
        words = (done.stderr or done.stdout).strip().splitlines()
        raise FirewallError(f"nft {' '.join(args)} failed in {where}: "
                            f"{' '.join(words[:6]) or f'exit status {done.returncode}'}")
    return done.stdout


def apply(netns: str | None, ruleset: str) -> None:
    """Load `ruleset` (one atomic transaction) in `netns` (None: the host)."""
    _nft(netns, ["-f", "-"], stdin=ruleset)


def tables(netns: str | None) -> list[tuple[str, str]]:
    """(family, name) of every nftables table in `netns` (None: the host)."""
    out = _nft(netns, ["-j", "list", "tables"])
    found = []
    for item in json.loads(out or "{}").get("nftables", []):
        table = item.get("table")
        if table:
            found.append((table["family"], table["name"]))
    return found


def delete_table(netns: str | None, family: str, table: str) -> None:
    """Delete one table; one that is not there is fine."""
    if (family, table) in tables(netns):
        _nft(netns, ["delete", "table", family, table])


def ruleset(netns: str | None) -> str:
    """`nft list ruleset` in `netns`: what an operator would read."""
    return _nft(netns, ["list", "ruleset"])
