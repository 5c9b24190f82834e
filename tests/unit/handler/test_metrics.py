"""Tests of handler.metrics: KubeVirt's metric names and units, the 0.0.4 text format, the server.

Rendered text is read back with a small strict parser written here (it
rejects anything the text format does not allow), so a test checks values by
metric name and labels rather than by comparing strings.
"""

from __future__ import annotations

import datetime
import http.client
import re
import ssl
import threading

import pytest

from handler import metrics
from handler.metrics import CONTENT_TYPE, MetricsServer, PhaseKey, VMISample, render
from protos.launcher.v1 import cmd_pb2, domain_pb2

NODE = "node-a"

# ---------------------------------------------------------------------------
# A strict parser of the text format 0.0.4

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"')
_SAMPLE = re.compile(rf"^({_NAME})(?:\{{(.*)\}})? (\S+)$")
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def _parse_labels(body: str) -> tuple[tuple[str, str], ...]:
    labels, pos = [], 0
    while pos < len(body):
        m = _LABEL.match(body, pos)
        assert m, f"bad label syntax at {body[pos:]!r}"
        value = re.sub(r'\\\\|\\"|\\n', lambda e: _UNESCAPE[e.group()], m.group(2))
        labels.append((m.group(1), value))
        pos = m.end()
        if pos < len(body):
            assert body[pos] == ",", f"expected ',' at {body[pos:]!r}"
            pos += 1
    return tuple(labels)


def parse(text: str) -> dict[str, dict]:
    """{family: {"type", "help", "samples": {labels-dict-as-frozenset: float}}}, strictly."""
    assert text.endswith("\n"), "the exposition must end with a newline"
    families: dict[str, dict] = {}
    current = None
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            assert name not in families, f"family {name} appears twice"
            current = families[name] = {"help": help_, "type": None, "samples": {}}
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert current is families.get(name) and current["type"] is None, f"TYPE {name} out of place"
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped")
            current["type"] = kind
        else:
            m = _SAMPLE.match(line)
            assert m, f"bad sample line {line!r}"
            name, body, value = m.groups()
            assert current is families.get(name), f"sample {name} outside its family"
            labels = _parse_labels(body or "")
            names = [k for k, _ in labels]
            assert len(names) == len(set(names)), f"duplicate label in {line!r}"
            key = frozenset(labels)
            assert key not in current["samples"], f"duplicate series {line!r}"
            current["samples"][key] = float(value)
    for name, fam in families.items():
        assert fam["type"], f"{name} has no TYPE"
        if fam["type"] == "counter":
            assert name.endswith("_total"), f"counter {name} does not end in _total"
    return families


def value(families: dict, metric: str, /, **labels: str) -> float:
    """The value of the one series of `name` whose labels include `labels`."""
    hits = [v for k, v in families[metric]["samples"].items() if set(labels.items()) <= set(k)]
    assert len(hits) == 1, f"{metric}{labels}: {len(hits)} series"
    return hits[0]


# ---------------------------------------------------------------------------
# Samples


def _stats() -> cmd_pb2.GetStatsResponse:
    return cmd_pb2.GetStatsResponse(
        status=domain_pb2.DomainStatus(
            name="default_vm1", state=domain_pb2.DOMAIN_STATE_RUNNING,
            guest_os=domain_pb2.GuestOSInfo(name="Fedora Linux", version_id="40",
                                            kernel_release="6.8.5-301.fc40.x86_64",
                                            machine="x86_64")),
        cpu=cmd_pb2.CPUStats(cpu_time_ns=12_345_678_901, user_time_ns=2_500_000_000,
                             system_time_ns=1_000_000, vcpus=2),
        memory=cmd_pb2.MemoryStats(actual_kib=1_048_576, available_kib=1_000_000,
                                   unused_kib=500_000, usable_kib=700_000, rss_kib=300_000,
                                   swap_in_kib=3, swap_out_kib=4, major_faults=17,
                                   minor_faults=2**40),
        block=[cmd_pb2.BlockStats(name="rootdisk", target="vda", read_bytes=4096,
                                  write_bytes=8192, read_requests=10, write_requests=20,
                                  read_time_ns=1_500_000_000, write_time_ns=250_000_000),
               cmd_pb2.BlockStats(name="cloudinit", target="vdb", read_bytes=1)],
        net=[cmd_pb2.NetStats(name="default", tap="tap0", rx_bytes=1000, rx_packets=10,
                              rx_errors=1, rx_dropped=2, tx_bytes=2000, tx_packets=20,
                              tx_errors=3, tx_dropped=4)],
    )


