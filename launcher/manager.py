"""The launcher's one domain: what each command does to it, and its status.

Owns the lifecycle of the single guest this launcher serves: converting the
VMI, defining and starting the domain (idempotently), graceful shutdown with
its grace-period deadline, pause/unpause with the "paused by user" flag, and
the DomainStatus every reply and event carries. Each Sync also hands the
prepared interfaces to the DHCP responders (launcher/dhcp.py) before the guest
starts. libvirt is reached only through launcher/virt.py (Hypervisor) and the
console only through launcher/console.py; the conversion is launcher/domain.
Errors raised here are launcher.errors types; launcher/server.py maps them to
gRPC codes.

Threads: gRPC handler threads call the public methods; libvirt callbacks
arrive on libvirt's event thread and are handed to one worker thread here,
which builds the status and publishes the event, so no libvirt call is made on
the event thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from launcher import domain as conversion
from launcher.errors import (
    AgentUnavailableError,
    DomainNotFoundError,
    DomainStateError,
    LauncherError,
    MissingResourceError,
)
from launcher.events import ADDED, ERROR, MODIFIED, EventHub, now_timestamp
from protos.launcher.v1 import cmd_pb2, domain_pb2

log = logging.getLogger(__name__)

DEFAULT_GRACE_SECONDS = 30
_STATES = {
    "nostate": domain_pb2.DOMAIN_STATE_NOSTATE,
    "running": domain_pb2.DOMAIN_STATE_RUNNING,
    "blocked": domain_pb2.DOMAIN_STATE_BLOCKED,
    "paused": domain_pb2.DOMAIN_STATE_PAUSED,
    "shutdown": domain_pb2.DOMAIN_STATE_SHUTDOWN,
    "shutoff": domain_pb2.DOMAIN_STATE_SHUTOFF,
    "crashed": domain_pb2.DOMAIN_STATE_CRASHED,
    "pmsuspended": domain_pb2.DOMAIN_STATE_PMSUSPENDED,
}
_UP = {"running", "blocked", "paused", "shutdown", "pmsuspended"}


@dataclass(frozen=True)
class GuestPaths:
    """Where this VM's guest-side sockets and files live (a folder QEMU's uid owns)."""

    folder: Path

    @property
    def serial_socket(self) -> Path:
        return self.folder / "serial.sock"

    @property
    def vnc_socket(self) -> Path:
        return self.folder / "vnc.sock"

    @property
    def agent_socket(self) -> Path:
        return self.folder / "agent.sock"

    @property
    def nvram(self) -> Path:
        return self.folder / "nvram.fd"

    @property
    def memory_file_dir(self) -> Path:
        return self.folder / "memory"


@dataclass
class _Shutdown:
    started: float
    deadline: float
    started_ts: object
    deadline_ts: object
    forced: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class DomainManager:
    def __init__(self, vmi_uid: str, hypervisor, relay, bootlog, accelerator: str,
                 guest_paths: GuestPaths, firmware_files=None, dhcp=None) -> None:
        self.vmi_uid = vmi_uid
        self.dhcp = dhcp  # launcher.dhcp.Responders: the guest's DHCP on the prepared interfaces
        self.hv = hypervisor
        self.relay = relay
        self.bootlog = bootlog
        self.accelerator = accelerator
        self.paths = guest_paths
        self.firmware_files = firmware_files
        self.hub = EventHub(self.status)
        self._lock = threading.RLock()
        self._vmi = None
        self._options: cmd_pb2.SyncOptions | None = None
        self._name: str | None = None
        self._defined_xml: str | None = None
        self._paused_by_user = False
        self._agent_connected = False
        self._agent_interfaces: dict[str, tuple[str, list[str]]] = {}  # mac -> (guest ifname, ips)
        self._guest_os = domain_pb2.GuestOSInfo()
        self._shutdown: _Shutdown | None = None
        self._failure = ""
        self._work: queue.Queue = queue.Queue()
        self._stopping = threading.Event()
        self._worker = threading.Thread(target=self._run_worker, name="domain-events", daemon=True)
        self._worker.start()
        hypervisor.on_lifecycle(lambda event, detail: self._work.put(("lifecycle", event, detail)))
        hypervisor.on_agent_lifecycle(lambda connected, reason: self._work.put(("agent", connected, reason)))

    # --- status ------------------------------------------------------------------------

    def _state(self) -> tuple[str, str]:
        if self._name is None:
            return "nostate", ""
        try:
            return self.hv.state()
        except DomainNotFoundError:
            return "nostate", ""
        except LauncherError as e:  # connection lost: the state is unknown, say why
            return "nostate", f"unknown: {e}"

    def status(self) -> domain_pb2.DomainStatus:
        with self._lock:
            state, reason = self._state()
            st = domain_pb2.DomainStatus(
                vmi_uid=self.vmi_uid, name=self._name or "", defined=self._defined_xml is not None,
                state=_STATES.get(state, domain_pb2.DOMAIN_STATE_UNSPECIFIED), reason=reason,
                failure=self._failure, paused_by_user=self._paused_by_user and state == "paused",
                agent_connected=self._agent_connected and state in _UP,
                console_available=bool(self.relay.status().get("guest_connected")) if self.relay else False,
                accelerator=self.accelerator, observed=now_timestamp())
            if self._vmi is not None and self._vmi.HasField("metadata"):
                st.uuid = self._vmi.spec.domain.firmware.uuid
            if state in _UP:
                try:
                    st.qemu_pid = self.hv.qemu_pid() or 0
                except LauncherError:
                    pass
            for iface in (self._options.interfaces if self._options else ()):
                guest_name, ips = self._agent_interfaces.get(iface.mac.lower(), ("", []))
                st.interfaces.add(name=iface.name, mac=iface.mac, tap=iface.tap,
                                  interface_name=guest_name, ip_addresses=ips)
            if self._guest_os.name:
                st.guest_os.CopyFrom(self._guest_os)
            if self._shutdown is not None:
                st.shutdown_started.CopyFrom(self._shutdown.started_ts)
                st.shutdown_deadline.CopyFrom(self._shutdown.deadline_ts)
            return st

    # --- commands ----------------------------------------------------------------------

    def sync(self, vmi, options: cmd_pb2.SyncOptions) -> cmd_pb2.SyncResponse:
        """Define the domain if missing, start it if down; idempotent."""
        ctx = self._context(vmi, options)
        xml = conversion.to_domain_xml(vmi, ctx)  # ConversionError: nothing is defined
        _check_files(options)  # MissingResourceError: nothing is defined either
        if self.dhcp is not None:
            self.dhcp.apply(options.interfaces)  # before the guest boots and asks
        name = conversion.domain_name(vmi)
        response = cmd_pb2.SyncResponse()
        with self._lock:
            if self._name is not None and name != self._name:
                raise DomainStateError(f"This launcher's domain is {self._name}; the VMI now names "
                                       f"{name}, and a domain cannot be renamed")
            state, _ = self._state() if self._name else ("nostate", "")
            if self._defined_xml != xml:
                previous = self._defined_xml
                self._name = name
                self.hv.define(xml)
                self._defined_xml = xml
                self._vmi, self._options = vmi, options
                response.defined = True
                if previous is not None and state in _UP:
                    response.restart_required.extend(_changed_parts(previous, xml))
                if previous is None:
                    self.hub.publish(ADDED, "Defined", message=f"domain {name} defined")
            self._vmi, self._options = vmi, options
            state, _ = self._state()
            if state in ("shutoff", "nostate", "crashed") and self._shutdown is None:
                paused = vmi.spec.start_strategy == "Paused"
                self._failure = ""
                self.hv.start(paused=paused)
                self._paused_by_user = paused
                response.started = True
                if self.relay:
                    self.relay.notify_guest_started()
            elif state == "paused" and not self._paused_by_user:
                log.info("resuming domain %s, paused without a user's request", name)
                self.hv.resume()
            response.status.CopyFrom(self.status())
        return response

    def _require_defined(self) -> None:
        if self._name is None:
            raise DomainNotFoundError("No domain is defined yet; send Sync first")

    def shutdown(self, grace: int | None, wait: bool) -> tuple[domain_pb2.DomainStatus, bool]:
        with self._lock:
            self._require_defined()
            state, _ = self._state()
            if state not in _UP:
                return self.status(), False
            if self._shutdown is None:
                grace_s = grace if grace is not None else self._grace_from_spec()
                started = time.monotonic()
                start_ts = now_timestamp()
                deadline_ts = now_timestamp()
                deadline_ts.FromNanoseconds(start_ts.ToNanoseconds() + grace_s * 1_000_000_000)
                self._shutdown = _Shutdown(started, started + grace_s, start_ts, deadline_ts)
                if state == "paused":
                    self.hv.resume()  # a paused guest cannot see the power button
                self.hv.shutdown()
                threading.Thread(target=self._enforce_grace, args=(self._shutdown,),
                                 name="grace-period", daemon=True).start()
                self.hub.publish(MODIFIED, "ShuttingDown",
                                 message=f"ACPI shutdown sent; the guest is destroyed after {grace_s} s")
            pending = self._shutdown
        if wait:
            pending.done.wait(max(0.0, pending.deadline - time.monotonic()) + 30)
        return self.status(), pending.forced

    def _grace_from_spec(self) -> int:
        spec = self._vmi.spec if self._vmi is not None else None
        if spec is not None and spec.HasField("termination_grace_period_seconds"):
            return max(0, spec.termination_grace_period_seconds)
        return DEFAULT_GRACE_SECONDS

    def _enforce_grace(self, pending: _Shutdown) -> None:
        while not self._stopping.is_set():
            state, _ = self._state()
            if state not in _UP:
                break
            if time.monotonic() >= pending.deadline:
                log.warning("grace period over; destroying domain %s", self._name)
                pending.forced = True
                try:
                    self.hv.destroy(graceful=False)
                except LauncherError as e:
                    log.error("destroying domain %s after the grace period failed: %s", self._name, e)
                break
            time.sleep(0.2)
        with self._lock:
            if self._shutdown is pending:
                self._shutdown = None
        pending.done.set()

    def kill(self) -> domain_pb2.DomainStatus:
        with self._lock:
            self._require_defined()
            if self._state()[0] in _UP:
                self.hv.destroy(graceful=False)
            return self.status()

    def pause(self) -> domain_pb2.DomainStatus:
        with self._lock:
            self._require_defined()
            state, _ = self._state()
            if state == "paused":
                self._paused_by_user = True
                return self.status()
            if state not in ("running", "blocked"):
                raise DomainStateError(f"Cannot pause a guest that is {state}; only a running guest can be paused")
            self.hv.suspend()
            self._paused_by_user = True
            return self.status()

    def unpause(self) -> domain_pb2.DomainStatus:
        with self._lock:
            self._require_defined()
            state, _ = self._state()
            if state != "paused":
                if state in ("running", "blocked"):
                    return self.status()
                raise DomainStateError(f"Cannot unpause a guest that is {state}; only a paused guest can be")
            self.hv.resume()
            self._paused_by_user = False
            return self.status()

    def reset(self) -> domain_pb2.DomainStatus:
        with self._lock:
            self._require_running("reset")
            self.hv.reset()
            return self.status()

    def soft_reboot(self) -> tuple[domain_pb2.DomainStatus, str]:
        with self._lock:
            self._require_running("reboot")
            method = self.hv.reboot(prefer_agent=self._agent_connected)
            return self.status(), method or ("agent" if self._agent_connected else "acpi")

    def _require_running(self, what: str) -> None:
        self._require_defined()
        state, _ = self._state()
        if state not in ("running", "blocked"):
            raise DomainStateError(f"Cannot {what} a guest that is {state}; it must be running")

    def guest_info(self) -> cmd_pb2.GuestInfoResponse:
        with self._lock:
            self._require_running("query the guest agent of")
            if not self._agent_connected:
                raise AgentUnavailableError("The guest agent is not connected; install and start "
                                            "qemu-guest-agent in the guest")
        info = self.hv.guest_info()
        reply = _guest_info_reply(info)
        with self._lock:
            self._guest_os.CopyFrom(reply.os)
            self._agent_interfaces = {i.mac.lower(): (i.interface_name, list(i.ip_addresses))
                                      for i in reply.interfaces if i.mac}
            names = {i.mac.lower(): i.name for i in (self._options.interfaces if self._options else ())}
            for iface in reply.interfaces:
                iface.name = names.get(iface.mac.lower(), "")
        return reply

    def stats(self) -> cmd_pb2.GetStatsResponse:
        with self._lock:
            self._require_defined()
            raw = self.hv.stats()
            xml = self._defined_xml
        return _stats_reply(raw, self._options, self.status(), xml)

    def domain_xml(self) -> str:
        with self._lock:
            if self._name is None:
                return ""
            try:
                return self.hv.domain_xml()
            except DomainNotFoundError:
                return ""

    def terminate(self, grace: int | None) -> tuple[domain_pb2.DomainStatus, bool]:
        """Graceful shutdown within the grace period, then destroy; the caller then exits."""
        forced = False
        if self._name is not None and self._state()[0] in _UP:
            _, forced = self.shutdown(grace, wait=True)
        status = self.status()
        return status, forced

    def close(self, reason: str, message: str) -> None:
        self._stopping.set()
        self._work.put(None)
        self.hub.close(reason, message)

    # --- events ------------------------------------------------------------------------

    def _run_worker(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            try:
                self._handle(item)
            except Exception:  # a bad event must never kill the notifier
                log.exception("handling domain event %r failed", item)

    def _handle(self, item) -> None:
        kind = item[0]
        if kind == "lifecycle":
            _, event, detail = item
            message = ""
            if event in ("stopped", "crashed") or (event == "suspended" and detail in ("ioerror", "panicked")):
                failure = self.hv.last_failure()
                if failure is not None:
                    with self._lock:
                        self._failure = str(failure)
                    message = self._failure
            if event == "stopped":
                with self._lock:
                    self._agent_connected = False
            if event == "started" and self.relay:
                self.relay.notify_guest_started()
            self.hub.publish(MODIFIED, event.capitalize(), detail.capitalize(), message)
        elif kind == "agent":
            _, connected, reason = item
            with self._lock:
                self._agent_connected = connected
            self.hub.publish(MODIFIED, "AgentConnected" if connected else "AgentDisconnected", reason)
        elif kind == "console":
            _, connected = item
            self.hub.publish(MODIFIED, "ConsoleConnected" if connected else "ConsoleDisconnected")
        elif kind == "error":
            _, message = item
            self.hub.publish(ERROR, "LauncherFailing", message=message)

    def report_error(self, message: str) -> None:
        self._work.put(("error", message))

    def console_changed(self, connected: bool) -> None:
        self._work.put(("console", connected))

    # --- conversion context ------------------------------------------------------------

    def _context(self, vmi, options: cmd_pb2.SyncOptions):
        disks = {name: conversion.DiskSource(path=src.path, format=src.format or "raw",
                                             kind=src.kind or "file", readonly=src.readonly)
                 for name, src in options.disks.items()}
        interfaces = [conversion.PreparedInterface(name=i.name, tap=i.tap, mac=i.mac)
                      for i in options.interfaces]
        kernel_boot = None
        if options.HasField("kernel_boot"):
            kernel_boot = conversion.KernelBootFiles(kernel=options.kernel_boot.kernel or None,
                                                     initrd=options.kernel_boot.initrd or None)
        host_devices = {name: (conversion.HostDeviceMdev(uuid=a.mdev_uuid) if a.mdev_uuid
                               else conversion.HostDevicePCI(address=a.pci_address))
                        for name, a in options.host_devices.items()}
        return conversion.DomainContext(
            accelerator=self.accelerator, uid=self.vmi_uid,
            serial_socket=str(self.paths.serial_socket), vnc_socket=str(self.paths.vnc_socket),
            agent_socket=str(self.paths.agent_socket), disks=disks, interfaces=interfaces,
            kernel_boot=kernel_boot, host_devices=host_devices, firmware_files=self.firmware_files,
            memballoon_stats_period=options.memballoon_stats_period_seconds or 10,
            shared_memory_file=(str(self.paths.memory_file_dir) if options.shared_memory_file else None),
            smbios=dict(options.smbios))


def _check_files(options: cmd_pb2.SyncOptions) -> None:
    """Every file the domain will open exists; one error names all that do not."""
    missing = [f"volume {name!r}: {src.path}" for name, src in sorted(options.disks.items())
               if not Path(src.path).exists()]
    if options.HasField("kernel_boot"):
        missing += [f"kernelBoot {what}: {path}" for what, path in
                    (("kernel", options.kernel_boot.kernel), ("initrd", options.kernel_boot.initrd))
                    if path and not Path(path).exists()]
    if missing:
        raise MissingResourceError("Files the domain needs do not exist: " + "; ".join(missing)
                                   + "; nothing was defined")


def _changed_parts(old: str, new: str) -> list[str]:
    """Top-level domain elements whose XML differs: what the next boot will change."""
    import xml.etree.ElementTree as ET

    def parts(text: str) -> dict[str, str]:
        root = ET.fromstring(text)
        out: dict[str, list[str]] = {}
        for child in root:
            out.setdefault(child.tag, []).append(ET.tostring(child, encoding="unicode"))
        return {k: "".join(v) for k, v in out.items()}

    a, b = parts(old), parts(new)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def _guest_info_reply(info) -> cmd_pb2.GuestInfoResponse:
    """Maps launcher/virt.py's GuestInfo to the reply message."""
    os_fields = domain_pb2.GuestOSInfo.DESCRIPTOR.fields_by_name
    reply = cmd_pb2.GuestInfoResponse(hostname=info.hostname or "")
    reply.os.CopyFrom(domain_pb2.GuestOSInfo(**{
        k.replace("-", "_"): str(v) for k, v in info.os.items() if k.replace("-", "_") in os_fields}))
    for user in info.users:
        reply.users.add(name=str(user.get("name", "")), domain=str(user.get("domain", "")),
                        login_time=float(user.get("login-time", 0) or 0))
    for fs in info.filesystems:
        reply.filesystems.add(mountpoint=str(fs.get("mountpoint", "")), name=str(fs.get("name", "")),
                              type=str(fs.get("fstype", "")),
                              total_bytes=int(fs.get("total-bytes", 0) or 0),
                              used_bytes=int(fs.get("used-bytes", 0) or 0))
    for iface in info.interfaces:
        reply.interfaces.add(interface_name=iface.get("name") or "", mac=iface.get("hwaddr") or "",
                             ip_addresses=[f"{a['address']}/{a['prefix']}" for a in iface.get("addresses", [])
                                           if a.get("address")])
    return reply


