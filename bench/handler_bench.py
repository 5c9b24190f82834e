"""Benchmark: the embedded node from `virtctl apply` to a booted guest, and the handler's cost per VM.

Owns the questions of issue 5, each against a baseline in the same run:

1. Start latency. virtnode: `virtctl up --accelerator emulation` in a temporary state
   directory, then `virtctl apply -f -` of 1 or N copies of KERNEL_BOOT_VM at once (the test
   guest's kernel and initramfs, no network). The clock starts when `virtctl apply` is
   spawned; a watch of VMIs stamps when each VMI appears and when it is first Running, the
   launcher records when each launcher was spawned, and each VM's boot log
   (`<launcher dir>/boot.log`) is polled for the guest's boot marker `VIRTNODE-GUEST-READY`.
   Baseline (bench/bare_libvirt.py): the same private libvirt daemon, one per VM as the node
   has, and `virsh create` of the domain XML our launcher generated, its serial console
   written to a file that is polled for the same marker; the clock starts before the daemons
   are spawned. Ratios virtnode/baseline for Running (the control plane's part) and for the
   marker.
2. The handler's cost per running VM: its RSS, PSS and USS with 0 and with N running VMs,
   (with N - with 0) / N, and its CPU time over a window with N idle running VMs (cores per
   VM). The launchers', libvirt daemons' and QEMUs' PSS and CPU are reported for context.
3. Variants without a baseline (bare libvirt has no pod network): the same VM with the
   default pod network, and examples/tiny-vm.yaml as shipped (containerDisk, cloud-init,
   masquerade); these also wait for the DHCP lease the guest prints (`VIRTNODE-GUEST-IP`).

Needs root and `make install` (the user `virtnode`, the test guest). Runs alternate
(virtnode, baseline, virtnode, ...) so that a disturbance hits both; medians are reported
with min-max, and the load average and any test run (pytest) seen on the machine with them.
Nothing here asserts a timing.

Run: python -m bench.handler_bench [--quick] [--vms N] [--repeat R] [--repeat-many R]
                                    [--cpu-window S] [--no-variants] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
import yaml

from bench.bare_libvirt import BOOT_TIMEOUT_S, POLL_S, BareGuests, Batch, Start, vm_processes
from bench.launcher_bench import pss_mib
from handler.client import Client
from handler.errors import HandlerError
from tests.guest.build import build
from tests.integration.launcher.process import short_dir
from tests.integration.virtctl.embedded import EmbeddedNode

KUBEVIRT_HANDLER_MIB = (15, 25)     # virt-handler's memory per VM, as issue 5 quotes it
KUBEVIRT_HANDLER_CORES = 0.001      # virt-handler's CPU per VM, as issue 5 quotes it
MEMORY = ("rss_mib", "pss_mib", "uss_mib")


REPO = Path(__file__).resolve().parent.parent

# The VM both sides start: the test guest's kernel and initramfs booted directly, no network
# (what examples/tiny-vm.yaml was before it became KubeVirt-style), so that bare libvirt can
# start the very same domain.
KERNEL_BOOT_VM = """
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: tiny, labels: {app: tiny}}
spec:
  runStrategy: Always
  template:
    metadata: {labels: {app: tiny}}
    spec:
      domain:
        cpu: {cores: 1}
        memory: {guest: 256Mi}
        firmware:
          kernelBoot:
            kernelArgs: console=ttyS0,115200 panic=-1
            container: {image: virtnode/test-guest, kernelPath: /boot/vmlinuz, initrdPath: /boot/initrd.img}
        devices: {autoattachPodInterface: false}