def _sample(**kw) -> VMISample:
    base = dict(namespace="default", name="vm1", node=NODE, phase="Running", stats=_stats())
    base.update(kw)
    return VMISample(**base)


VM1 = {"node": NODE, "namespace": "default", "name": "vm1"}


@pytest.fixture
def page() -> dict:
    return parse(render([_sample()], NODE, phase_counts=None, native_loaded=True))


# ---------------------------------------------------------------------------
# Rendering


def test_cpu_counters_are_seconds_from_nanoseconds(page):
    """CPU time is reported in seconds (ns / 1e9) under KubeVirt's counter names."""
    assert value(page, "kubevirt_vmi_cpu_usage_seconds_total", **VM1) == 12.345678901
    assert value(page, "kubevirt_vmi_cpu_user_usage_seconds_total", **VM1) == 2.5
    assert value(page, "kubevirt_vmi_cpu_system_usage_seconds_total", **VM1) == 0.001
    for name in ("kubevirt_vmi_cpu_usage_seconds_total", "kubevirt_vmi_cpu_user_usage_seconds_total",
                 "kubevirt_vmi_cpu_system_usage_seconds_total"):
        assert page[name]["type"] == "counter"


def test_memory_is_bytes_from_kib(page):
    """Memory values are KiB x 1024; faults are counters, sizes gauges."""
    expect = {
        "kubevirt_vmi_memory_available_bytes": 1_000_000 * 1024,
        "kubevirt_vmi_memory_usable_bytes": 700_000 * 1024,
        "kubevirt_vmi_memory_unused_bytes": 500_000 * 1024,
        "kubevirt_vmi_memory_resident_bytes": 300_000 * 1024,
        "kubevirt_vmi_memory_domain_bytes": 1_048_576 * 1024,
        "kubevirt_vmi_memory_actual_balloon_bytes": 1_048_576 * 1024,
        "kubevirt_vmi_memory_swap_in_traffic_bytes": 3 * 1024,
        "kubevirt_vmi_memory_swap_out_traffic_bytes": 4 * 1024,
    }
    for name, want in expect.items():
        assert value(page, name, **VM1) == want, name
        assert page[name]["type"] == "gauge", name
    assert value(page, "kubevirt_vmi_memory_pgmajfault_total", **VM1) == 17
    assert value(page, "kubevirt_vmi_memory_pgminfault_total", **VM1) == 2**40
    assert page["kubevirt_vmi_memory_pgmajfault_total"]["type"] == "counter"


def test_large_counters_are_written_exactly():
    """Integer counters are written as integers, with no float rounding."""
    stats = cmd_pb2.GetStatsResponse(memory=cmd_pb2.MemoryStats(available_kib=1, minor_faults=2**63 + 1))
    text = render([_sample(stats=stats)], NODE, native_loaded=True)
    assert f'kubevirt_vmi_memory_pgminfault_total{{node="{NODE}",namespace="default",name="vm1"}} ' \
           f"{2**63 + 1}\n" in text


def test_network_counters_per_interface(page):
    """Each vNIC has its eight counters, labelled interface with the VMI interface name."""
    lab = dict(VM1, interface="default")
    expect = {"receive_bytes": 1000, "transmit_bytes": 2000, "receive_packets": 10,
              "transmit_packets": 20, "receive_errors": 1, "transmit_errors": 3,
              "receive_packets_dropped": 2, "transmit_packets_dropped": 4}
    for part, want in expect.items():
        name = f"kubevirt_vmi_network_{part}_total"
        assert value(page, name, **lab) == want, name
        assert page[name]["type"] == "counter"


def test_storage_counters_per_drive(page):
    """Each disk has traffic, IOPS and time counters, labelled drive, times in seconds."""
    lab = dict(VM1, drive="rootdisk")
    assert value(page, "kubevirt_vmi_storage_read_traffic_bytes_total", **lab) == 4096
    assert value(page, "kubevirt_vmi_storage_write_traffic_bytes_total", **lab) == 8192
    assert value(page, "kubevirt_vmi_storage_iops_read_total", **lab) == 10
    assert value(page, "kubevirt_vmi_storage_iops_write_total", **lab) == 20
    assert value(page, "kubevirt_vmi_storage_read_times_seconds_total", **lab) == 1.5
    assert value(page, "kubevirt_vmi_storage_write_times_seconds_total", **lab) == 0.25
    assert value(page, "kubevirt_vmi_storage_read_traffic_bytes_total",
                 **dict(VM1, drive="cloudinit")) == 1


