"""The launcher's DHCP answers, from the bytes a real guest sends to the bytes it gets back.

DISCOVER and REQUEST below are what the test guest's busybox udhcpc 1.35 sent to
the launcher's responder (captured from its debug log); the others are built
field by field as RFC 2131 lays them out.
"""

from __future__ import annotations

import socket
import struct

import pytest

from launcher import dhcp
from launcher.errors import InvalidRequestError
from protos.launcher.v1 import cmd_pb2

MAC = "02:79:24:24:a8:7b"
XID = 0x3037315D
_ZEROS = "00" * 192  # sname + file

UDHCPC_DISCOVER = bytes.fromhex(
    "010106003037315d0000000000000000000000000000000000000000"
    "02792424a87b00000000000000000000" + _ZEROS +
    "63825363" "350101" "3902" "0240" "3707" "0103060c0f1c2a" "0c0e" + b"virtnode-guest".hex()
    + "3c0c" + b"udhcp 1.35.0".hex() + "3d07" "0102792424a87b" "ff" "00000000")
UDHCPC_REQUEST = bytes.fromhex(
    "010106003037315d0000000000000000000000000000000000000000"
    "02792424a87b00000000000000000000" + _ZEROS +
    "63825363" "350103" "3204" "0a000202" "3604" "0a000201" "3902" "0240" "3707" "0103060c0f1c2a"
    "0c0e" + b"virtnode-guest".hex() + "3c0c" + b"udhcp 1.35.0".hex() + "3d07" "0102792424a87b" "ff")

LEASE = dhcp.Lease(mac=MAC, server_interface="k6t-eth0", server_address="10.0.2.1",
                   guest_address="10.0.2.2", prefix_length=24, gateway="10.0.2.1",
                   dns_servers=("10.255.255.53", "192.0.2.53"), search_domains=("example.org", "lab"),
                   hostname="vm1", mtu=1400, lease_seconds=86400)


def request(kind: int, mac: str = MAC, ciaddr: str = "0.0.0.0", **options: bytes) -> bytes:
    """A client's packet, field by field (RFC 2131 figure 1), with the options given as code=bytes."""
    chaddr = bytes.fromhex(mac.replace(":", ""))
    head = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, 0x1234, 0, 0,
                       socket.inet_aton(ciaddr), bytes(4), bytes(4), bytes(4), chaddr.ljust(16, b"\0"),
                       b"", b"")
    body = b"\x63\x82\x53\x63" + bytes((53, 1, kind))
    for code, value in options.items():
        body += bytes((int(code[1:]), len(value))) + value
    return head + body + b"\xff"


def reply_to(data: bytes, lease: dhcp.Lease = LEASE) -> dhcp.Packet | None:
    """What the responder answers to `data`, parsed back from the bytes it would send."""
    answer = dhcp.answer(dhcp.parse(data), lease)
    return None if answer is None else dhcp.parse(dhcp.encode(answer))


def ip(packet: dhcp.Packet, code: int) -> list[str]:
    raw = packet.options[code]
    return [socket.inet_ntoa(raw[i:i + 4]) for i in range(0, len(raw), 4)]


def test_udhcpc_discover_parses() -> None:
    """The guest's DISCOVER: its MAC, transaction id and the parameters it asks for."""
    p = dhcp.parse(UDHCPC_DISCOVER)
    assert (p.op, p.xid, p.mac, p.message_type) == (1, XID, MAC, dhcp.DISCOVER)
    assert p.options[55] == bytes((1, 3, 6, 12, 15, 28, 42))
    assert p.options[12] == b"virtnode-guest"


