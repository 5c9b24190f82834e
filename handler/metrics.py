"""The handler's Prometheus metrics: KubeVirt's names, in the text exposition format 0.0.4.

Owns two things: `render`, which turns what the handler knows about its VMIs
(one `VMISample` each: the launcher's GetStatsResponse and DomainStatus plus
the VMI's phase) into the text Prometheus scrapes, and `MetricsServer`, a
small threaded HTTP(S) server that answers `/metrics` and `/healthz`.

The handler's main loop calls `render` from the `collect` callable it hands to
`MetricsServer`; the server calls it once per scrape, on the request thread.
Names, types and labels follow KubeVirt's virt-handler (docs/metrics.md lists
them): every per-VMI series carries `node`, `namespace` and `name`; network
series add `interface`, storage series add `drive`. Units are converted
exactly: KiB x 1024 to bytes, nanoseconds / 1e9 to seconds.

This module never talks to a launcher or the API itself (the caller gathers
the samples), never raises out of the server on a failing collection (the
scrape gets a 500 with the message), and uses no third-party metrics library.
"""

from __future__ import annotations

import http.server
import logging
import math
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from protos.launcher.v1 import cmd_pb2, domain_pb2

__all__ = ["CONTENT_TYPE", "MetricsServer", "PhaseKey", "VMISample", "count_phases",
           "escape_help", "escape_label_value", "native_kernels_loaded", "render"]

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

KIB = 1024
NS_PER_S = 1_000_000_000


# ---------------------------------------------------------------------------
# Samples


@dataclass(frozen=True)
class VMISample:
    """What the handler knows about one VMI at scrape time.

    `stats` is the launcher's last GetStatsResponse (None when the launcher
    could not be asked: only `kubevirt_vmi_info` is written then). `status`
    is the DomainStatus; when None, `stats.status` is used. `phase` is the
    VMI's status.phase as the API has it ("Running", "Scheduled", ...). The
    remaining fields are the VMI's annotations and labels KubeVirt reports
    (`vm.kubevirt.io/os`, `.../workload`, `.../flavor`,
    `kubevirt.io/instancetype-name`, `kubevirt.io/preference-name`), the
    VMI's status.machine.type, its launcher pod and whether it is evictable
    and outdated; strings are empty when unknown.
    """

    namespace: str
    name: str
    node: str
    phase: str = ""
    stats: cmd_pb2.GetStatsResponse | None = None
    status: domain_pb2.DomainStatus | None = None
    os: str = ""
    workload: str = ""
    flavor: str = ""
    instance_type: str = ""
    preference: str = ""
    machine_type: str = ""
    vmi_pod: str = ""
    evictable: bool = False
    outdated: bool = False

    def domain_status(self) -> domain_pb2.DomainStatus | None:
        """The DomainStatus given, else the one inside the stats, else None."""
        if self.status is not None:
            return self.status
        if self.stats is not None and self.stats.HasField("status"):
            return self.stats.status
        return None


class PhaseKey(NamedTuple):
    """The labels of one `kubevirt_vmi_phase_count` series (besides `node`)."""

    phase: str
    os: str = ""
    workload: str = ""
    flavor: str = ""
    instance_type: str = ""
    preference: str = ""


def count_phases(samples: Iterable[VMISample]) -> dict[PhaseKey, int]:
    """The phase counts of `samples`, keyed as `render(phase_counts=...)` takes them."""
    counts: Counter[PhaseKey] = Counter()
    for s in samples:
        counts[PhaseKey(s.phase, s.os, s.workload, s.flavor, s.instance_type, s.preference)] += 1
    return dict(counts)


def native_kernels_loaded() -> bool:
    """Whether the compiled `_native` kernels are in use (False when the twin stands in)."""
    try:
        from _native import bitmap
    except Exception:  # NativeMissingError with VIRTNODE_REQUIRE_NATIVE=1, or a broken build
        return False
    return bitmap.IMPLEMENTATION == "native"


# ---------------------------------------------------------------------------
# Text exposition format 0.0.4


