"""Benchmark: launcher start → domain running, and the launcher's memory overhead per VM.

Owns two questions of issue 3, each against a baseline in the same run:

1. Start latency. virtnode: spawn `python -m launcher`, wait for its socket,
   Handshake, Sync (convert, define, start) until the domain runs. Baseline:
   spawn the same private libvirt daemon by hand (launcher.daemon, same user,
   same warm capabilities cache) and `virsh create` the very XML the launcher
   defined. Both include starting a daemon, so the ratio is what the launcher
   itself adds (Python start-up, gRPC, conversion). `virsh create` against an
   already running daemon is reported too, as the floor.
2. Memory. The proportional set size (PSS, so shared libraries are split
   fairly) of the launcher process, its libvirt daemon and virtlogd (none:
   QEMU logs straight to a file), against KubeVirt's fixed 240 MiB per VM.

Run as root after `make install`:  python -m bench.launcher_bench [--rounds N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import grpc
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from controller.admission import ClusterConfig, default  # noqa: E402
from launcher.daemon import PrivateDaemon  # noqa: E402
from protos import codec  # noqa: E402
from protos.launcher.v1 import cmd_pb2, cmd_pb2_grpc, domain_pb2  # noqa: E402
from tests.guest.build import build  # noqa: E402

KUBEVIRT_OVERHEAD_MIB = 240  # virt-launcher's fixed share in KubeVirt's overhead formula
VMI = """
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {{name: bench, namespace: default, uid: "{uid}"}}
spec:
  domain:
    memory: {{guest: 256Mi}}
    firmware:
      kernelBoot:
        kernelArgs: console=ttyS0,115200 panic=-1
        container: {{image: virtnode/test-guest, kernelPath: /boot/vmlinuz, initrdPath: /boot/initrd.img}}
    devices: {{autoattachPodInterface: false}}