def test_discover_gets_an_offer_with_every_option() -> None:
    """DISCOVER -> OFFER of 10.0.2.2 with mask, router, DNS, hostname, domain, MTU, lease, server id."""
    offer = reply_to(UDHCPC_DISCOVER)
    assert offer is not None and offer.message_type == dhcp.OFFER
    assert (offer.op, offer.xid, offer.mac, offer.yiaddr) == (2, XID, MAC, "10.0.2.2")
    assert ip(offer, 54) == ["10.0.2.1"]
    assert ip(offer, 1) == ["255.255.255.0"]
    assert ip(offer, 3) == ["10.0.2.1"]
    assert ip(offer, 6) == ["10.255.255.53", "192.0.2.53"]
    assert ip(offer, 28) == ["10.0.2.255"]
    assert offer.options[12] == b"vm1"
    assert offer.options[15] == b"example.org"
    assert offer.options[119] == b"\x07example\x03org\x00\x03lab\x00"
    assert struct.unpack("!H", offer.options[26]) == (1400,)
    assert struct.unpack("!I", offer.options[51]) == (86400,)
    assert struct.unpack("!I", offer.options[58]) == (43200,)
    assert struct.unpack("!I", offer.options[59]) == (75600,)


def test_offer_bytes_are_a_proper_reply() -> None:
    """The OFFER on the wire: BOOTREPLY, message type first, END, at least 300 bytes, broadcast."""
    request = dhcp.parse(UDHCPC_DISCOVER)
    offer = dhcp.answer(request, LEASE)
    data = dhcp.encode(offer)
    assert len(data) >= 300 and data[0] == 2
    assert data[236:240] == b"\x63\x82\x53\x63" and data[240:243] == bytes((53, 1, dhcp.OFFER))
    assert data[243:249] == bytes((54, 4, 10, 0, 2, 1))
    assert data[28:34] == bytes.fromhex("02792424a87b")
    assert dhcp.destination(request, offer) == ("255.255.255.255", 68)


def test_udhcpc_request_gets_an_ack() -> None:
    """REQUEST for the offered address, naming this server -> ACK with the same configuration."""
    ack = reply_to(UDHCPC_REQUEST)
    assert ack is not None and ack.message_type == dhcp.ACK
    assert (ack.xid, ack.yiaddr) == (XID, "10.0.2.2")
    assert ip(ack, 3) == ["10.0.2.1"] and struct.unpack("!I", ack.options[51]) == (86400,)


def test_request_for_a_wrong_address_gets_a_nak() -> None:
    """REQUEST for an address that is not the guest's -> NAK (broadcast, no address, server id)."""
    data = request(dhcp.REQUEST, o50=socket.inet_aton("10.0.2.9"), o54=socket.inet_aton("10.0.2.1"))
    nak = reply_to(data)
    assert nak is not None and nak.message_type == dhcp.NAK
    assert nak.yiaddr == "0.0.0.0" and ip(nak, 54) == ["10.0.2.1"]
    assert dhcp.LEASE_TIME not in nak.options
    assert b"10.0.2.9" in nak.options[56]
    assert dhcp.destination(dhcp.parse(data), dhcp.parse(dhcp.encode(nak))) == ("255.255.255.255", 68)


def test_request_for_another_server_gets_nothing() -> None:
    """A REQUEST naming another server's id means the client chose that server: no reply."""
    data = request(dhcp.REQUEST, o50=socket.inet_aton("10.0.2.2"), o54=socket.inet_aton("10.0.2.99"))
    assert reply_to(data) is None


def test_renewal_is_acked_to_the_client_address() -> None:
    """A renewing client (ciaddr set, no requested-address option) gets an ACK sent to itself."""
    data = request(dhcp.REQUEST, ciaddr="10.0.2.2")
    ack = reply_to(data)
    assert ack is not None and ack.message_type == dhcp.ACK and ack.ciaddr == "10.0.2.2"
    assert dhcp.destination(dhcp.parse(data), ack) == ("10.0.2.2", 68)


def test_inform_gets_configuration_without_a_lease() -> None:
    """INFORM -> ACK with the configuration, no address and no lease time, sent to the client."""
    data = request(dhcp.INFORM, ciaddr="10.0.2.2")
    ack = reply_to(data)
    assert ack is not None and ack.message_type == dhcp.ACK
    assert ack.yiaddr == "0.0.0.0" and ack.ciaddr == "10.0.2.2"
    assert dhcp.LEASE_TIME not in ack.options and ip(ack, 6) == ["10.255.255.53", "192.0.2.53"]
    assert dhcp.destination(dhcp.parse(data), ack) == ("10.0.2.2", 68)