def test_every_per_vmi_series_has_node_namespace_name(page):
    """All kubevirt_vmi_* series except the phase count carry node, namespace and name."""
    for name, fam in page.items():
        if not name.startswith("kubevirt_vmi_") or name == "kubevirt_vmi_phase_count":
            continue
        for labels in fam["samples"]:
            assert set(VM1.items()) <= set(labels), name


def test_info_carries_phase_and_guest_os(page):
    """kubevirt_vmi_info is 1 with the lower-cased phase and the guest agent's OS facts."""
    fam = page["kubevirt_vmi_info"]
    assert fam["type"] == "gauge"
    (labels, v), = fam["samples"].items()
    labels = dict(labels)
    assert v == 1
    assert labels["phase"] == "running"
    assert labels["guest_os_kernel_release"] == "6.8.5-301.fc40.x86_64"
    assert labels["guest_os_name"] == "Fedora Linux"
    assert labels["guest_os_version_id"] == "40"
    assert labels["guest_os_arch"] == "x86_64"
    for key in ("os", "workload", "flavor", "instance_type", "preference", "guest_os_machine",
                "vmi_pod", "evictable", "outdated"):
        assert key in labels


def test_phase_count_from_explicit_counts():
    """phase_count has one series per key with KubeVirt's labels; bare strings mean phase only."""
    counts = {PhaseKey("Running", os="fedora", workload="server", flavor="small",
                       instance_type="u1.small", preference="fedora"): 3, "Scheduled": 1}
    page = parse(render([], NODE, phase_counts=counts, native_loaded=True))
    fam = page["kubevirt_vmi_phase_count"]
    assert fam["type"] == "gauge"
    assert value(page, "kubevirt_vmi_phase_count", phase="running", os="fedora", workload="server",
                 flavor="small", instance_type="u1.small", preference="fedora", node=NODE) == 3
    assert value(page, "kubevirt_vmi_phase_count", phase="scheduled", os="") == 1
    for labels in fam["samples"]:
        assert {k for k, _ in labels} == {"node", "phase", "os", "workload", "flavor",
                                           "instance_type", "preference"}


def test_phase_count_defaults_to_the_samples():
    """Without phase_counts, the samples are counted by phase and VMI annotations."""
    samples = [_sample(name="a"), _sample(name="b"), _sample(name="c", phase="Failed", stats=None)]
    page = parse(render(samples, NODE, native_loaded=True))
    assert value(page, "kubevirt_vmi_phase_count", phase="running") == 2
    assert value(page, "kubevirt_vmi_phase_count", phase="failed") == 1


def test_vmi_without_stats_has_only_info():
    """A VMI whose launcher could not be asked has kubevirt_vmi_info and no stats series."""
    page = parse(render([_sample(stats=None)], NODE, native_loaded=True))
    assert value(page, "kubevirt_vmi_info", **VM1) == 1
    assert dict(next(iter(page["kubevirt_vmi_info"]["samples"])))["guest_os_name"] == ""
    assert not any(n.startswith(("kubevirt_vmi_cpu", "kubevirt_vmi_memory")) for n in page)


def test_guest_memory_absent_until_the_balloon_driver_reports():
    """available/usable/unused are omitted while the guest reports nothing; RSS is still there."""
    stats = cmd_pb2.GetStatsResponse(memory=cmd_pb2.MemoryStats(rss_kib=5, actual_kib=8))
    page = parse(render([_sample(stats=stats)], NODE, native_loaded=True))
    assert value(page, "kubevirt_vmi_memory_resident_bytes", **VM1) == 5 * 1024
    assert "kubevirt_vmi_memory_available_bytes" not in page
    assert "kubevirt_vmi_memory_unused_bytes" not in page


def test_handler_and_native_gauges():
    """The handler's ready gauge and virtnode_native_kernels_loaded follow their inputs."""
    page = parse(render([], NODE, ready=False, native_loaded=False))
    assert value(page, "kubevirt_virt_handler_ready_status", node=NODE) == 0
    assert value(page, "virtnode_native_kernels_loaded", node=NODE) == 0
    page = parse(render([], NODE, native_loaded=True))
    assert value(page, "kubevirt_virt_handler_ready_status", node=NODE) == 1
    assert value(page, "virtnode_native_kernels_loaded", node=NODE) == 1