"""

# What each variant starts, and whether its guest gets a DHCP lease to wait for.
VARIANTS = {
    "kernel": "the VM above",
    "pod": "the VM above with the default pod network (autoattachPodInterface left out)",
    "example": "examples/tiny-vm.yaml as shipped: containerDisk, cloud-init, pod network (masquerade)",
}


def manifests(names: list[str], variant: str) -> str:
    """One VM of `variant` per name, without a grace period so that a batch is gone quickly."""
    docs = []
    for name in names:
        source = (REPO / "examples" / "tiny-vm.yaml").read_text() if variant == "example" else KERNEL_BOOT_VM
        doc = yaml.safe_load(source)
        doc["metadata"]["name"] = name
        doc["metadata"]["labels"]["app"] = name
        doc["spec"]["template"]["metadata"]["labels"]["app"] = name
        spec = doc["spec"]["template"]["spec"]
        spec["terminationGracePeriodSeconds"] = 0
        if variant == "pod":
            del spec["domain"]["devices"]["autoattachPodInterface"]
        docs.append(yaml.safe_dump(doc))
    return "---\n".join(docs)


# --- virtnode: the embedded node ---------------------------------------------------------------


class VMIClock:
    """A watch of the node's VMIs: when each (by name) first appeared and first was Running."""

    def __init__(self, kubeconfig: Path) -> None:
        self.client = Client.from_kubeconfig(str(kubeconfig))
        self.created: dict[str, float] = {}
        self.running: dict[str, float] = {}
        self.uids: dict[str, str] = {}
        self._stop = threading.Event()
        _, self._rv = self.client.list_vmis()
        threading.Thread(target=self._run, name="vmi-clock", daemon=True).start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for kind, vmi in self.client.watch_vmis("", self._rv, 30):
                    now = time.perf_counter()
                    if kind == "ERROR":
                        _, self._rv = self.client.list_vmis()
                        break
                    meta = vmi["metadata"]
                    self._rv = meta.get("resourceVersion", self._rv)
                    if kind in ("ADDED", "MODIFIED"):
                        self.uids[meta["name"]] = meta["uid"]
                        self.created.setdefault(meta["name"], now)
                        if (vmi.get("status") or {}).get("phase") == "Running":
                            self.running.setdefault(meta["name"], now)
            except HandlerError:
                self._stop.wait(0.5)

    def close(self) -> None:
        self._stop.set()
        self.client.close()


