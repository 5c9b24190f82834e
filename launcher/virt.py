"""The launcher's one libvirt wrapper: a connection to the private daemon and its one domain.

Owns every use of `libvirt` and `libvirt_qemu` in the project (no other module
imports them), the process-wide libvirt event loop thread, and the translation
of `libvirt.libvirtError` into launcher/errors.py, once, by error code. The
launcher connects with `Hypervisor.connect(daemon.uri, name, paths=daemon.paths,
on_connection_lost=...)` and drives the domain with verbs: define, start,
shutdown, destroy, suspend, resume, reset, reboot, undefine, agent_command,
guest_info, stats.

Event callbacks (`on_lifecycle`, `on_agent_lifecycle`, `on_connection_lost`)
run on the libvirt event thread: they must return quickly and never block or
call back into libvirt synchronously (hand the event to a queue instead); a
blocked callback stalls keepalives and so every other event. A lost connection
is final: the launcher is crash-only and exits (vdsm's habit); this module
never reconnects.

Never starts processes and never touches files other than the daemon's QEMU
pid file and QEMU log (read-only).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libvirt
import libvirt_qemu

from launcher.daemon import DaemonPaths
from launcher.errors import (
    AgentUnavailableError,
    ConnectionLostError,
    DomainNotFoundError,
    DomainStateError,
    HypervisorError,
    InvalidRequestError,
    KVMInternalError,
    LauncherError,
    MissingResourceError,
)

log = logging.getLogger(__name__)

KEEPALIVE_INTERVAL_S = 5
KEEPALIVE_COUNT = 3
QEMU_LOG_TAIL_BYTES = 256 * 1024

LifecycleCallback = Callable[[str, str], None]  # (event, detail), e.g. ("stopped", "shutdown")
AgentCallback = Callable[[bool, str], None]  # (connected, reason)
LostCallback = Callable[[str], None]  # (reason): "eof", "error", "keepalive", "client"


def _table(prefix: str, names: str) -> dict[int, str]:
    """{libvirt.<prefix><NAME>: name} for the names this libvirt has."""
    table = {}
    for name in names.split():
        value = getattr(libvirt, prefix + name.upper(), None)
        if value is not None:
            table[value] = name
    return table


STATES = _table("VIR_DOMAIN_", "nostate running blocked paused shutdown shutoff crashed pmsuspended")
REASONS = {
    libvirt.VIR_DOMAIN_NOSTATE: _table("VIR_DOMAIN_NOSTATE_", "unknown"),
    libvirt.VIR_DOMAIN_RUNNING: _table(
        "VIR_DOMAIN_RUNNING_", "unknown booted migrated restored from_snapshot unpaused "
        "migration_canceled save_canceled wakeup crashed postcopy postcopy_failed"),
    libvirt.VIR_DOMAIN_BLOCKED: _table("VIR_DOMAIN_BLOCKED_", "unknown"),
    libvirt.VIR_DOMAIN_PAUSED: _table(
        "VIR_DOMAIN_PAUSED_", "unknown user migration save dump ioerror watchdog from_snapshot "
        "shutting_down snapshot crashed starting_up postcopy postcopy_failed api_error"),
    libvirt.VIR_DOMAIN_SHUTDOWN: {libvirt.VIR_DOMAIN_SHUTDOWN_UNKNOWN: "unknown",
                                  libvirt.VIR_DOMAIN_SHUTDOWN_USER: "user"},
    libvirt.VIR_DOMAIN_SHUTOFF: _table(
        "VIR_DOMAIN_SHUTOFF_", "unknown shutdown destroyed crashed migrated saved failed "
        "from_snapshot daemon"),
    libvirt.VIR_DOMAIN_CRASHED: _table("VIR_DOMAIN_CRASHED_", "unknown panicked"),
    libvirt.VIR_DOMAIN_PMSUSPENDED: _table("VIR_DOMAIN_PMSUSPENDED_", "unknown"),
}
EVENTS = _table("VIR_DOMAIN_EVENT_", "defined undefined started suspended resumed stopped "
                "shutdown pmsuspended crashed")
EVENT_DETAILS = {
    event: _table(f"VIR_DOMAIN_EVENT_{name.upper()}_", details)
    for event, name, details in (
        (libvirt.VIR_DOMAIN_EVENT_DEFINED, "defined", "added updated renamed from_snapshot"),
        (libvirt.VIR_DOMAIN_EVENT_UNDEFINED, "undefined", "removed renamed"),
        (libvirt.VIR_DOMAIN_EVENT_STARTED, "started", "booted migrated restored from_snapshot wakeup"),
        (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, "suspended", "paused migrated ioerror watchdog restored "
         "from_snapshot api_error postcopy postcopy_failed"),
        (libvirt.VIR_DOMAIN_EVENT_RESUMED, "resumed", "unpaused migrated from_snapshot postcopy "
         "postcopy_failed"),
        (libvirt.VIR_DOMAIN_EVENT_STOPPED, "stopped", "shutdown destroyed crashed migrated saved "
         "failed from_snapshot"),
        (libvirt.VIR_DOMAIN_EVENT_SHUTDOWN, "shutdown", "finished guest host"),
        (libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED, "pmsuspended", "memory disk"),
        (libvirt.VIR_DOMAIN_EVENT_CRASHED, "crashed", "panicked crashloaded"),
    )
}
AGENT_REASONS = _table("VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_", "unknown domain_started channel")
CLOSE_REASONS = _table("VIR_CONNECT_CLOSE_REASON_", "error eof keepalive client")

# libvirt error codes, by the error they become (see Hypervisor._translate).
_INVALID = {libvirt.VIR_ERR_XML_ERROR, libvirt.VIR_ERR_XML_DETAIL, libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
            libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_XML_INVALID_SCHEMA, libvirt.VIR_ERR_NO_SUPPORT}
_STATE = {libvirt.VIR_ERR_OPERATION_INVALID}
_MISSING = {libvirt.VIR_ERR_NO_STORAGE_VOL, libvirt.VIR_ERR_NO_STORAGE_POOL, libvirt.VIR_ERR_NO_NETWORK,
            libvirt.VIR_ERR_NO_SECRET, libvirt.VIR_ERR_NO_NODE_DEVICE}
_AGENT = {libvirt.VIR_ERR_AGENT_UNRESPONSIVE, libvirt.VIR_ERR_AGENT_UNSYNCED,
          getattr(libvirt, "VIR_ERR_AGENT_COMMAND_TIMEOUT", -1), getattr(libvirt, "VIR_ERR_AGENT_COMMAND_FAILED", -1)}
_LOST = {libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_INVALID_CONN, libvirt.VIR_ERR_RPC}
_TRANSPORT_DOMAINS = {libvirt.VIR_FROM_RPC, libvirt.VIR_FROM_REMOTE}


@dataclass(frozen=True)
class GuestInfo:
    """What the guest agent tells about the guest."""

    hostname: str | None
    os: dict[str, Any] = field(default_factory=dict)  # id, name, version, kernel-release, machine, ...
    users: list[dict[str, Any]] = field(default_factory=list)  # name, domain, login-time
    filesystems: list[dict[str, Any]] = field(default_factory=list)  # name, mountpoint, fstype, ...
    interfaces: list[dict[str, Any]] = field(default_factory=list)  # name, hwaddr, addresses


@dataclass(frozen=True)
class DomainStats:
    """One sample of the domain's counters (libvirt's bulk stats, parsed)."""

    cpu_time_ns: int
    cpu_user_ns: int
    cpu_system_ns: int
    memory: dict[str, int]  # balloon.*: current, maximum, rss, available, usable, unused, ... (KiB)
    blocks: list[dict[str, Any]]  # name, path, rd.reqs, rd.bytes, wr.reqs, wr.bytes, ...
    nets: list[dict[str, Any]]  # name, rx.bytes, rx.pkts, tx.bytes, tx.pkts, ...
    raw: dict[str, Any]


def kvm_internal_error(qemu_log: str, domain: str = "the guest") -> KVMInternalError | None:
    """The KVM internal error that stopped the guest's latest run, read from its
    QEMU log (libvirt appends a "starting up" header per start), or None."""
    starts = [m.end() for m in re.finditer(r"^.*starting up libvirt version.*$", qemu_log, re.MULTILINE)]
    latest = qemu_log[starts[-1]:] if starts else qemu_log
    lines = latest.splitlines()
    for index, line in enumerate(lines):
        match = re.search(r"KVM internal error\.?\s*(Suberror:\s*\d+)?", line)
        if match is None:
            continue
        # QEMU (kvm-all.c) prints the suberror, "extra data[i]: ..." lines, then
        # "emulation failure" for suberror 1, then the register dump.
        detail = [match.group(1)] if match.group(1) else []
        for following in lines[index + 1:index + 16]:
            if following.startswith("extra data"):
                continue
            if following.strip() == "emulation failure":
                detail.append("emulation failure")
            break
        why = f" ({', '.join(detail)})" if detail else ""
        return KVMInternalError(f"The guest {domain} stopped with a KVM internal error{why}; "
                                f"{KVMInternalError.HINT}")
    return None


class Hypervisor:
    """A connection to the private libvirt daemon, acting on one domain by name."""

    def __init__(self, connection: libvirt.virConnect, name: str, paths: DaemonPaths | None,
                 on_connection_lost: LostCallback | None) -> None:
        self._conn = connection
        self.name = name
        self.paths = paths
        self._on_connection_lost = on_connection_lost
        self._callback_ids: list[int] = []
        self._lost: str | None = None
        self._closed = False

    @classmethod
    def connect(cls, uri: str, name: str, *, paths: DaemonPaths | None = None,
                on_connection_lost: LostCallback | None = None) -> Hypervisor:
        """Opens `uri` (the private daemon's), with keepalive and a close callback.
        `paths` lets qemu_pid() and last_failure() find the daemon's files."""
        _ensure_event_loop()
        try:
            connection = libvirt.open(uri)
        except libvirt.libvirtError as exc:
            raise ConnectionLostError(f"Cannot connect to the private libvirt daemon at {uri}: "
                                      f"{_message(exc)}") from exc
        hypervisor = cls(connection, name, paths, on_connection_lost)
        try:
            connection.registerCloseCallback(hypervisor._closed_by_daemon, None)
            connection.setKeepAlive(KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT)
        except libvirt.libvirtError as exc:
            with contextlib.suppress(libvirt.libvirtError):
                connection.close()
            raise ConnectionLostError(f"Cannot set up the connection to {uri}: {_message(exc)}") from exc
        return hypervisor

    def close(self) -> None:
        """Deregisters the callbacks and closes the connection; idempotent."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(libvirt.libvirtError):
            for callback_id in self._callback_ids:
                self._conn.domainEventDeregisterAny(callback_id)
            self._conn.unregisterCloseCallback()
        with contextlib.suppress(libvirt.libvirtError):
            self._conn.close()

    def versions(self) -> dict[str, str]:
        """libvirt's and QEMU's versions, as "major.minor.micro"."""
        def text(number: int) -> str:
            return f"{number // 1_000_000}.{number // 1000 % 1000}.{number % 1000}"

        with self._translated("read the versions of"):
            return {"libvirt": text(self._conn.getLibVersion()), "qemu": text(self._conn.getVersion())}

    def alive(self) -> bool:
        try:
            return self._lost is None and not self._closed and bool(self._conn.isAlive())
        except libvirt.libvirtError:
            return False

    # -- domain lifecycle --------------------------------------------------------

    def define(self, domain_xml: str) -> None:
        """Defines the domain, or redefines it (the change applies at next start)."""
        try:
            named = ElementTree.fromstring(domain_xml).findtext("name")
        except ElementTree.ParseError as exc:
            raise InvalidRequestError(f"Failed to define domain {self.name}: the XML does not parse: {exc}") from exc
        if named != self.name:
            raise InvalidRequestError(f"Failed to define domain {self.name}: the XML names {named!r}")
        if not re.search(r"<uuid>", domain_xml):
            domain_xml = self._with_existing_uuid(domain_xml)
        with self._translated("define"):
            self._conn.defineXMLFlags(domain_xml, libvirt.VIR_DOMAIN_DEFINE_VALIDATE)

    def _with_existing_uuid(self, domain_xml: str) -> str:
        """A redefinition must repeat the domain's UUID; XML without one gets the defined one's."""
        try:
            uuid = self._conn.lookupByName(self.name).UUIDString()
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return domain_xml
            raise self._translate(exc, "define") from exc
        return domain_xml.replace("</name>", f"</name><uuid>{uuid}</uuid>", 1)

    def start(self, paused: bool = False) -> None:
        flags = libvirt.VIR_DOMAIN_START_PAUSED if paused else 0
        with self._translated("start"):
            self._domain().createWithFlags(flags)

    def state(self) -> tuple[str, str]:
        """(state, reason), e.g. ("running", "booted"), ("shutoff", "destroyed")."""
        with self._translated("read the state of"):
            state, reason = self._domain().state()
        return STATES.get(state, f"state-{state}"), REASONS.get(state, {}).get(reason, f"reason-{reason}")

    def shutdown(self) -> None:
        """Presses the ACPI power button; the guest decides what to do."""
        with self._translated("shut down"):
            self._domain().shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)

    def destroy(self, graceful: bool = True) -> None:
        """Stops QEMU now: SIGTERM first when `graceful` (QEMU flushes its disks),
        SIGKILL when that fails or is not asked for."""
        domain = self._domain()
        if graceful:
            try:
                domain.destroyFlags(libvirt.VIR_DOMAIN_DESTROY_GRACEFUL)
                return
            except libvirt.libvirtError as exc:
                error = self._translate(exc, "destroy")
                if not isinstance(error, HypervisorError):  # not running, gone, connection lost
                    raise error from exc
                log.warning("graceful destroy of %s failed (%s); killing QEMU", self.name, error)
        with self._translated("destroy"):
            domain.destroyFlags(libvirt.VIR_DOMAIN_DESTROY_DEFAULT)

    def suspend(self) -> None:
        with self._translated("pause"):
            self._domain().suspend()

    def resume(self) -> None:
        with self._translated("resume"):
            self._domain().resume()

    def reset(self) -> None:
        with self._translated("reset"):
            self._domain().reset(0)

    def reboot(self, prefer_agent: bool = True) -> None:
        """Asks the guest to reboot: through its agent when connected, else the ACPI button."""
        domain = self._domain()
        if prefer_agent:
            try:
                domain.reboot(libvirt.VIR_DOMAIN_REBOOT_GUEST_AGENT)
                return
            except libvirt.libvirtError as exc:
                error = self._translate(exc, "reboot", agent=True)
                if not isinstance(error, AgentUnavailableError):
                    raise error from exc
                log.info("reboot of %s through the agent failed (%s); using ACPI", self.name, error)
        with self._translated("reboot"):
            domain.reboot(libvirt.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN)

    def undefine(self) -> None:
        """Removes the definition; UEFI variables (nvram) and TPM state are kept."""
        flags = libvirt.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM | getattr(libvirt, "VIR_DOMAIN_UNDEFINE_KEEP_TPM", 0)
        with self._translated("undefine"):
            self._domain().undefineFlags(flags)

    def domain_xml(self) -> str:
        with self._translated("read the XML of"):
            return self._domain().XMLDesc(0)

    # -- guest agent -------------------------------------------------------------

    def agent_command(self, command: dict[str, Any] | str, timeout_s: int = 10) -> dict[str, Any]:
        """Runs one guest-agent command, e.g. {"execute": "guest-ping"}; returns the
        agent's whole answer ({"return": ...}). AgentUnavailableError when the agent
        is not connected, does not answer within `timeout_s`, or refuses the command."""
        text = command if isinstance(command, str) else json.dumps(command)
        with self._translated("run a guest-agent command in", agent=True):
            answer = libvirt_qemu.qemuAgentCommand(self._domain(), text, max(1, int(timeout_s)), 0)
        try:
            parsed = json.loads(answer)
        except ValueError as exc:
            raise AgentUnavailableError(f"The guest agent of {self.name} answered with invalid JSON: "
                                        f"{answer[:200]!r}") from exc
        return parsed if isinstance(parsed, dict) else {"return": parsed}

    def guest_info(self) -> GuestInfo:
        """Hostname, OS, users, filesystems and interface addresses, from the agent."""
        types = (libvirt.VIR_DOMAIN_GUEST_INFO_USERS | libvirt.VIR_DOMAIN_GUEST_INFO_OS
                 | libvirt.VIR_DOMAIN_GUEST_INFO_FILESYSTEM | libvirt.VIR_DOMAIN_GUEST_INFO_HOSTNAME)
        domain = self._domain()
        with self._translated("read guest information from", agent=True):
            flat = domain.guestInfo(types, 0)
            addresses = domain.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT, 0)
        return GuestInfo(
            hostname=flat.get("hostname"),
            os={key[3:]: value for key, value in flat.items() if key.startswith("os.")},
            users=_indexed(flat, "user"),
            filesystems=_indexed(flat, "fs"),
            interfaces=[_interface(name, entry) for name, entry in sorted((addresses or {}).items())],
        )

    # -- observation ---------------------------------------------------------------

    def stats(self) -> DomainStats:
        """CPU time, balloon memory, block and network counters of the running domain."""
        kinds = (libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
                 | libvirt.VIR_DOMAIN_STATS_BALLOON | libvirt.VIR_DOMAIN_STATS_VCPU
                 | libvirt.VIR_DOMAIN_STATS_INTERFACE | libvirt.VIR_DOMAIN_STATS_BLOCK)
        with self._translated("read the statistics of"):
            records = self._conn.domainListGetStats([self._domain()], kinds, 0)
        raw = dict(records[0][1]) if records else {}
        return DomainStats(
            cpu_time_ns=int(raw.get("cpu.time", 0)),
            cpu_user_ns=int(raw.get("cpu.user", 0)),
            cpu_system_ns=int(raw.get("cpu.system", 0)),
            memory={key[8:]: value for key, value in raw.items() if key.startswith("balloon.")},
            blocks=_indexed(raw, "block"),
            nets=_indexed(raw, "net"),
            raw=raw,
        )

    def qemu_pid(self) -> int | None:
        """QEMU's pid while the domain runs (from the daemon's pid file), else None."""
        if self.paths is None:
            return None
        try:
            return int(self.paths.qemu_pid_file(self.name).read_text().strip())
        except (OSError, ValueError):
            return None

    def last_failure(self) -> KVMInternalError | None:
        """The KVM internal error that stopped the latest run, from the QEMU log, or None."""
        if self.paths is None:
            return None
        try:
            with self.paths.qemu_log_file(self.name).open("rb") as qemu_log:
                qemu_log.seek(0, 2)
                qemu_log.seek(max(0, qemu_log.tell() - QEMU_LOG_TAIL_BYTES))
                text = qemu_log.read().decode(errors="replace")
        except OSError:
            return None
        return kvm_internal_error(text, self.name)

    def qemu_log_path(self) -> Path | None:
        return self.paths.qemu_log_file(self.name) if self.paths is not None else None

    # -- events --------------------------------------------------------------------

    def on_lifecycle(self, callback: LifecycleCallback) -> None:
        """Calls `callback(event, detail)` (e.g. "suspended", "paused") on the
        event thread for each lifecycle event of the domain. Must not block."""

        def relay(conn: Any, domain: Any, event: int, detail: int, opaque: Any) -> None:
            if domain.name() != self.name:
                return
            name = EVENTS.get(event, f"event-{event}")
            detail_name = EVENT_DETAILS.get(event, {}).get(detail, f"detail-{detail}")
            _call_safely(callback, name, detail_name)

        self._register(libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, relay)

    def on_agent_lifecycle(self, callback: AgentCallback) -> None:
        """Calls `callback(connected, reason)` on the event thread when the guest
        agent connects or disconnects. Must not block."""

        def relay(conn: Any, domain: Any, state: int, reason: int, opaque: Any) -> None:
            if domain.name() != self.name:
                return
            connected = state == libvirt.VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED
            _call_safely(callback, connected, AGENT_REASONS.get(reason, f"reason-{reason}"))

        self._register(libvirt.VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE, relay)

    def _register(self, event_id: int, relay: Callable[..., None]) -> None:
        with self._translated("watch events of"):
            self._callback_ids.append(self._conn.domainEventRegisterAny(None, event_id, relay, None))

    def _closed_by_daemon(self, conn: Any, reason: int, opaque: Any) -> None:
        self._lost = CLOSE_REASONS.get(reason, f"reason-{reason}")
        log.error("connection to the private libvirt daemon lost (%s)", self._lost)
        if self._on_connection_lost is not None:
            _call_safely(self._on_connection_lost, self._lost)

    # -- libvirt errors, translated once ---------------------------------------------

    def _domain(self) -> libvirt.virDomain:
        with self._translated("look up"):
            return self._conn.lookupByName(self.name)

    @contextlib.contextmanager
    def _translated(self, action: str, agent: bool = False) -> Iterator[None]:
        try:
            yield
        except libvirt.libvirtError as exc:
            raise self._translate(exc, action, agent) from exc

    def _translate(self, exc: libvirt.libvirtError, action: str, agent: bool = False) -> LauncherError:
        code, origin, message = exc.get_error_code(), exc.get_error_domain(), _message(exc)
        text = f"Failed to {action} domain {self.name}: {message}"
        if code == libvirt.VIR_ERR_NO_DOMAIN:
            return DomainNotFoundError(f"Failed to {action} domain {self.name}: no such domain is defined")
        transport_failed = origin in _TRANSPORT_DOMAINS and code in (libvirt.VIR_ERR_SYSTEM_ERROR,
                                                                     libvirt.VIR_ERR_INTERNAL_ERROR)
        if self._lost is not None or code in _LOST or transport_failed:
            return ConnectionLostError(f"{text} (the connection to the private libvirt daemon is lost)")
        if code in _STATE:
            return DomainStateError(text)
        if code in _AGENT or (agent and code in (libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED, libvirt.VIR_ERR_INTERNAL_ERROR,
                                                 libvirt.VIR_ERR_OPERATION_UNSUPPORTED)):
            return AgentUnavailableError(text)
        if code in _INVALID:
            return InvalidRequestError(text)
        if code in _MISSING or _names_missing_file(message):
            return MissingResourceError(text)
        return HypervisorError(text)


# -- the process-wide event loop -----------------------------------------------------

_loop_lock = threading.Lock()
_loop_thread: threading.Thread | None = None


def _ensure_event_loop() -> None:
    """Registers libvirt's default event loop (once per process, before any
    connection) and runs it in one daemon thread."""
    global _loop_thread
    with _loop_lock:
        if _loop_thread is not None:
            return
        libvirt.registerErrorHandler(_quiet, None)  # errors are raised, not printed to stderr
        libvirt.virEventRegisterDefaultImpl()
        _loop_thread = threading.Thread(target=_run_event_loop, name="libvirt-events", daemon=True)
        _loop_thread.start()


def _run_event_loop() -> None:
    while True:
        try:
            libvirt.virEventRunDefaultImpl()
        except libvirt.libvirtError as exc:  # pragma: no cover - libvirt's loop failing is fatal elsewhere
            log.error("libvirt event loop iteration failed: %s", _message(exc))


def _quiet(context: Any, error: Any) -> None:
    return None


def _call_safely(callback: Callable[..., None], *args: Any) -> None:
    try:
        callback(*args)
    except Exception:  # a callback's bug must not kill the event thread
        log.exception("libvirt event callback %r failed", callback)


def _message(exc: libvirt.libvirtError) -> str:
    return exc.get_error_message() or str(exc)


def _names_missing_file(message: str) -> bool:
    return "No such file or directory" in message or "Cannot access storage file" in message


def _indexed(flat: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """libvirt's typed-parameter lists ("fs.count", "fs.0.name", "fs.0.disk.0.alias")
    as one dict per index, keyed by the rest of the name."""
    count = int(flat.get(f"{prefix}.count", 0))
    items: list[dict[str, Any]] = [{} for _ in range(count)]
    for key, value in flat.items():
        parts = key.split(".", 2)
        if len(parts) == 3 and parts[0] == prefix and parts[1].isdigit() and int(parts[1]) < count:
            items[int(parts[1])][parts[2]] = value
    return items


def _interface(name: str, entry: dict[str, Any]) -> dict[str, Any]:
    kinds = {libvirt.VIR_IP_ADDR_TYPE_IPV4: "ipv4", libvirt.VIR_IP_ADDR_TYPE_IPV6: "ipv6"}
    return {
        "name": name,
        "hwaddr": entry.get("hwaddr"),
        "addresses": [{"type": kinds.get(a.get("type"), str(a.get("type"))), "address": a.get("addr"),
                       "prefix": a.get("prefix")} for a in entry.get("addrs") or []],
    }