def test_native_probe_matches_the_bitmap_module():
    """Without an override the gauge says whether _native.bitmap is the compiled kernel."""
    try:
        from _native import bitmap
        want = bitmap.IMPLEMENTATION == "native"
    except Exception:
        want = False
    assert metrics.native_kernels_loaded() is want


def test_label_values_are_escaped():
    """Backslash, double quote and newline in label values are escaped and read back intact."""
    odd = 'a\\b"c\nd'
    text = render([_sample(name=odd, stats=None)], NODE, native_loaded=True)
    assert 'name="a\\\\b\\"c\\nd"' in text
    page = parse(text)
    assert value(page, "kubevirt_vmi_info", name=odd) == 1


def test_help_is_escaped():
    """HELP text escapes backslash and newline, and nothing else."""
    assert metrics.escape_help('a\\b\nc"d') == 'a\\\\b\\nc"d'


@pytest.mark.parametrize("v, text", [(0, "0"), (7, "7"), (1.5, "1.5"), (2.0, "2"),
                                     (float("inf"), "+Inf"), (float("-inf"), "-Inf"),
                                     (float("nan"), "NaN"), (True, "1"), (1e-09, "1e-09")])
def test_value_format(v, text):
    """Values are written as Prometheus reads them."""
    assert metrics.format_value(v) == text


# ---------------------------------------------------------------------------
# Server


def _get(server: MetricsServer, path: str, context: ssl.SSLContext | None = None):
    if context is None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    else:
        conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=5, context=context)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read().decode()
    finally:
        conn.close()


def test_server_serves_metrics_and_healthz():
    """/metrics answers with the 0.0.4 content type, /healthz with ok, others 404."""
    with MetricsServer("127.0.0.1", 0, lambda: "up 1\n") as server:
        assert server.port != 0
        assert _get(server, "/metrics") == (200, CONTENT_TYPE, "up 1\n")
        status, _, body = _get(server, "/healthz")
        assert (status, body) == (200, "ok\n")
        assert _get(server, "/nope")[0] == 404


def test_collection_error_is_a_500_and_the_server_lives_on():
    """A collect() that raises gives a 500 with the message; the next scrape works."""
    calls = []

    def collect() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Launcher socket for default/vm1 is gone")
        return "up 1\n"

    with MetricsServer("127.0.0.1", 0, collect) as server:
        status, _, body = _get(server, "/metrics")
        assert status == 500 and "Launcher socket for default/vm1 is gone" in body
        assert _get(server, "/metrics")[0] == 200


def test_server_serves_concurrent_scrapes():
    """Scrapes run on their own threads: a slow collect() does not block /healthz."""
    release = threading.Event()

    def collect() -> str:
        release.wait(5)
        return "up 1\n"

    with MetricsServer("127.0.0.1", 0, collect) as server:
        slow = threading.Thread(target=_get, args=(server, "/metrics"))
        slow.start()
        try:
            assert _get(server, "/healthz")[0] == 200
        finally:
            release.set()
            slow.join(5)


def test_stop_closes_the_port():
    """After stop() the port refuses connections."""
    server = MetricsServer("127.0.0.1", 0, lambda: "")
    server.start()
    port = server.port
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(OSError):
        http.client.HTTPConnection("127.0.0.1", port, timeout=2).connect()


def _self_signed(tmp_path) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "virtnode-handler")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_server_over_tls(tmp_path):
    """With an SSL context the server speaks HTTPS; a client trusting the cert scrapes it."""
    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=cert)
    text = render([_sample()], NODE, native_loaded=True)
    with MetricsServer("127.0.0.1", 0, lambda: text, ssl_context=server_ctx) as server:
        assert server.url.startswith("https://")
        status, ctype, body = _get(server, "/metrics", client_ctx)
        assert (status, ctype) == (200, CONTENT_TYPE)
        assert value(parse(body), "kubevirt_vmi_cpu_usage_seconds_total", **VM1) == 12.345678901
        # A plain-HTTP client, or one that does not trust the cert, gets nothing; the server lives on.
        with pytest.raises((http.client.HTTPException, OSError)):
            _get(server, "/metrics")
        with pytest.raises(ssl.SSLError):
            _get(server, "/metrics", ssl.create_default_context())
        assert _get(server, "/healthz", client_ctx)[0] == 200