class Node:
    """The embedded node under test (`virtctl up` in a temporary state directory)."""

    def __init__(self, guest) -> None:
        self.embedded = EmbeddedNode(guest)
        self.state = self.embedded.state
        self.clock = VMIClock(self.state / "kubeconfig")
        self.handler = self.embedded.component("handler")
        self._batches = 0

    def start(self, count: int, variant: str = "kernel") -> Batch:
        """`virtctl apply` of `count` VMs at once; returns when all are Running and booted."""
        self._batches += 1
        batch = Batch(f"virtnode-{variant}", [Start(f"{variant[0]}{self._batches}-{i}") for i in range(count)])
        text = manifests([vm.name for vm in batch.vms], variant)
        lease = variant != "kernel"
        started = time.perf_counter()
        wall = time.time()            # launcher records stamp their start with time.time()
        self.embedded.ok("apply", "-f", "-", input=text)
        batch.applied_s = time.perf_counter() - started
        logs: dict[str, Path] = {}
        pending = {vm.name for vm in batch.vms}
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while pending:
            if time.monotonic() > deadline:
                raise RuntimeError(f"virtnode: {sorted(pending)} not booted within {BOOT_TIMEOUT_S} s")
            for vm in batch.vms:
                if vm.name in pending and vm.name not in logs:
                    if (record := self.record(self.clock.uids.get(vm.name, ""))) is not None:
                        logs[vm.name] = Path(record["directory"]) / "boot.log"
                        vm.launcher_s = record["started_at"] - wall
                try:
                    console = logs[vm.name].read_bytes()
                except (KeyError, OSError):
                    continue
                if vm.scan(console, time.perf_counter() - started, lease) \
                        and vm.name in self.clock.running:
                    pending.discard(vm.name)
            time.sleep(POLL_S)
        for vm in batch.vms:
            vm.created_s = self.clock.created[vm.name] - started
            vm.running_s = self.clock.running[vm.name] - started
        return batch

    def domain_xml(self, name: str) -> tuple[str, str]:
        """The live domain XML the launcher of VM `name` generated, and its launcher directory."""
        record, client = self.embedded.launcher(self.clock.uids[name])
        try:
            return client.domain().domain_xml, record["directory"]
        finally:
            client.close()

    def record(self, uid: str) -> dict | None:
        try:
            return json.loads((self.state / "node" / "launchers" / f"{uid}.json").read_text())
        except (OSError, ValueError):
            return None

    def records(self) -> list[dict]:
        paths = (self.state / "node" / "launchers").glob("*.json")
        return [r for r in (self.record(p.stem) for p in paths) if r is not None]

    def delete(self, batch: Batch) -> None:
        """Deletes the batch's VMs; waits until their VMIs, launchers and QEMUs are gone."""
        dirs = [f"{r['directory']}/" for r in self.records()]
        self.embedded.ok("delete", "vm", *(vm.name for vm in batch.vms), timeout=300)
        deadline = time.monotonic() + 300
        while True:
            vmis, _ = self.clock.client.list_vmis()
            records, qemus = self.records(), vm_processes(dirs)["qemu"]
            if not vmis and not records and not qemus:
                return
            if time.monotonic() > deadline:
                left = [f"{v['metadata']['name']} ({(v.get('status') or {}).get('phase')})" for v in vmis]
                raise RuntimeError(f"virtnode: the deleted VMs did not go away within 300 s: VMIs {left}, "
                                   f"launcher records {[r['name'] for r in records]}, QEMU pids "
                                   f"{[p.pid for p in qemus]}")
            time.sleep(0.5)

    def processes(self) -> dict[str, list[psutil.Process]]:
        """The node's launchers, their libvirt daemons and QEMUs."""
        records = self.records()
        found = {"launcher": [], **vm_processes([f"{r['directory']}/" for r in records])}
        for record in records:
            try:
                found["launcher"].append(psutil.Process(record["pid"]))
            except psutil.Error:
                pass
        return found

    def keep_logs(self) -> Path:
        """A copy of the node's logs (supervisor, API, controller, handler, launchers)."""
        keep = Path(f"/tmp/handler-bench-logs-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.copytree(self.state / "logs", keep / "node")
        for log in (self.state / "node" / "sandboxes").glob("*/launcher.log"):
            shutil.copy(log, keep / f"launcher-{log.parent.name}.log")
        return keep

    def close(self) -> None:
        self.clock.close()
        self.embedded.close()


# --- resources ---------------------------------------------------------------------------------


def memory_of(process: psutil.Process) -> dict[str, float]:
    info = process.memory_full_info()
    return {"rss_mib": info.rss / 2**20, "pss_mib": info.pss / 2**20, "uss_mib": info.uss / 2**20}


def pss_per_vm(groups: dict[str, list[psutil.Process]], count: int) -> dict[str, float]:
    return {k: pss_mib([p.pid for p in procs]) / count for k, procs in groups.items()}


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def cpu_window(groups: dict[str, list[psutil.Process]], seconds: float) -> dict[str, float]:
    """Cores (CPU seconds per second) each group of processes used over `seconds`."""
    before = {k: cpu_seconds(v) for k, v in groups.items()}
    wall = time.perf_counter()
    time.sleep(seconds)
    wall = time.perf_counter() - wall
    return {"window_s": wall, **{k: (cpu_seconds(v) - before[k]) / wall for k, v in groups.items()}}


def machine_load(own: int) -> dict:
    """The load average and the CPU seconds used so far by each test run (pytest, with its
    children) on the machine: what may skew the numbers."""
    tests = {}
    for p in psutil.process_iter(["pid", "cmdline"]):
        if p.info["pid"] != own and any("pytest" in c for c in (p.info["cmdline"] or [])[:3]):
            try:
                tree = [p, *p.children(recursive=True)]
                t = p.cpu_times()
                tests[str(p.pid)] = round(cpu_seconds(tree) + t.children_user + t.children_system, 2)
            except psutil.Error:
                pass
    return {"loadavg": [round(x, 2) for x in os.getloadavg()], "tests_cpu_s": tests}


def foreign_cpu_s(load: dict[str, dict]) -> float:
    """CPU seconds the test runs seen at two or more samples used between them."""
    seen: dict[str, list[float]] = {}
    for sample in load.values():
        for pid, cpu in sample["tests_cpu_s"].items():
            seen.setdefault(pid, []).append(cpu)
    return sum(max(v) - min(v) for v in seen.values())


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Measured:
    batches: dict[str, list[Batch]] = field(default_factory=lambda: {
        k: [] for k in ("virtnode-1", "bare-1", "virtnode-n", "bare-n", "pod-1", "pod-n", "example-1")})
    handler_memory: dict[str, dict] = field(default_factory=dict)   # fresh, idle, running
    handler_cpu: dict[str, dict] = field(default_factory=dict)      # idle, running
    vm_pss: dict[str, dict] = field(default_factory=dict)           # virtnode, bare
    vm_cpu: dict[str, dict] = field(default_factory=dict)           # virtnode, bare
    load: dict[str, dict] = field(default_factory=dict)


class Run:
    """One run of the benchmark: the node, the baseline, and what was measured, in order."""

    def __init__(self, args: argparse.Namespace, node: Node, work: Path) -> None:
        self.args, self.node, self.work = args, node, work
        self.bare: BareGuests | None = None
        self.m = Measured()

    def settle(self, seconds: float = 3.0) -> None:
        """Lets the node finish what a batch started (status writes, teardown) before going on."""
        time.sleep(seconds)

    def warm_up(self) -> None:
        """One VM through the node (fills the QEMU capabilities cache, gives the domain XML)
        and one bare guest; then the idle handler's memory and CPU."""
        self.settle(5)
        self.m.handler_memory["fresh"] = memory_of(self.node.handler)
        progress("warm-up: one VM through the node, one bare guest")
        warm = self.node.start(1)
        xml, launcher_dir = self.node.domain_xml(warm.vms[0].name)
        self.node.delete(warm)
        self.bare = BareGuests(self.work, xml, launcher_dir, self.node.state / "node" / "qemu-caps")
        self.bare.start(1, wait_boot=False)
        self.bare.stop()
        self.settle()
        self.m.handler_memory["idle"] = memory_of(self.node.handler)
        progress(f"the idle handler's CPU over {self.args.cpu_window:g} s")
        self.m.handler_cpu["idle"] = cpu_window({"handler": [self.node.handler]}, self.args.cpu_window)

    def round(self, key: str, count: int, measure: bool) -> None:
        """`count` VMs through the node, then `count` bare guests; resources while they run."""
        self.m.load[f"{key}-{len(self.m.batches['virtnode-' + key])}"] = machine_load(os.getpid())
        batch = self.node.start(count)
        self.m.batches["virtnode-" + key].append(batch)
        if measure:
            self.settle(10)
            self.m.handler_memory["running"] = memory_of(self.node.handler)
            procs = self.node.processes()
            self.m.vm_pss["virtnode"] = pss_per_vm(procs, count)
            progress(f"the handler's CPU over {self.args.cpu_window:g} s with {count} running VM(s)")
            cpu = cpu_window({"handler": [self.node.handler], **procs}, self.args.cpu_window)
            self.m.handler_cpu["running"] = cpu
            self.m.vm_cpu["virtnode"] = {k: v / count for k, v in cpu.items() if k not in ("handler", "window_s")}
        self.node.delete(batch)
        self.settle()
        batch = self.bare.start(count)
        self.m.batches["bare-" + key].append(batch)
        if measure:
            self.settle(10)
            procs = self.bare.processes()
            self.m.vm_pss["bare"] = pss_per_vm(procs, count)
            cpu = cpu_window(procs, min(self.args.cpu_window, 20))
            self.m.vm_cpu["bare"] = {k: v / count for k, v in cpu.items() if k != "window_s"}
        self.bare.stop()
        self.settle()

    def variant(self, variant: str, key: str, count: int) -> None:
        """`count` VMs of a variant without a baseline (bare libvirt has no pod network)."""
        batch = self.node.start(count, variant)
        self.m.batches[f"{variant}-{key}"].append(batch)
        self.node.delete(batch)
        self.settle()

    def all(self) -> Measured:
        a = self.args
        self.m.load["start"] = machine_load(os.getpid())
        self.warm_up()
        for r in range(a.repeat):
            progress(f"1 VM, round {r + 1}/{a.repeat}")
            self.round("1", 1, measure=a.vms == 1 and r == 0)
        for r in range(a.repeat_many if a.vms > 1 else 0):
            progress(f"{a.vms} VMs at once, round {r + 1}/{a.repeat_many}")
            self.round("n", a.vms, measure=r == 0)
        if a.variants:
            for r in range(a.repeat):
                progress(f"pod network, 1 VM, round {r + 1}/{a.repeat}")
                self.variant("pod", "1", 1)
                progress(f"examples/tiny-vm.yaml, 1 VM, round {r + 1}/{a.repeat}")
                self.variant("example", "1", 1)
            if a.vms > 1:
                progress(f"pod network, {a.vms} VMs at once")
                self.variant("pod", "n", a.vms)
        self.m.load["end"] = machine_load(os.getpid())
        if not self.node.handler.is_running():
            raise RuntimeError("The handler was restarted during the run: its memory and CPU mean nothing")
        return self.m


def summarize(batches: list[Batch], attr: str, which: str) -> dict:
    values = [b.last(attr) if which == "last" else b.p50(attr) for b in batches]
    return {"median_s": statistics.median(values), "min_s": min(values), "max_s": max(values),
            "runs_s": values}


def results(args: argparse.Namespace, m: Measured) -> dict:
    n = args.vms
    out: dict = {"machine": {
        "cores": psutil.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": _cpu_model(), "kernel": platform.release(), "python": platform.python_version(),
        "accelerator": "TCG (virtctl up --accelerator emulation)"},
        "config": {k: v for k, v in vars(args).items() if k != "json"}, "load": m.load,
        "batches": {k: [asdict(b) for b in v] for k, v in m.batches.items()}}
    start: dict = {}
    many = "1" if n == 1 else "n"
    for label, key, which in (("1 VM", "1", "last"), (f"{n} VMs, last", many, "last"),
                              (f"{n} VMs, p50", many, "p50")):
        ours, base = m.batches["virtnode-" + key], m.batches["bare-" + key]
        if n == 1 and label != "1 VM":
            continue
        row: dict = {}
        for attr in ("running_s", "marker_s"):
            v, b = summarize(ours, attr, which), summarize(base, attr, which)
            row[attr] = {"virtnode": v, "bare": b, "ratio": v["median_s"] / b["median_s"]}
        row["applied_s"] = statistics.median(x.applied_s for x in ours)
        row["created_s"] = summarize(ours, "created_s", which)
        row["launcher_s"] = summarize(ours, "launcher_s", which)
        row["uptime_s"] = {"virtnode": summarize(ours, "uptime_s", "p50"),   # of the median guest
                           "bare": summarize(base, "uptime_s", "p50")}
        start[label] = row
    out["start"] = start
    variants: dict = {}
    for label, key, which in (("pod network, 1 VM", "pod-1", "last"),
                              (f"pod network, {n} VMs, last", "pod-n", "last"),
                              (f"pod network, {n} VMs, p50", "pod-n", "p50"),
                              ("tiny-vm.yaml, 1 VM", "example-1", "last")):
        if m.batches[key]:
            variants[label] = {a: summarize(m.batches[key], a, which)
                               for a in ("running_s", "marker_s", "lease_s")}
    out["variants"] = {"what": VARIANTS, "start": variants}
    mem, cpu = m.handler_memory, m.handler_cpu
    out["handler"] = {
        "memory_mib": mem,
        "memory_per_vm_mib": {k: (mem["running"][k] - mem["idle"][k]) / n for k in MEMORY},
        "memory_per_vm_from_fresh_mib": {k: (mem["running"][k] - mem["fresh"][k]) / n
                                         for k in MEMORY},
        "cpu_window_s": cpu["running"]["window_s"],
        "cpu_idle_cores": cpu["idle"]["handler"], "cpu_running_cores": cpu["running"]["handler"],
        "cores_per_vm": cpu["running"]["handler"] / n,
        "cores_per_vm_above_idle": (cpu["running"]["handler"] - cpu["idle"]["handler"]) / n}
    out["per_vm"] = {"pss_mib": m.vm_pss, "cores": m.vm_cpu}
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the report --------------------------------------------------------------------------------


def _spread(s: dict) -> str:
    if len(s["runs_s"]) < 2:
        return f"{s['median_s']:.2f} s"
    return f"{s['median_s']:.2f} s ({s['min_s']:.2f}-{s['max_s']:.2f})"


def report(r: dict) -> str:
    m, cfg, load = r["machine"], r["config"], r["load"]
    tests = sorted({pid for v in load.values() for pid in v["tests_cpu_s"]})
    lines = [f"machine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, {m['accelerator']}",
             f"load average at start {load['start']['loadavg'][0]:.2f}, at end {load['end']['loadavg'][0]:.2f}; "
             f"test runs seen: {', '.join(tests) or 'none'}, their CPU during the run "
             f"{foreign_cpu_s(load):.1f} s",
             f"1 VM: {cfg['repeat']} round(s); {cfg['vms']} VMs: {cfg['repeat_many']} round(s). Medians "
             "(min-max). Clock: from spawning `virtctl apply` / the bare daemons", "",
             f"{'start':<28}{'virtnode':>24}{'bare libvirt':>24}{'ratio':>7}  target"]
    for label, row in r["start"].items():
        for attr, what, target in (("running_s", "Running", "< 1.5"), ("marker_s", "boot marker", "")):
            x = row[attr]
            lines.append(f"{label + ' -> ' + what:<28}{_spread(x['virtnode']):>24}{_spread(x['bare']):>24}"
                         f"{x['ratio']:7.2f}  {target}")
        lines.append(f"    virtnode: apply returned {row['applied_s']:.2f} s, VMI created "
                     f"{row['created_s']['median_s']:.2f} s, launcher spawned {row['launcher_s']['median_s']:.2f} s; "
                     f"the median guest's uptime at the marker: virtnode "
                     f"{row['uptime_s']['virtnode']['median_s']:.2f} s, bare {row['uptime_s']['bare']['median_s']:.2f} s")
    if r["variants"]["start"]:
        lines += ["", f"{'variants (no baseline)':<28}{'Running':>24}{'boot marker':>24}{'DHCP lease':>24}"]
        for label, row in r["variants"]["start"].items():
            lines.append(f"{label:<28}" + "".join(f"{_spread(row[a]):>24}"
                                                  for a in ("running_s", "marker_s", "lease_s")))
    h, n, mem = r["handler"], cfg["vms"], r["handler"]["memory_mib"]
    lines += ["", f"{'handler memory':<28}{'RSS MiB':>10}{'PSS MiB':>10}{'USS MiB':>10}"]
    for label, key in (("fresh (no VM yet)", "fresh"), ("0 VMs (after the warm-up)", "idle"),
                       (f"{n} VM(s) running", "running")):
        lines.append(f"{label:<28}" + "".join(f"{mem[key][k]:10.1f}" for k in MEMORY))
    per = h["memory_per_vm_mib"]
    lines.append(f"{'per VM':<28}" + "".join(f"{per[k]:10.2f}" for k in MEMORY) + "   target < 5; "
                 f"KubeVirt's virt-handler {KUBEVIRT_HANDLER_MIB[0]}-{KUBEVIRT_HANDLER_MIB[1]}")
    lines.append(f"handler CPU over {h['cpu_window_s']:.0f} s: idle {h['cpu_idle_cores']:.5f} cores, "
                 f"{n} VM(s) {h['cpu_running_cores']:.5f} cores -> {h['cores_per_vm']:.5f} per VM "
                 f"({h['cores_per_vm_above_idle']:.5f} above idle); target < 0.001, KubeVirt {KUBEVIRT_HANDLER_CORES}")
    pss, cores = r["per_vm"]["pss_mib"], r["per_vm"]["cores"]
    lines.append("")
    lines.append(f"{'per VM, ' + str(n) + ' running':<28}{'launcher':>10}{'libvirtd':>10}{'QEMU':>10}{'sum':>10}")
    for side in ("virtnode", "bare"):
        p, c = pss[side], cores[side]
        lines.append(f"{side + ' PSS MiB':<28}{p.get('launcher', 0):10.1f}{p['libvirtd']:10.1f}"
                     f"{p['qemu']:10.1f}{sum(p.values()):10.1f}")
        lines.append(f"{side + ' CPU cores':<28}{c.get('launcher', 0):10.4f}{c['libvirtd']:10.4f}"
                     f"{c['qemu']:10.4f}{sum(c.values()):10.4f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="1 VM, 1 round, a 10 s CPU window, no variants (a couple of minutes)")
    parser.add_argument("--vms", type=int, default=10, help="VMs applied at once (default 10)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of 1 VM (default 3)")
    parser.add_argument("--repeat-many", type=int, default=2, help="rounds of --vms VMs (default 2)")
    parser.add_argument("--cpu-window", type=float, default=60, help="seconds of CPU measurement (default 60)")
    parser.add_argument("--variants", action=argparse.BooleanOptionalAction, default=True,
                        help="also start the VM with the pod network, and examples/tiny-vm.yaml "
                             "(no baseline; default on)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    if args.quick:
        args.vms, args.repeat, args.repeat_many, args.cpu_window, args.variants = 1, 1, 1, 10, False
    if os.geteuid() != 0:
        print("handler_bench needs root (the embedded node's handler, the baseline's daemons)", file=sys.stderr)
        return 2
    work = short_dir("vnhb-")
    node = run = None
    try:
        node = Node(build(log=lambda m: None))
        run = Run(args, node, work)
        measured = run.all()
    except BaseException:
        if node is not None:
            print(f"the node's logs are kept in {node.keep_logs()}", file=sys.stderr)
        raise
    finally:
        if run is not None and run.bare is not None:
            run.bare.stop()
        if node is not None:
            node.close()
        shutil.rmtree(work, ignore_errors=True)
    result = results(args, measured)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
