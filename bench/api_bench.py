"""Benchmark: the embedded API's create throughput and watch fan-out, against its own store.

Owns two questions about `python -m apiserver` (a real process, over HTTPS with
client-certificate authentication, RBAC and admission):

  create throughput   N VirtualMachines (KubeVirt's vm-cirros example, renamed) created
                      through the official kubernetes client, one thread and 4 threads;
                      also through raw http.client on one keep-alive connection, to
                      separate the client library's cost from the server's.
      baselines       the same admitted objects through `Store.create` in-process on a
                      fresh database in the same directory (1 and 4 threads), and the
                      server's typed work alone: `codec.decode` + `admit` + `codec.encode`,
                      and `admit` alone on decoded messages.

  watch fan-out       W watchers (threads reading raw chunked HTTPS watch streams) on
                      virtualmachines in one namespace; M creates then M merge patches,
                      paced (one write per --interval) and in a burst; latency from the
                      write's HTTP response to each watcher reading the event.
      baseline        the same W watchers and writes on `Store.watch` in-process:
                      latency from `Store.create`/`update` returning to each iterator
                      yielding the event.

Latencies are measured with time.perf_counter (CLOCK_MONOTONIC) in the client
process; a watcher may read an event before the writer has read its own response,
so the smallest latencies can be negative. Nothing here asserts a timing.

Run: python -m bench.api_bench [--objects N] [--watchers 50] [--writes M] [--dir DIR] [--json PATH]
"""

from __future__ import annotations

import argparse
import copy
import http.client
import json
import shutil
import ssl
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from apiserver import resources
from apiserver.__main__ import ensure_namespaces
from apiserver.store import Store
from bench.timing import best_of
from controller.admission import ClusterConfig, admit
from protos import codec
from tests.integration.apiserver.process import APIProcess

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "kubevirt" / "vm-cirros.yaml"
VM = resources.find("kubevirt.io", "v1", "virtualmachines")
NS = resources.find("", "v1", "namespaces")
GROUP, VERSION, PLURAL = "kubevirt.io", "v1", "virtualmachines"
THREADS = 4
MANY = 16          # connections enough to keep the server busy despite each request's latency


# --- objects ---------------------------------------------------------------------------------

def manifest(name: str, namespace: str) -> dict:
    doc = yaml.safe_load(EXAMPLE.read_text())
    doc["metadata"] = {"name": name, "namespace": namespace, "labels": {"bench": "api"}}
    doc["spec"].pop("running", None)
    doc["spec"]["runStrategy"] = "Halted"
    return doc


def admitted(obj: dict, config: ClusterConfig) -> dict:
    """What apiserver.http hands the store for a create: decoded, defaulted, validated, encoded."""
    result = admit(codec.decode(obj), config)
    if result.causes:
        raise SystemExit(f"the bench's VM does not pass admission: {result.causes}")
    out = codec.encode(result.obj)
    out["metadata"] = {**obj["metadata"], **out.get("metadata", {})}
    return out


def fresh_store(path: Path, namespaces: tuple[str, ...] = ()) -> Store:
    store = Store(str(path))
    ensure_namespaces(store)
    for name in namespaces:
        store.create(NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return store


# --- HTTPS plumbing --------------------------------------------------------------------------

class Client:
    """Raw HTTPS to the API as its admin (client certificate), standard library only."""

    def __init__(self, api: APIProcess) -> None:
        pki = api.state_dir / "pki"
        self.port = api.port
        self.ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))

    def connect(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=60)

    @staticmethod
    def call(conn: http.client.HTTPSConnection, method: str, path: str, body: dict | None = None,
             ctype: str = "application/json") -> dict:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": ctype, "Accept": "application/json"})
        resp = conn.getresponse()
        out = json.loads(resp.read())
        if resp.status >= 300:
            raise RuntimeError(f"{method} {path}: {resp.status} {out.get('message')}")
        return out


def vms_path(namespace: str) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}"


# --- (a) create throughput -------------------------------------------------------------------