"""


def pss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_full_info().pss
        except psutil.Error:
            pass
    return total / 2**20


def launcher_round(work: Path, images: dict[str, str], caps: Path) -> dict:
    uid = str(uuid.uuid4())
    vm_dir, sock = work / "vm", work / "vm" / "launcher.sock"
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "launcher", "--vmi-uid", uid, "--name", "bench",
                             "--dir", str(vm_dir), "--socket", str(sock), "--accelerator", "emulation",
                             "--caps-cache", str(caps), "--log-level", "warning"],
                            cwd=REPO, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while not sock.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"launcher exited with {proc.returncode}")
            time.sleep(0.005)
        channel = grpc.insecure_channel(f"unix:{sock}")
        stub = cmd_pb2_grpc.CmdStub(channel)
        stub.Handshake(cmd_pb2.HandshakeRequest(vmi_uid=uid, supported_versions=[1]),
                       wait_for_ready=True, timeout=60)
        ready = time.perf_counter()
        vmi = default(codec.load_documents(VMI.format(uid=uid))[0], ClusterConfig())
        reply = stub.Sync(cmd_pb2.SyncRequest(vmi_uid=uid, vmi=vmi, options=cmd_pb2.SyncOptions(
            kernel_boot=cmd_pb2.KernelBootFiles(**images))), timeout=120)
        running = time.perf_counter()
        assert reply.status.state == domain_pb2.DOMAIN_STATE_RUNNING, reply.status
        xml = stub.GetDomain(cmd_pb2.GetDomainRequest(vmi_uid=uid), timeout=10).domain_xml
        time.sleep(2)  # let the guest and the daemon settle before measuring memory
        daemon = [p.pid for p in psutil.process_iter(["environ"])
                  if (p.info.get("environ") or {}).get("XDG_RUNTIME_DIR", "").startswith(str(vm_dir))]
        memory = {"launcher": pss_mib([proc.pid]), "libvirtd": pss_mib(daemon), "virtlogd": 0.0}
        stub.Terminate(cmd_pb2.TerminateRequest(vmi_uid=uid, grace_period_seconds=0), timeout=60)
        proc.wait(30)
        channel.close()
        return {"to_ready_s": ready - started, "to_running_s": running - started, "xml": xml,
                "memory_mib": memory}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(vm_dir, ignore_errors=True)


def memory_per_vm(work: Path, images: dict[str, str], caps: Path, count: int) -> dict:
    """PSS per VM with `count` launchers running at once: shared libraries are split among them."""
    procs, uids = [], []
    try:
        for i in range(count):
            uid = str(uuid.uuid4())
            vm_dir = work / f"m{i}"
            sock = vm_dir / "launcher.sock"
            procs.append((subprocess.Popen(
                [sys.executable, "-m", "launcher", "--vmi-uid", uid, "--name", f"m{i}", "--dir",
                 str(vm_dir), "--socket", str(sock), "--accelerator", "emulation", "--caps-cache",
                 str(caps), "--log-level", "warning"], cwd=REPO, stderr=subprocess.DEVNULL,
                start_new_session=True), vm_dir, sock))
            uids.append(uid)
        for (proc, vm_dir, sock), uid in zip(procs, uids):
            with grpc.insecure_channel(f"unix:{sock}") as channel:
                stub = cmd_pb2_grpc.CmdStub(channel)
                stub.Handshake(cmd_pb2.HandshakeRequest(vmi_uid=uid, supported_versions=[1]),
                               wait_for_ready=True, timeout=60)
                vmi = default(codec.load_documents(VMI.format(uid=uid).replace("name: bench", f"name: {vm_dir.name}"))[0],
                              ClusterConfig())
                stub.Sync(cmd_pb2.SyncRequest(vmi_uid=uid, vmi=vmi, options=cmd_pb2.SyncOptions(
                    kernel_boot=cmd_pb2.KernelBootFiles(**images))), timeout=120)
        time.sleep(3)
        launchers = pss_mib([p.pid for p, _, _ in procs])
        daemons = pss_mib([p.pid for p in psutil.process_iter(["environ"])
                           if any((p.info.get("environ") or {}).get("XDG_RUNTIME_DIR", "").startswith(str(d))
                                  for _, d, _ in procs)])
        return {"launcher": launchers / count, "libvirtd": daemons / count}
    finally:
        for (proc, vm_dir, sock), uid in zip(procs, uids):
            try:
                with grpc.insecure_channel(f"unix:{sock}") as channel:
                    cmd_pb2_grpc.CmdStub(channel).Terminate(
                        cmd_pb2.TerminateRequest(vmi_uid=uid, grace_period_seconds=0), timeout=60)
            except grpc.RpcError:
                pass
        for proc, vm_dir, _ in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            shutil.rmtree(vm_dir, ignore_errors=True)


def virsh_round(work: Path, xml: str, caps: Path) -> dict:
    vm_dir = work / "bare"
    vm_dir.mkdir()
    os.chmod(vm_dir, 0o711)
    guest = vm_dir / "guest"
    guest.mkdir()
    daemon = PrivateDaemon(vm_dir, caps_cache=caps)
    os.chown(guest, daemon.uid, daemon.gid)
    xml = xml.replace(str(work / "vm" / "guest"), str(guest))
    xml_file = vm_dir / "domain.xml"
    xml_file.write_text(xml)
    try:
        started = time.perf_counter()
        uri = daemon.start(timeout=30)
        subprocess.run(["virsh", "-q", "-c", uri, "create", str(xml_file)], check=True,
                       capture_output=True)
        running = time.perf_counter()
        subprocess.run(["virsh", "-q", "-c", uri, "destroy", "default_bench"], check=True,
                       capture_output=True)
        again = time.perf_counter()
        subprocess.run(["virsh", "-q", "-c", uri, "create", str(xml_file)], check=True,
                       capture_output=True)
        warm = time.perf_counter() - again
        subprocess.run(["virsh", "-q", "-c", uri, "destroy", "default_bench"], capture_output=True)
        return {"to_running_s": running - started, "warm_create_s": warm}
    finally:
        daemon.stop()
        shutil.rmtree(vm_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--concurrent", type=int, default=4,
                        help="VMs running at once for the per-VM memory with shared libraries split")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("launcher_bench needs root (the launcher starts its daemon as another user)", file=sys.stderr)
        return 2
    built = build(log=lambda m: None)
    work = Path(tempfile.mkdtemp(prefix="vnb-", dir="/tmp"))
    os.chmod(work, 0o755)
    images = {"kernel": str(work / "vmlinuz"), "initrd": str(work / "initrd.img")}
    shutil.copy(built.kernel, images["kernel"])
    shutil.copy(built.initrd, images["initrd"])
    caps = work / "caps"
    try:
        warmup = launcher_round(work, images, caps)  # fills the capabilities cache
        ours, bare = [], []
        for _ in range(args.rounds):
            ours.append(launcher_round(work, images, caps))
            bare.append(virsh_round(work, warmup["xml"], caps))
        shared = memory_per_vm(work, images, caps, args.concurrent)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = statistics.median
    result = {
        "rounds": args.rounds,
        "launcher_to_ready_s": med(r["to_ready_s"] for r in ours),
        "launcher_to_running_s": med(r["to_running_s"] for r in ours),
        "virsh_daemon_and_create_s": med(r["to_running_s"] for r in bare),
        "virsh_create_warm_daemon_s": med(r["warm_create_s"] for r in bare),
        "first_start_without_cache_s": warmup["to_running_s"],
        "memory_mib": {k: med(r["memory_mib"][k] for r in ours) for k in ("launcher", "libvirtd", "virtlogd")},
    }
    result["start_ratio"] = result["launcher_to_running_s"] / result["virsh_daemon_and_create_s"]
    overhead = sum(result["memory_mib"].values())
    result["overhead_mib"] = overhead
    result["concurrent"] = args.concurrent
    result["memory_mib_per_vm_concurrent"] = shared
    print(f"rounds: {args.rounds} (medians), TCG guest with 256 MiB, warm QEMU capabilities cache")
    print(f"launcher spawn -> Handshake answered      {result['launcher_to_ready_s'] * 1000:8.0f} ms")
    print(f"launcher spawn -> Sync: domain running    {result['launcher_to_running_s'] * 1000:8.0f} ms")
    print(f"bare: daemon spawn -> virsh create done   {result['virsh_daemon_and_create_s'] * 1000:8.0f} ms")
    print(f"bare: virsh create on a running daemon    {result['virsh_create_warm_daemon_s'] * 1000:8.0f} ms")
    print(f"start ratio (launcher / bare)             {result['start_ratio']:8.2f}   (target < 1.3)")
    print(f"first start with an empty cache           {result['first_start_without_cache_s'] * 1000:8.0f} ms")
    mem = result["memory_mib"]
    print(f"PSS MiB: launcher {mem['launcher']:.1f} + libvirtd {mem['libvirtd']:.1f} + virtlogd "
          f"{mem['virtlogd']:.1f} = {overhead:.1f} MiB   (target < 40; KubeVirt budgets "
          f"{KUBEVIRT_OVERHEAD_MIB}: {overhead / KUBEVIRT_OVERHEAD_MIB:.2f}x)")
    per_vm = sum(shared.values())
    print(f"PSS MiB per VM with {args.concurrent} VMs running: launcher {shared['launcher']:.1f} + "
          f"libvirtd {shared['libvirtd']:.1f} = {per_vm:.1f} MiB ({per_vm / KUBEVIRT_OVERHEAD_MIB:.2f}x KubeVirt's)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
