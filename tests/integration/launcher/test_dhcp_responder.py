"""The launcher's DHCP responders on real sockets, inside a throwaway network namespace.

Each test runs its sockets in a thread that joined a namespace of its own
(setns changes only that thread; sockets stay in the namespace they were made
in), so port 67 of the host is never touched and no packet leaves it.
"""

from __future__ import annotations

import socket
import struct
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
from pyroute2 import IPRoute, netns

from launcher import dhcp
from launcher.errors import MissingResourceError
from protos.launcher.v1 import cmd_pb2

pytestmark = [pytest.mark.root, pytest.mark.netns]

T = TypeVar("T")
MAC = "02:00:00:00:0a:01"


@pytest.fixture
def namespace() -> Iterator[str]:
    name = f"vntest-{uuid.uuid4().hex[:8]}"
    netns.create(name)
    with IPRoute(netns=name, flags=0) as ns:
        ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")
    yield name
    netns.remove(name)


def inside(name: str, fn: Callable[[], T]) -> T:
    """fn() run in a thread that joined network namespace `name`."""
    result: list = []

    def run() -> None:
        try:
            netns.setns(name, flags=0)
            result.append((True, fn()))
        except BaseException as exc:
            result.append((False, exc))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    ok, value = result[0]
    if not ok:
        raise value
    return value


def prepared(interface: str, mac: str = MAC, guest: str = "127.0.0.1") -> cmd_pb2.PreparedInterface:
    return cmd_pb2.PreparedInterface(name="default", tap="tap0", mac=mac, dhcp=cmd_pb2.PreparedInterface.Dhcp(
        server_interface=interface, server_address="127.0.0.1", guest_address=guest, prefix_length=8,
        hostname="vm1"))


def inform(mac: str) -> bytes:
    """An INFORM from 127.0.0.1 (so the ACK comes back unicast, on loopback)."""
    head = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, 0xBEEF, 0, 0, socket.inet_aton("127.0.0.1"),
                       bytes(4), bytes(4), bytes(4), bytes.fromhex(mac.replace(":", "")).ljust(16, b"\0"),
                       b"", b"")
    return head + b"\x63\x82\x53\x63" + bytes((53, 1, dhcp.INFORM, 255))


def ask(mac: str, wait: float = 5.0) -> dhcp.Packet | None:
    """Send an INFORM for `mac` to port 67 and wait up to `wait` seconds for the answer on port 68."""
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        client.bind(("127.0.0.1", 68))
        client.settimeout(wait)
        client.sendto(inform(mac), ("127.0.0.1", 67))
        try:
            return dhcp.parse(client.recv(4096))
        except socket.timeout:
            return None
    finally:
        client.close()


def test_responders_follow_the_synced_interfaces(namespace: str) -> None:
    """apply() starts a responder that answers its MAC only; applying the same again keeps it;
    applying none stops it and frees the port."""
    responders = dhcp.Responders()
    try:
        inside(namespace, lambda: responders.apply([prepared("lo")]))
        first = responders.serving()
        assert [lease.mac for lease in first["lo"]] == [MAC]
        ack = inside(namespace, lambda: ask(MAC))
        assert ack is not None and ack.message_type == dhcp.ACK and ack.options[12] == b"vm1"
        assert inside(namespace, lambda: ask("02:00:00:00:0a:99", wait=1)) is None

        inside(namespace, lambda: responders.apply([prepared("lo")]))
        assert responders.serving() == first
        inside(namespace, lambda: responders.apply([prepared("lo", mac="02:00:00:00:0a:02")]))
        assert inside(namespace, lambda: ask("02:00:00:00:0a:02")) is not None

        inside(namespace, lambda: responders.apply([]))
        assert responders.serving() == {}
        assert inside(namespace, lambda: ask("02:00:00:00:0a:02", wait=1)) is None
    finally:
        responders.stop()


def test_a_missing_bridge_is_not_found(namespace: str) -> None:
    """A bridge the handler did not create in the sandbox is a MissingResourceError naming it."""
    responders = dhcp.Responders()
    with pytest.raises(MissingResourceError, match="cannot bind to k6t-eth0: there is no such interface"):
        inside(namespace, lambda: responders.apply([prepared("k6t-eth0")]))
    assert responders.serving() == {}