def _disk_names(domain_xml: str | None) -> dict[str, str]:
    """Target device (vda, sdb) -> VMI disk name, from the aliases the conversion writes (ua-<name>)."""
    import xml.etree.ElementTree as ET

    if not domain_xml:
        return {}
    names = {}
    for disk in ET.fromstring(domain_xml).iterfind("./devices/disk"):
        target, alias = disk.find("target"), disk.find("alias")
        if target is not None and alias is not None and alias.get("name", "").startswith("ua-"):
            names[target.get("dev", "")] = alias.get("name")[3:]
    return names


def _stats_reply(raw, options, status, domain_xml: str | None) -> cmd_pb2.GetStatsResponse:
    """Maps launcher/virt.py's DomainStats to the reply message."""
    reply = cmd_pb2.GetStatsResponse(status=status)
    reply.cpu.CopyFrom(cmd_pb2.CPUStats(cpu_time_ns=raw.cpu_time_ns, user_time_ns=raw.cpu_user_ns,
                                        system_time_ns=raw.cpu_system_ns,
                                        vcpus=int(raw.raw.get("vcpu.current", 0) or 0)))
    m = raw.memory
    reply.memory.CopyFrom(cmd_pb2.MemoryStats(
        actual_kib=int(m.get("current", 0)), available_kib=int(m.get("available", 0)),
        unused_kib=int(m.get("unused", 0)), usable_kib=int(m.get("usable", 0)),
        rss_kib=int(m.get("rss", 0)), swap_in_kib=int(m.get("swap_in", 0)),
        swap_out_kib=int(m.get("swap_out", 0)), major_faults=int(m.get("major_fault", 0)),
        minor_faults=int(m.get("minor_fault", 0))))
    disks = _disk_names(domain_xml)
    for b in raw.blocks:
        target = str(b.get("name", ""))
        reply.block.add(name=disks.get(target, ""), target=target,
                        read_bytes=int(b.get("rd.bytes", 0)), write_bytes=int(b.get("wr.bytes", 0)),
                        read_requests=int(b.get("rd.reqs", 0)), write_requests=int(b.get("wr.reqs", 0)),
                        read_time_ns=int(b.get("rd.times", 0)), write_time_ns=int(b.get("wr.times", 0)))
    taps = {i.tap: i.name for i in (options.interfaces if options else ())}
    for n in raw.nets:
        tap = str(n.get("name", ""))
        reply.net.add(name=taps.get(tap, ""), tap=tap,
                      rx_bytes=int(n.get("rx.bytes", 0)), rx_packets=int(n.get("rx.pkts", 0)),
                      rx_errors=int(n.get("rx.errs", 0)), rx_dropped=int(n.get("rx.drop", 0)),
                      tx_bytes=int(n.get("tx.bytes", 0)), tx_packets=int(n.get("tx.pkts", 0)),
                      tx_errors=int(n.get("tx.errs", 0)), tx_dropped=int(n.get("tx.drop", 0)))
    return reply