def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def timed_parallel(fn, items: list, threads: int) -> float:
    chunks = [items[i::threads] for i in range(threads)]
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for f in [pool.submit(lambda chunk: [fn(x) for x in chunk], c) for c in chunks]:
            f.result()
    return time.perf_counter() - start


def measure_create(api: APIProcess, work: Path, n: int, rounds: int) -> dict:
    from kubernetes import client as kclient, config as kconfig

    config = ClusterConfig()
    sample = manifest("sample", "default")
    msg = codec.decode(sample)
    out: dict = {
        "admit_only_per_s": 1 / best_of(lambda: admit(msg, config), rounds),
        "typed_work_per_s": 1 / best_of(lambda: admitted(copy.deepcopy(sample), config), rounds),
    }

    def objects(prefix: str) -> list[dict]:
        return [manifest(f"{prefix}-{i}", "default") for i in range(n)]

    # baseline: the store alone, fresh database in the same directory, admitted objects
    for threads, key in ((1, "store_1"), (THREADS, f"store_{THREADS}")):
        db = work / f"baseline-{key}.db"
        store = fresh_store(db)
        ready = [admitted(o, config) for o in objects(key.replace("_", "-"))]
        if threads == 1:
            start = time.perf_counter()
            for o in ready:
                store.create(VM, o)
            elapsed = time.perf_counter() - start
        else:
            elapsed = timed_parallel(lambda o: store.create(VM, o), ready, threads)
        out[f"{key}_per_s"] = rate(n, elapsed)
        store.close()

    # the API process: raw HTTPS on one keep-alive connection
    raw = Client(api)
    conn = raw.connect()
    for o in objects("warm"):                   # warm the server (imports, caches, connection)
        raw.call(conn, "POST", vms_path("default"), o)
        break
    items = objects("raw")
    start = time.perf_counter()
    for o in items:
        raw.call(conn, "POST", vms_path("default"), o)
    out["raw_https_1_per_s"] = rate(n, time.perf_counter() - start)
    conn.close()
    local = threading.local()

    def create_raw(o: dict) -> None:
        if not hasattr(local, "conn"):
            local.conn = raw.connect()
        raw.call(local.conn, "POST", vms_path("default"), o)

    out[f"raw_https_{MANY}_per_s"] = rate(n, timed_parallel(create_raw, objects(f"raw{MANY}"), MANY))

    # the API process: the official kubernetes client, 1 and 4 threads
    api_client = kconfig.new_client_from_config(config_file=str(api.kubeconfig))
    crd = kclient.CustomObjectsApi(api_client)
    create = lambda o: crd.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, o)  # noqa: E731
    items = objects("kube1")
    start = time.perf_counter()
    for o in items:
        create(o)
    out["kube_1_per_s"] = rate(n, time.perf_counter() - start)
    out[f"kube_{THREADS}_per_s"] = rate(n, timed_parallel(create, objects(f"kube{THREADS}"), THREADS))
    api_client.close()
    return out


# --- (b) watch fan-out -----------------------------------------------------------------------

def percentiles(samples: list[float]) -> dict:
    s = sorted(samples)
    if not s:
        return {"n": 0}
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))]  # noqa: E731
    return {"n": len(s), "p50_ms": pick(0.50) * 1e3, "p99_ms": pick(0.99) * 1e3, "max_ms": s[-1] * 1e3,
            "mean_ms": statistics.fmean(s) * 1e3}


def latencies(acks: dict[int, tuple[float, float]], received: list[dict[int, float]]) -> dict:
    """Per (watcher, write): read time - ack time (`each`) and read time - the time the write was
    sent (`from_sent`); per write, when its last watcher read it (`last_watcher`, from the ack)."""
    each, from_sent, last = [], [], []
    missing = 0
    for rv, (t_sent, t_ack) in acks.items():
        times = [r[rv] for r in received if rv in r]
        missing += len(received) - len(times)
        each.extend(t - t_ack for t in times)
        from_sent.extend(t - t_sent for t in times)
        if times:
            last.append(max(times) - t_ack)
    return {"each": percentiles(each), "from_sent": percentiles(from_sent),
            "last_watcher": percentiles(last), "missing": missing}