def escape_help(text: str) -> str:
    """HELP text escaped as the format requires: backslash and newline."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def escape_label_value(value: str) -> str:
    """A label value escaped as the format requires: backslash, double quote and newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(value: float | int | bool) -> str:
    """A sample value as Prometheus writes it: integers plain, floats shortest-exact, +Inf/NaN."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


Labels = tuple[tuple[str, str], ...]


class _Family:
    """One metric family: its name, type, help and samples, in insertion order."""

    __slots__ = ("name", "kind", "help", "samples")

    def __init__(self, name: str, kind: str, help_: str) -> None:
        if kind == "counter" and not name.endswith("_total"):
            raise ValueError(f"Counter {name} must end in _total")
        self.name, self.kind, self.help = name, kind, help_
        self.samples: list[tuple[Labels, float | int | bool]] = []

    def add(self, labels: Labels, value: float | int | bool) -> None:
        self.samples.append((labels, value))

    def write(self, out: list[str]) -> None:
        out.append(f"# HELP {self.name} {escape_help(self.help)}\n")
        out.append(f"# TYPE {self.name} {self.kind}\n")
        for labels, value in self.samples:
            if labels:
                body = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in labels)
                out.append(f"{self.name}{{{body}}} {format_value(value)}\n")
            else:
                out.append(f"{self.name} {format_value(value)}\n")


class _Registry:
    """The families of one scrape, written in the order they were first declared."""

    def __init__(self) -> None:
        self._families: dict[str, _Family] = {}

    def family(self, name: str, kind: str, help_: str) -> _Family:
        fam = self._families.get(name)
        if fam is None:
            fam = self._families[name] = _Family(name, kind, help_)
        return fam

    def text(self) -> str:
        out: list[str] = []
        for fam in self._families.values():
            if fam.samples:  # as the Go client: a family without samples is not written
                fam.write(out)
        return "".join(out)


# (metric name, type, help, proto field[, scale]); integers stay integers, so counters are exact.
_CPU = (
    ("kubevirt_vmi_cpu_usage_seconds_total", "counter",
     "Total CPU time spent in all modes (sum of both vcpu and hypervisor usage).", "cpu_time_ns"),
    ("kubevirt_vmi_cpu_user_usage_seconds_total", "counter",
     "Total CPU time spent in user mode.", "user_time_ns"),
    ("kubevirt_vmi_cpu_system_usage_seconds_total", "counter",
     "Total CPU time spent in system mode.", "system_time_ns"),
)

_MEMORY_HOST = (
    ("kubevirt_vmi_memory_resident_bytes", "gauge",
     "Resident set size of the process running the domain.", "rss_kib", KIB),
    ("kubevirt_vmi_memory_domain_bytes", "gauge",
     "The amount of memory in bytes allocated to the domain (current balloon size).",
     "actual_kib", KIB),
    ("kubevirt_vmi_memory_actual_balloon_bytes", "gauge",
     "Current balloon size in bytes.", "actual_kib", KIB),
)

# Reported by the guest's balloon driver; absent (all zero) until it reports.
_MEMORY_GUEST = (
    ("kubevirt_vmi_memory_available_bytes", "gauge",
     "Amount of usable memory as seen by the domain. This value may not be accurate if a balloon "
     "driver is in use or if the guest OS does not initialize all assigned pages",
     "available_kib", KIB),
    ("kubevirt_vmi_memory_usable_bytes", "gauge",
     "The amount of memory which can be reclaimed by balloon without pushing the guest system "
     "to swap, corresponds to 'Available' in /proc/meminfo", "usable_kib", KIB),
    ("kubevirt_vmi_memory_unused_bytes", "gauge",
     "The amount of memory left completely unused by the system. Memory that is available but "
     "used for reclaimable caches should NOT be reported as free", "unused_kib", KIB),
    ("kubevirt_vmi_memory_swap_in_traffic_bytes", "gauge",
     "The total amount of data read from swap space of the guest in bytes.", "swap_in_kib", KIB),
    ("kubevirt_vmi_memory_swap_out_traffic_bytes", "gauge",
     "The total amount of memory written out to swap space of the guest in bytes.",
     "swap_out_kib", KIB),
    ("kubevirt_vmi_memory_pgmajfault_total", "counter",
     "The number of page faults when disk IO was required. Page faults occur when a process "
     "makes a valid access to virtual memory that is not available.", "major_faults", 1),
    ("kubevirt_vmi_memory_pgminfault_total", "counter",
     "The number of other page faults, when disk IO was not required. Page faults occur when a "
     "process makes a valid access to virtual memory that is not available.", "minor_faults", 1),
)

_NET = (
    ("kubevirt_vmi_network_receive_bytes_total", "Total network traffic received in bytes.",
     "rx_bytes"),
    ("kubevirt_vmi_network_transmit_bytes_total", "Total network traffic transmitted in bytes.",
     "tx_bytes"),
    ("kubevirt_vmi_network_receive_packets_total", "Total network traffic received packets.",
     "rx_packets"),
    ("kubevirt_vmi_network_transmit_packets_total", "Total network traffic transmitted packets.",
     "tx_packets"),
    ("kubevirt_vmi_network_receive_errors_total", "Total network received error packets.",
     "rx_errors"),
    ("kubevirt_vmi_network_transmit_errors_total", "Total network transmitted error packets.",
     "tx_errors"),
    ("kubevirt_vmi_network_receive_packets_dropped_total",
     "The total number of rx packets dropped on vNIC interfaces.", "rx_dropped"),
    ("kubevirt_vmi_network_transmit_packets_dropped_total",
     "The total number of tx packets dropped on vNIC interfaces.", "tx_dropped"),
)

_BLOCK = (
    ("kubevirt_vmi_storage_read_traffic_bytes_total", "Total number of bytes read from storage.",
     "read_bytes", 1),
    ("kubevirt_vmi_storage_write_traffic_bytes_total", "Total number of written bytes.",
     "write_bytes", 1),
    ("kubevirt_vmi_storage_iops_read_total", "Total number of I/O read operations.",
     "read_requests", 1),
    ("kubevirt_vmi_storage_iops_write_total", "Total number of I/O write operations.",
     "write_requests", 1),
    ("kubevirt_vmi_storage_read_times_seconds_total", "Total time spent on read operations.",
     "read_time_ns", NS_PER_S),
    ("kubevirt_vmi_storage_write_times_seconds_total", "Total time spent on write operations.",
     "write_time_ns", NS_PER_S),
)

_INFO_HELP = ("Information about VirtualMachineInstances. The value is always 1; the labels say "
              "where the VMI runs, its phase and its guest OS as the guest agent reports it.")


def _seconds(ns: int) -> float:
    """Nanoseconds as seconds, the nearest float to the exact quotient."""
    return ns / NS_PER_S


def _vmi_labels(s: VMISample) -> Labels:
    return (("node", s.node), ("namespace", s.namespace), ("name", s.name))


def _write_stats(reg: _Registry, s: VMISample, stats: cmd_pb2.GetStatsResponse) -> None:
    base = _vmi_labels(s)
    if stats.HasField("cpu"):
        for metric, kind, help_, fld in _CPU:
            reg.family(metric, kind, help_).add(base, _seconds(getattr(stats.cpu, fld)))
    if stats.HasField("memory"):
        mem = stats.memory
        for metric, kind, help_, fld, scale in _MEMORY_HOST:
            reg.family(metric, kind, help_).add(base, getattr(mem, fld) * scale)
        if mem.available_kib or mem.usable_kib or mem.unused_kib:
            for metric, kind, help_, fld, scale in _MEMORY_GUEST:
                reg.family(metric, kind, help_).add(base, getattr(mem, fld) * scale)
    for net in stats.net:
        labels = base + (("interface", net.name or net.tap),)
        for metric, help_, fld in _NET:
            reg.family(metric, "counter", help_).add(labels, getattr(net, fld))
    for blk in stats.block:
        labels = base + (("drive", blk.name or blk.target),)
        for metric, help_, fld, div in _BLOCK:
            raw = getattr(blk, fld)
            reg.family(metric, "counter", help_).add(labels, raw / div if div != 1 else raw)


def _write_info(reg: _Registry, s: VMISample) -> None:
    status = s.domain_status()
    guest = status.guest_os if status is not None and status.HasField("guest_os") else None
    labels: Labels = _vmi_labels(s) + (
        ("phase", s.phase.lower()),
        ("os", s.os),
        ("workload", s.workload),
        ("flavor", s.flavor),
        ("instance_type", s.instance_type),
        ("preference", s.preference),
        ("guest_os_kernel_release", guest.kernel_release if guest else ""),
        ("guest_os_machine", s.machine_type),
        ("guest_os_arch", guest.machine if guest else ""),
        ("guest_os_name", guest.name if guest else ""),
        ("guest_os_version_id", guest.version_id if guest else ""),
        ("evictable", "true" if s.evictable else "false"),
        ("outdated", "true" if s.outdated else "false"),
        ("vmi_pod", s.vmi_pod),
    )
    reg.family("kubevirt_vmi_info", "gauge", _INFO_HELP).add(labels, 1)


def render(samples: Iterable[VMISample], node: str, *,
           phase_counts: Mapping[PhaseKey | str, int] | None = None,
           ready: bool = True, native_loaded: bool | None = None) -> str:
    """The text a scrape of this node's handler returns.

    `phase_counts` maps a PhaseKey (or a bare phase string) to the number of
    VMIs on `node` in it; when None, it is counted from `samples`. `ready` is
    `kubevirt_virt_handler_ready_status`; `native_loaded` overrides the probe
    behind `virtnode_native_kernels_loaded` (tests).
    """
    samples = list(samples)
    if phase_counts is None:
        phase_counts = count_phases(samples)
    reg = _Registry()
    # Declare the node-level families first, so they lead the page.
    reg.family("kubevirt_virt_handler_ready_status", "gauge",
               "Indication for a virt-handler that is ready to handle VMIs (1 ready, 0 not)."
               ).add((("node", node),), bool(ready))
    loaded = native_kernels_loaded() if native_loaded is None else native_loaded
    reg.family("virtnode_native_kernels_loaded", "gauge",
               "1 when the compiled _native kernels are in use, 0 when the slower pure-Python "
               "twins stand in (run `make install` to build them).").add((("node", node),), loaded)
    phase_fam = reg.family("kubevirt_vmi_phase_count", "gauge",
                           "Sum of VMIs per phase and node. phase can be one of the following: "
                           "[Pending, Scheduling, Scheduled, Running, Succeeded, Failed, Unknown].")
    for key, count in sorted(phase_counts.items(), key=lambda kv: tuple(_phase_key(kv[0]))):
        k = _phase_key(key)
        phase_fam.add((("node", node), ("phase", k.phase.lower()), ("os", k.os),
                       ("workload", k.workload), ("flavor", k.flavor),
                       ("instance_type", k.instance_type), ("preference", k.preference)), count)
    for s in samples:
        _write_info(reg, s)
        if s.stats is not None:
            _write_stats(reg, s, s.stats)
    return reg.text()


def _phase_key(key: PhaseKey | str) -> PhaseKey:
    return key if isinstance(key, PhaseKey) else PhaseKey(str(key))


# ---------------------------------------------------------------------------
# HTTP(S) server


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    timeout = 10  # seconds a client may take for the TLS handshake and each read

    def setup(self) -> None:
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):
            # The handshake runs here, on the request thread, not in accept().
            self.request.do_handshake()

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            try:
                body = self.server.collect()
            except Exception as exc:  # a failing collection is the scrape's 500, not ours
                log.warning("Metrics collection failed: %s", exc, exc_info=True)
                self._reply(500, f"Metrics collection failed: {exc}\n", "text/plain; charset=utf-8")
                return
            self._reply(200, body, CONTENT_TYPE)
        elif path == "/healthz":
            self._reply(200, "ok\n", "text/plain; charset=utf-8")
        else:
            self._reply(404, f"Not found: {path}; try /metrics or /healthz\n",
                        "text/plain; charset=utf-8")

    def _reply(self, code: int, text: str, content_type: str) -> None:
        data = text.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("metrics %s: " + format, self.address_string(), *args)


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    collect: Callable[[], str]

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up or fails the TLS handshake is not our failure.
        log.debug("Metrics request from %s failed", client_address, exc_info=True)


class MetricsServer:
    """Serves `/metrics` (from `collect()`) and `/healthz` on host:port, over TLS with a context.

    `start()` binds and serves on a daemon thread (port 0 picks a free port;
    `port` tells which); `stop()` closes the socket and joins the thread.
    """

    def __init__(self, host: str, port: int, collect: Callable[[], str],
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.host, self._port, self._collect = host, port, collect
        self._ssl_context = ssl_context
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (the one asked for until `start()`)."""
        return self._httpd.server_address[1] if self._httpd else self._port

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> None:
        if self._httpd is not None:
            raise RuntimeError(f"Metrics server on {self.url} is already running")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        httpd_cls = type("_Server", (_HTTPServer,), {"address_family": family})
        httpd = httpd_cls((self.host, self._port), _RequestHandler)
        httpd.collect = self._collect
        if self._ssl_context is not None:
            httpd.socket = self._ssl_context.wrap_socket(
                httpd.socket, server_side=True, do_handshake_on_connect=False)
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="metrics-server", daemon=True)
        self._thread.start()
        log.info("Metrics server listening on %s", self.url)

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        log.info("Metrics server on port %s stopped", httpd.server_address[1])

    def __enter__(self) -> MetricsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