@pytest.mark.parametrize("kind", [dhcp.RELEASE, dhcp.DECLINE])
def test_release_and_decline_get_no_reply(kind: int) -> None:
    """RELEASE and DECLINE are taken note of; the server sends nothing back."""
    assert reply_to(request(kind, ciaddr="10.0.2.2", o54=socket.inet_aton("10.0.2.1"))) is None


def test_another_mac_gets_no_reply() -> None:
    """A request from a MAC the responder was not given (another VMI on the bridge) is ignored."""
    assert reply_to(request(dhcp.DISCOVER, mac="02:00:00:00:00:99")) is None


def test_optional_options_are_left_out() -> None:
    """No gateway, DNS, hostname, search domains or MTU: those options are not sent at all."""
    bare = dhcp.Lease(mac=MAC, server_interface="k6t-eth0", server_address="169.254.75.10",
                      guest_address="10.244.0.7", prefix_length=16)
    offer = reply_to(UDHCPC_DISCOVER, bare)
    assert offer is not None and offer.yiaddr == "10.244.0.7"
    assert ip(offer, 1) == ["255.255.0.0"] and ip(offer, 28) == ["10.244.255.255"]
    for code in (3, 6, 12, 15, 26, 119):
        assert code not in offer.options


def test_long_options_are_split_and_joined() -> None:
    """An option longer than 255 bytes goes out as several (RFC 3396) and parses back whole."""
    domains = tuple(f"d{i}.{'x' * 40}.example" for i in range(8))
    lease = dhcp.Lease(mac=MAC, server_interface="k6t-eth0", server_address="10.0.2.1",
                       guest_address="10.0.2.2", prefix_length=24, search_domains=domains)
    data = dhcp.encode(dhcp.answer(dhcp.parse(UDHCPC_DISCOVER), lease))
    assert data.count(bytes((119, 255))) == 1
    assert dhcp.parse(data).options[119] == dhcp.encode_domains(domains)


@pytest.mark.parametrize(("data", "why"), [
    (UDHCPC_DISCOVER[:200], "too short"),
    (UDHCPC_DISCOVER[:236] + b"\x00\x00\x00\x00" + UDHCPC_DISCOVER[240:], "magic cookie"),
    (UDHCPC_REQUEST[:-1][:-10] + bytes((12, 40)) + b"abc", "truncated"),
])
def test_garbage_is_refused(data: bytes, why: str) -> None:
    """Bytes that are not a whole DHCP packet raise PacketError saying what is wrong."""
    with pytest.raises(dhcp.PacketError, match=why):
        dhcp.parse(data)


def prepared(**dhcp_fields) -> cmd_pb2.PreparedInterface:
    fields = dict(server_interface="k6t-eth0", server_address="10.0.2.1", guest_address="10.0.2.2",
                  prefix_length=24, gateway="10.0.2.1", dns_servers=["10.255.255.53"], hostname="vm1",
                  mtu=1400)
    fields.update(dhcp_fields)
    return cmd_pb2.PreparedInterface(name="default", tap="tap0", mac="02:79:24:24:A8:7B",
                                     dhcp=cmd_pb2.PreparedInterface.Dhcp(**fields))


def test_lease_from_the_handlers_settings() -> None:
    """PreparedInterface.dhcp becomes a Lease (MAC normalised, lease time defaulted to a day)."""
    lease = dhcp.Lease.from_prepared(prepared())
    assert lease.mac == MAC and lease.lease_seconds == 86400 and lease.netmask == "255.255.255.0"
    assert lease.dns_servers == ("10.255.255.53",)


@pytest.mark.parametrize(("fields", "message"), [
    ({"guest_address": "10.0.2"}, "guest_address '10.0.2' is not an IPv4 address"),
    ({"dns_servers": ["::1"]}, "dns_servers '::1' is not an IPv4 address"),
    ({"prefix_length": 33}, "prefix_length 33 is not 1 to 32"),
    ({"server_interface": ""}, "name no server_interface"),
])
def test_bad_settings_are_refused(fields: dict, message: str) -> None:
    """Settings the responder cannot serve are an InvalidRequestError naming the interface and field."""
    with pytest.raises(InvalidRequestError, match="interface 'default'") as refused:
        dhcp.Lease.from_prepared(prepared(**fields))
    assert message in str(refused.value)