def pace(i: int, start: float, interval: float) -> None:
    if interval > 0:
        delay = start + i * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)


def fanout_http(api: APIProcess, namespace: str, watchers: int, m: int, interval: float) -> dict:
    raw = Client(api)
    admin = raw.connect()
    raw.call(admin, "POST", "/api/v1/namespaces",
             {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    rv0 = raw.call(admin, "GET", vms_path(namespace))["metadata"]["resourceVersion"]
    expected = 2 * m
    received: list[dict[int, float]] = [{} for _ in range(watchers)]
    connected = threading.Barrier(watchers + 1)

    def watch(slot: int) -> None:
        conn = raw.connect()
        conn.request("GET", f"{vms_path(namespace)}?watch=true&resourceVersion={rv0}&timeoutSeconds=300")
        resp = conn.getresponse()     # headers come after the server registered the watch
        connected.wait()
        lines = []
        while len(lines) < expected:
            line = resp.readline()
            t = time.perf_counter()
            if not line:
                break
            lines.append((t, line))
        conn.close()
        for t, line in lines:
            received[slot][int(json.loads(line)["object"]["metadata"]["resourceVersion"])] = t

    threads = [threading.Thread(target=watch, args=(i,), daemon=True) for i in range(watchers)]
    for t in threads:
        t.start()
    connected.wait()
    acks: dict[int, tuple[float, float]] = {}
    start = time.perf_counter()
    for i in range(m):
        pace(i, start, interval)
        body = manifest(f"f{i}", namespace)
        sent = time.perf_counter()
        obj = raw.call(admin, "POST", vms_path(namespace), body)
        acks[int(obj["metadata"]["resourceVersion"])] = (sent, time.perf_counter())
    for i in range(m):
        pace(m + i, start, interval)
        sent = time.perf_counter()
        obj = raw.call(admin, "PATCH", f"{vms_path(namespace)}/f{i}", {"metadata": {"labels": {"patched": str(i)}}},
                       ctype="application/merge-patch+json")
        acks[int(obj["metadata"]["resourceVersion"])] = (sent, time.perf_counter())
    writes_s = time.perf_counter() - start
    for t in threads:
        t.join(120)
    admin.close()
    return {**latencies(acks, received), "writes_per_s": rate(2 * m, writes_s)}


def fanout_store(work: Path, watchers: int, m: int, interval: float, tag: str) -> dict:
    config = ClusterConfig()
    store = fresh_store(work / f"fanout-{tag}.db", namespaces=("fanout",))
    rv0 = store.resource_version
    expected = 2 * m
    received: list[dict[int, float]] = [{} for _ in range(watchers)]
    connected = threading.Barrier(watchers + 1)

    def watch(slot: int) -> None:
        w = store.watch(VM, "fanout", resource_version=rv0, timeout=300)
        connected.wait()
        got = received[slot]
        for _, obj in w:
            got[int(obj["metadata"]["resourceVersion"])] = time.perf_counter()
            if len(got) == expected:
                break
        w.close()

    threads = [threading.Thread(target=watch, args=(i,), daemon=True) for i in range(watchers)]
    for t in threads:
        t.start()
    ready = [admitted(manifest(f"f{i}", "fanout"), config) for i in range(m)]
    connected.wait()
    acks: dict[int, tuple[float, float]] = {}
    created = []
    start = time.perf_counter()
    for i, o in enumerate(ready):
        pace(i, start, interval)
        sent = time.perf_counter()
        obj = store.create(VM, o)
        acks[int(obj["metadata"]["resourceVersion"])] = (sent, time.perf_counter())
        created.append(obj)
    for i, obj in enumerate(created):
        obj["metadata"]["labels"]["patched"] = str(i)
        pace(m + i, start, interval)
        sent = time.perf_counter()
        obj = store.update(VM, obj)
        acks[int(obj["metadata"]["resourceVersion"])] = (sent, time.perf_counter())
    writes_s = time.perf_counter() - start
    for t in threads:
        t.join(120)
    store.close()
    return {**latencies(acks, received), "writes_per_s": rate(2 * m, writes_s)}


# --- report ----------------------------------------------------------------------------------

def report(args, create: dict, fanout: dict) -> str:
    c = create
    lines = [f"create throughput: {args.objects} VirtualMachines (vm-cirros), objects/s",
             f"{'path':48} {'obj/s':>9} {'÷ store 1':>10}"]
    base = c["store_1_per_s"]
    for label, key in (("admit() alone on a decoded message", "admit_only_per_s"),
                       ("decode + admit + encode (the server's typed work)", "typed_work_per_s"),
                       ("Store.create in-process, 1 thread", "store_1_per_s"),
                       (f"Store.create in-process, {THREADS} threads", f"store_{THREADS}_per_s"),
                       ("HTTPS raw http.client, 1 connection", "raw_https_1_per_s"),
                       (f"HTTPS raw http.client, {MANY} connections", f"raw_https_{MANY}_per_s"),
                       ("HTTPS kubernetes client, 1 thread", "kube_1_per_s"),
                       (f"HTTPS kubernetes client, {THREADS} threads", f"kube_{THREADS}_per_s")):
        lines.append(f"{label:48} {c[key]:9.0f} {c[key] / base:10.2f}")
    lines.append("")
    lines.append(f"watch fan-out: {args.watchers} watchers, {args.writes} creates + {args.writes} patches; "
                 f"latency write acknowledged -> watcher read it, ms")
    lines.append(f"{'path':34} {'writes/s':>9} {'p50':>8} {'p99':>8} {'max':>8} {'last p50':>9} "
                 f"{'last p99':>9} {'sent p50':>9} {'sent p99':>9} {'sent max':>9} {'missing':>8}")
    for label, r in fanout.items():
        e, last, sent = r["each"], r["last_watcher"], r["from_sent"]
        lines.append(f"{label:34} {r['writes_per_s']:9.0f} {e['p50_ms']:8.2f} {e['p99_ms']:8.2f} "
                     f"{e['max_ms']:8.2f} {last['p50_ms']:9.2f} {last['p99_ms']:9.2f} "
                     f"{sent['p50_ms']:9.2f} {sent['p99_ms']:9.2f} {sent['max_ms']:9.2f} {r['missing']:8d}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.api_bench", description=__doc__.splitlines()[0])
    p.add_argument("--objects", type=int, default=400, help="VMs created per create measurement")
    p.add_argument("--watchers", type=int, default=50)
    p.add_argument("--writes", type=int, default=100, help="creates (and as many patches) watched")
    p.add_argument("--interval", type=float, default=0.02, help="seconds between paced writes")
    p.add_argument("--rounds", type=int, default=5, help="batches for the in-process admission timings")
    p.add_argument("--dir", type=Path, default=None,
                   help="where the API's state and the baseline databases go (default: a temporary "
                        "directory; fsync cost depends on its filesystem)")
    p.add_argument("--json", type=Path, default=None, help="write the numbers here")
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="api-bench-", dir=args.dir))
    api = APIProcess(work / "state")
    try:
        create = measure_create(api, work, args.objects, args.rounds)
        fanout = {}
        for label, interval in ((f"paced {args.interval * 1e3:g} ms", args.interval), ("burst", 0.0)):
            tag = "paced" if interval else "burst"
            fanout[f"store in-process, {label}"] = fanout_store(work, args.watchers, args.writes, interval, tag)
            fanout[f"HTTPS API, {label}"] = fanout_http(api, f"fanout-{tag}", args.watchers, args.writes, interval)
    finally:
        api.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(report(args, create, fanout))
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "create": create, "fanout": fanout}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
