"""The guest's DHCP server: packets (pure) and a small responder per bridge in the sandbox.

Owns answering the guest's DHCP on the interfaces the handler prepared
(`PreparedInterface.dhcp` in protos/launcher/v1/cmd.proto): `parse()` and
`encode()` turn RFC 2131 packets into `Packet`s and back, `answer()` decides
the reply to a request from one `Lease` (DISCOVER → OFFER, REQUEST → ACK or
NAK, INFORM → ACK without a lease, RELEASE and DECLINE → nothing), and
`Responder` serves one bridge with a UDP socket on port 67 bound to that device
(SO_BINDTODEVICE; the launcher is root in the sandbox's network namespace).
`Responders.apply()` is what a Sync calls: start, update or stop responders to
match the interfaces; `stop()` ends them all. It answers only the MACs it was
given, so a request from anyone else on the bridge gets no reply. Never
touches an interface it was not named, and needs no libvirt.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import struct
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from launcher.errors import DhcpError, InvalidRequestError, MissingResourceError

log = logging.getLogger(__name__)

SERVER_PORT, CLIENT_PORT = 67, 68
MAGIC = b"\x63\x82\x53\x63"
BOOTREQUEST, BOOTREPLY = 1, 2
DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = range(1, 9)
TYPE_NAMES = {DISCOVER: "DISCOVER", OFFER: "OFFER", REQUEST: "REQUEST", DECLINE: "DECLINE",
              ACK: "ACK", NAK: "NAK", RELEASE: "RELEASE", INFORM: "INFORM"}
FLAG_BROADCAST = 0x8000
DEFAULT_LEASE = 86400
MIN_PACKET = 300  # BOOTP's minimum; some clients drop shorter replies

# Option codes
PAD, SUBNET_MASK, ROUTER, DNS, HOSTNAME, DOMAIN_NAME, MTU, BROADCAST = 0, 1, 3, 6, 12, 15, 26, 28
REQUESTED_IP, LEASE_TIME, MESSAGE_TYPE, SERVER_ID, MESSAGE = 50, 51, 53, 54, 56
RENEWAL_TIME, REBINDING_TIME, CLIENT_ID, DOMAIN_SEARCH, END = 58, 59, 61, 119, 255

_HEADER = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")  # up to the magic cookie: 236 bytes


class PacketError(ValueError):
    """Bytes that are not a DHCP packet (too short, no magic cookie, a truncated option)."""


@dataclass(frozen=True)
class Packet:
    """One DHCP message. Addresses are dotted strings; options map code -> raw bytes."""

    op: int
    xid: int
    chaddr: bytes                    # the client's hardware address (hlen bytes)
    options: dict[int, bytes] = field(default_factory=dict)
    htype: int = 1
    secs: int = 0
    flags: int = 0
    ciaddr: str = "0.0.0.0"
    yiaddr: str = "0.0.0.0"
    siaddr: str = "0.0.0.0"
    giaddr: str = "0.0.0.0"

    @property
    def message_type(self) -> int | None:
        value = self.options.get(MESSAGE_TYPE)
        return value[0] if value and len(value) == 1 else None

    @property
    def mac(self) -> str:
        return ":".join(f"{b:02x}" for b in self.chaddr)

    def address_option(self, code: int) -> str | None:
        value = self.options.get(code)
        return socket.inet_ntoa(value) if value is not None and len(value) == 4 else None


@dataclass(frozen=True)
class Lease:
    """What one guest (by MAC) gets: PreparedInterface.Dhcp, checked and normalised."""

    mac: str
    server_interface: str
    server_address: str
    guest_address: str
    prefix_length: int
    gateway: str = ""
    dns_servers: tuple[str, ...] = ()
    search_domains: tuple[str, ...] = ()
    hostname: str = ""
    mtu: int = 0
    lease_seconds: int = DEFAULT_LEASE

    @property
    def netmask(self) -> str:
        return str(ipaddress.IPv4Network(f"0.0.0.0/{self.prefix_length}").netmask)

    @property
    def broadcast(self) -> str:
        network = ipaddress.IPv4Network(f"{self.guest_address}/{self.prefix_length}", strict=False)
        return str(network.broadcast_address)

    @classmethod
    def from_prepared(cls, iface) -> Lease:
        """The lease of a PreparedInterface with DHCP settings; InvalidRequestError naming what
        is wrong."""
        d = iface.dhcp
        where = f"interface {iface.name!r}"
        addresses = [("guest_address", d.guest_address), ("server_address", d.server_address)]
        addresses += [("gateway", d.gateway)] if d.gateway else []
        addresses += [("dns_servers", s) for s in d.dns_servers]
        for label, value in addresses:
            try:
                ipaddress.IPv4Address(value)
            except ValueError:
                raise InvalidRequestError(f"The DHCP settings of {where} are invalid: {label} "
                                          f"{value!r} is not an IPv4 address") from None
        if not 0 < d.prefix_length <= 32:
            raise InvalidRequestError(f"The DHCP settings of {where} are invalid: prefix_length "
                                      f"{d.prefix_length} is not 1 to 32")
        if not d.server_interface:
            raise InvalidRequestError(f"The DHCP settings of {where} name no server_interface")
        mac = iface.mac.lower().replace("-", ":")
        try:
            valid_mac = len(bytes.fromhex(mac.replace(":", ""))) == 6
        except ValueError:
            valid_mac = False
        if not valid_mac:
            raise InvalidRequestError(f"The DHCP settings of {where} are invalid: MAC {iface.mac!r} "
                                      f"is not a 6-byte hardware address")
        return cls(mac=mac, server_interface=d.server_interface, server_address=d.server_address,
                   guest_address=d.guest_address, prefix_length=d.prefix_length, gateway=d.gateway,
                   dns_servers=tuple(d.dns_servers), search_domains=tuple(d.search_domains),
                   hostname=d.hostname, mtu=d.mtu, lease_seconds=d.lease_seconds or DEFAULT_LEASE)


# --- bytes <-> Packet ---------------------------------------------------------------------------


def parse(data: bytes) -> Packet:
    """A Packet from the bytes of a UDP payload; PacketError when they are not DHCP."""
    if len(data) < _HEADER.size + len(MAGIC):
        raise PacketError(f"{len(data)} bytes is too short for a DHCP packet")
    (op, htype, hlen, _hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr,
     _sname, _file) = _HEADER.unpack_from(data)
    if data[_HEADER.size:_HEADER.size + 4] != MAGIC:
        raise PacketError("No DHCP magic cookie (a plain BOOTP packet)")
    if hlen > 16:
        raise PacketError(f"Hardware address length {hlen} is longer than 16")
    options: dict[int, bytes] = {}
    i, end = _HEADER.size + 4, len(data)
    while i < end:
        code = data[i]
        if code == PAD:
            i += 1
            continue
        if code == END:
            break
        if i + 1 >= end or i + 2 + data[i + 1] > end:
            raise PacketError(f"Option {code} is truncated")
        length = data[i + 1]
        # RFC 3396: a repeated option is one long option, concatenated.
        options[code] = options.get(code, b"") + data[i + 2:i + 2 + length]
        i += 2 + length
    return Packet(op=op, xid=xid, chaddr=chaddr[:hlen], options=options, htype=htype, secs=secs,
                  flags=flags, ciaddr=socket.inet_ntoa(ciaddr), yiaddr=socket.inet_ntoa(yiaddr),
                  siaddr=socket.inet_ntoa(siaddr), giaddr=socket.inet_ntoa(giaddr))


def encode(packet: Packet) -> bytes:
    """The bytes of `packet`: message type first, options longer than 255 bytes split (RFC 3396),
    padded to 300 bytes."""
    head = _HEADER.pack(packet.op, packet.htype, len(packet.chaddr), 0, packet.xid, packet.secs,
                        packet.flags, socket.inet_aton(packet.ciaddr), socket.inet_aton(packet.yiaddr),
                        socket.inet_aton(packet.siaddr), socket.inet_aton(packet.giaddr),
                        packet.chaddr.ljust(16, b"\0"), b"", b"")
    body = bytearray(MAGIC)
    order = sorted(packet.options, key=lambda code: (code != MESSAGE_TYPE, code != SERVER_ID))
    for code in order:
        value = packet.options[code]
        for start in range(0, max(len(value), 1), 255):
            chunk = value[start:start + 255]
            body += bytes((code, len(chunk))) + chunk
    body.append(END)
    out = head + bytes(body)
    return out.ljust(MIN_PACKET, b"\0")


def encode_domains(domains: Iterable[str]) -> bytes:
    """Option 119 (RFC 3397): each domain in DNS wire format, without compression."""
    out = bytearray()
    for domain in domains:
        for label in domain.strip(".").split("."):
            raw = label.encode("idna") if label else b""
            if not 0 < len(raw) < 64:
                raise ValueError(f"{domain!r} is not a domain name")
            out += bytes((len(raw),)) + raw
        out.append(0)
    return bytes(out)


# --- deciding the reply -----------------------------------------------------------------------


def _ip(address: str) -> bytes:
    return socket.inet_aton(address)


def _configuration(lease: Lease, with_lease: bool) -> dict[int, bytes]:
    options = {SERVER_ID: _ip(lease.server_address), SUBNET_MASK: _ip(lease.netmask),
               BROADCAST: _ip(lease.broadcast)}
    if with_lease:
        seconds = lease.lease_seconds
        options[LEASE_TIME] = struct.pack("!I", seconds)
        options[RENEWAL_TIME] = struct.pack("!I", seconds // 2)
        options[REBINDING_TIME] = struct.pack("!I", seconds * 7 // 8)
    if lease.gateway:
        options[ROUTER] = _ip(lease.gateway)
    if lease.dns_servers:
        options[DNS] = b"".join(_ip(s) for s in lease.dns_servers)
    if lease.hostname:
        options[HOSTNAME] = lease.hostname.encode()[:255]
    if lease.search_domains:
        options[DOMAIN_NAME] = lease.search_domains[0].encode()
        try:
            options[DOMAIN_SEARCH] = encode_domains(lease.search_domains)
        except ValueError as e:
            log.warning("search domains not sent: %s", e)
    if lease.mtu:
        options[MTU] = struct.pack("!H", lease.mtu)
    return options


def _reply(request: Packet, kind: int, options: dict[int, bytes], yiaddr: str = "0.0.0.0",
           ciaddr: str = "0.0.0.0") -> Packet:
    return Packet(op=BOOTREPLY, xid=request.xid, chaddr=request.chaddr, htype=request.htype,
                  flags=request.flags, ciaddr=ciaddr, yiaddr=yiaddr, giaddr=request.giaddr,
                  options={MESSAGE_TYPE: bytes((kind,)), **options})


def answer(request: Packet, lease: Lease) -> Packet | None:
    """The reply to `request` from a server that holds `lease`, or None when it gets none
    (not a request, another client's MAC, a request for another server, RELEASE, DECLINE)."""
    if request.op != BOOTREQUEST or request.mac != lease.mac:
        return None
    kind = request.message_type
    if kind == DISCOVER:
        return _reply(request, OFFER, _configuration(lease, True), yiaddr=lease.guest_address)
    if kind == REQUEST:
        server = request.address_option(SERVER_ID)
        if server is not None and server != lease.server_address:
            return None  # the client took another server's offer
        wanted = request.address_option(REQUESTED_IP) or (
            request.ciaddr if request.ciaddr != "0.0.0.0" else None)
        if wanted != lease.guest_address:
            return _reply(request, NAK, {SERVER_ID: _ip(lease.server_address),
                                         MESSAGE: f"address {wanted or 'none'} is not this client's; "
                                                  f"it is {lease.guest_address}".encode()})
        return _reply(request, ACK, _configuration(lease, True), yiaddr=lease.guest_address,
                      ciaddr=request.ciaddr)
    if kind == INFORM:
        return _reply(request, ACK, _configuration(lease, False), ciaddr=request.ciaddr)
    return None  # RELEASE, DECLINE (logged by the responder), or no message type


def destination(request: Packet, reply: Packet) -> tuple[str, int]:
    """Where a reply goes: the client's address when it has one (renewing, INFORM), else
    broadcast (RFC 2131 4.1; a NAK is always broadcast). No relays here."""
    if reply.message_type != NAK and request.ciaddr != "0.0.0.0":
        return request.ciaddr, CLIENT_PORT
    return "255.255.255.255", CLIENT_PORT


# --- the responder --------------------------------------------------------------------------


class Responder:
    """One UDP socket on port 67 bound to one bridge, answering the leases of that bridge."""

    def __init__(self, interface: str, leases: Iterable[Lease]) -> None:
        self.interface = interface
        self._leases = {lease.mac: lease for lease in leases}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = _open_socket(interface)
        self._thread = threading.Thread(target=self._serve, name=f"dhcp-{interface}", daemon=True)
        self._thread.start()
        log.info("DHCP responder on %s serving %s", interface,
                 ", ".join(f"{l.guest_address} to {l.mac}" for l in self._leases.values()))

    @property
    def leases(self) -> list[Lease]:
        with self._lock:
            return list(self._leases.values())

    def update(self, leases: Iterable[Lease]) -> None:
        new = {lease.mac: lease for lease in leases}
        with self._lock:
            changed, self._leases = new != self._leases, new
        if changed:
            log.info("DHCP responder on %s now serves %s", self.interface,
                     ", ".join(f"{l.guest_address} to {l.mac}" for l in new.values()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, sender = self._sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError as e:
                if not self._stop.is_set():
                    log.error("DHCP responder on %s cannot receive: %s", self.interface, e)
                return
            try:
                self.handle(data, sender)
            except Exception:  # one bad packet must never end the responder
                log.exception("DHCP packet from %s on %s not handled", sender, self.interface)

    def handle(self, data: bytes, sender) -> None:
        log.debug("UDP packet from %s on %s: %s", sender, self.interface, data.hex())
        try:
            request = parse(data)
        except PacketError as e:
            log.debug("ignoring a non-DHCP packet from %s on %s: %s", sender, self.interface, e)
            return
        with self._lock:
            lease = self._leases.get(request.mac)
        kind = TYPE_NAMES.get(request.message_type or 0, "unknown")
        if lease is None:
            log.debug("DHCP %s from %s on %s: not a client of this responder", kind, request.mac,
                      self.interface)
            return
        if request.message_type == DECLINE:
            log.warning("the guest %s declined %s on %s (is the address in use?)", request.mac,
                        request.address_option(REQUESTED_IP), self.interface)
        reply = answer(request, lease)
        if reply is None:
            log.debug("DHCP %s from %s on %s: no reply", kind, request.mac, self.interface)
            return
        self._send(request, reply)
        what = TYPE_NAMES[reply.message_type]
        level = logging.INFO if reply.message_type in (ACK, NAK) else logging.DEBUG
        log.log(level, "DHCP %s %s to %s on %s", what, reply.yiaddr if reply.yiaddr != "0.0.0.0"
                else reply.ciaddr, request.mac, self.interface)

    def _send(self, request: Packet, reply: Packet) -> None:
        data = encode(reply)
        address = destination(request, reply)
        try:
            self._sock.sendto(data, address)
        except OSError as e:
            if address[0] == "255.255.255.255":
                raise
            log.debug("unicast to %s failed (%s); broadcasting", address[0], e)
            self._sock.sendto(data, ("255.255.255.255", CLIENT_PORT))


def _open_socket(interface: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode() + b"\0")
        sock.bind(("0.0.0.0", SERVER_PORT))
        sock.settimeout(0.5)
    except OSError as e:
        sock.close()
        if e.errno == 19:  # ENODEV
            raise MissingResourceError(f"The DHCP responder cannot bind to {interface}: there is no "
                                       f"such interface in the sandbox; the handler prepares it") from e
        raise DhcpError(f"The DHCP responder cannot listen on {interface} port {SERVER_PORT}: "
                        f"{e.strerror or e}") from e
    return sock


class Responders:
    """The launcher's responders, one per bridge named in the prepared interfaces."""

    def __init__(self) -> None:
        self._by_interface: dict[str, Responder] = {}
        self._lock = threading.Lock()

    def apply(self, interfaces: Iterable) -> None:
        """Serve exactly the DHCP settings of `interfaces` (PreparedInterface): start, update
        and stop responders to match. Idempotent. Every setting is checked before any change."""
        wanted: dict[str, list[Lease]] = {}
        for iface in interfaces:
            if iface.HasField("dhcp"):
                lease = Lease.from_prepared(iface)
                wanted.setdefault(lease.server_interface, []).append(lease)
        with self._lock:
            for name in [n for n in self._by_interface if n not in wanted]:
                self._by_interface.pop(name).stop()
            for name, leases in wanted.items():
                running = self._by_interface.get(name)
                if running is None:
                    self._by_interface[name] = Responder(name, leases)
                else:
                    running.update(leases)

    def serving(self) -> dict[str, list[Lease]]:
        with self._lock:
            return {name: r.leases for name, r in self._by_interface.items()}

    def stop(self) -> None:
        with self._lock:
            for responder in self._by_interface.values():
                responder.stop()
            self._by_interface.clear()
