"""The baseline of the node benchmarks: guests started by bare libvirt, timed to running and booted.

Owns starting N guests the way a person would without virtnode, but with the same
architecture: one private libvirt daemon per guest (launcher.daemon.PrivateDaemon, the
unprivileged user `virtnode`, a warm QEMU capabilities cache) and `virsh create` of the domain
XML a launcher generated, moved to another directory and name, its serial console written to
a file. Also owns the shared pieces both sides of bench/handler_bench.py use: what one started
VM's times are (`Start`), scanning console output for the guest's boot marker, and finding the
libvirt daemons and QEMUs under a directory. Never touches the embedded node.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from launcher.daemon import PrivateDaemon

MARKER = b"VIRTNODE-GUEST-READY"   # tests/guest/init.sh: printed once modules are loaded
LEASE = b"VIRTNODE-GUEST-IP"       # tests/guest/udhcpc.sh: printed with the DHCP lease
POLL_S = 0.05
BOOT_TIMEOUT_S = 600


@dataclass
class Start:
    """One VM of a batch, in seconds from the batch's start (None: not seen)."""

    name: str
    created_s: float | None = None     # virtnode: its VMI appeared; bare: its daemon answered
    launcher_s: float | None = None    # virtnode: the handler spawned its launcher
    running_s: float | None = None     # virtnode: phase Running; bare: `virsh create` returned
    marker_s: float | None = None      # the boot marker was on the console
    lease_s: float | None = None       # pod network only: the guest printed its DHCP lease
    uptime_s: float | None = None      # the guest's own uptime when it printed the marker

    def scan(self, console: bytes, now: float, lease: bool = False) -> bool:
        """Stamps the marker (and the lease) if `console` shows them; True once all are seen."""
        if self.marker_s is None and MARKER in console:
            self.marker_s = now
            words = console.split(MARKER, 1)[1].split(b"\n", 1)[0].split()
            if words and words[0].startswith(b"uptime="):
                try:
                    self.uptime_s = float(words[0][7:])
                except ValueError:
                    pass
        if lease and self.lease_s is None and LEASE in console:
            self.lease_s = now
        return self.marker_s is not None and (not lease or self.lease_s is not None)


@dataclass
class Batch:
    """VMs started at once; `applied_s` is when `virtctl apply` returned (virtnode only)."""

    kind: str
    vms: list[Start] = field(default_factory=list)
    applied_s: float = 0.0

    @property
    def count(self) -> int:
        return len(self.vms)

    def last(self, attr: str) -> float:
        return max(getattr(v, attr) for v in self.vms)

    def p50(self, attr: str) -> float:
        return statistics.median(getattr(v, attr) for v in self.vms)


def vm_processes(dirs: list[str]) -> dict[str, list[psutil.Process]]:
    """libvirtd (by its XDG_RUNTIME_DIR) and QEMU (by its command line) under any of `dirs`."""
    found: dict[str, list[psutil.Process]] = {"libvirtd": [], "qemu": []}
    for p in psutil.process_iter(["name", "cmdline", "environ"]):
        name = p.info["name"] or ""
        if name == "libvirtd":
            runtime = (p.info.get("environ") or {}).get("XDG_RUNTIME_DIR", "")
            if any(runtime.startswith(d) for d in dirs):
                found["libvirtd"].append(p)
        elif name.startswith("qemu-system"):
            if any(d in arg for arg in p.info["cmdline"] or [] for d in dirs):
                found["qemu"].append(p)
    return found


def bare_xml(launcher_xml: str, launcher_dir: str, vm_dir: Path, name: str, serial: Path) -> str:
    """A launcher's live domain XML for another directory, name and uuid; serial to a file."""
    root = ET.fromstring(launcher_xml.replace(launcher_dir, str(vm_dir)))
    root.attrib.pop("id", None)
    root.find("name").text = name
    new_uuid = str(uuid.uuid4())
    for node in root.iter():
        if node.tag == "uuid" or (node.tag == "entry" and node.get("name") == "uuid"):
            node.text = new_uuid
    for tag in ("serial", "console"):
        for device in root.find("devices").findall(tag):
            device.set("type", "file")
            source = device.find("source")
            source.attrib.clear()
            source.set("path", str(serial))
    return ET.tostring(root, encoding="unicode")


class BareGuests:
    """Guests of one launcher's domain XML, each under a private libvirtd of its own.

        bare = BareGuests(work_dir, launcher_xml, launcher_dir, caps_cache)
        batch = bare.start(10)      # running and booted, timed
        bare.stop()                 # daemons, QEMUs and directories gone
    """

    def __init__(self, work: Path, launcher_xml: str, launcher_dir: str, caps: Path) -> None:
        self.work = work
        self.xml, self.launcher_dir, self.caps = launcher_xml, launcher_dir, caps
        self.daemons: list[PrivateDaemon] = []
        self._names: list[str] = []        # the domain of each daemon
        self._batches = 0

    def start(self, count: int, wait_boot: bool = True) -> Batch:
        """Starts `count` daemons and guests at once; returns when all print the boot marker."""
        self._batches += 1
        batch, serials, files = Batch("bare"), [], []
        for i in range(count):
            name = f"bare{self._batches}-{i}"
            vm_dir = self.work / name
            vm_dir.mkdir()
            os.chmod(vm_dir, 0o711)
            daemon = PrivateDaemon(vm_dir, caps_cache=self.caps)
            guest = vm_dir / "guest"     # as the launcher's: owned by the daemon's user
            guest.mkdir()
            os.chown(guest, daemon.uid, daemon.gid)
            files.append(vm_dir / "domain.xml")
            serials.append(guest / "serial.log")
            files[-1].write_text(bare_xml(self.xml, self.launcher_dir, vm_dir, name, serials[-1]))
            self.daemons.append(daemon)
            self._names.append(name)
            batch.vms.append(Start(name))
        errors: list[str] = []
        started = time.perf_counter()
        for daemon in self.daemons[-count:]:   # from this thread: the parent-death signal follows it
            daemon.spawn()

        def create(daemon: PrivateDaemon, xml_file: Path, vm: Start) -> None:
            try:
                uri = daemon.wait_ready(timeout=60)
                vm.created_s = time.perf_counter() - started
                done = subprocess.run(["virsh", "-q", "-c", uri, "create", str(xml_file)],
                                      capture_output=True, text=True)
                if done.returncode != 0:
                    errors.append(f"virsh create {xml_file}: {done.stderr.strip()}")
                    return
                vm.running_s = time.perf_counter() - started
            except Exception as e:  # noqa: BLE001 - reported with every other VM's below
                errors.append(f"{xml_file}: {e}")

        threads = [threading.Thread(target=create, args=a)
                   for a in zip(self.daemons[-count:], files, batch.vms)]
        for t in threads:
            t.start()
        pending = set(range(count)) if wait_boot else set()
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while pending and not errors:
            if time.monotonic() > deadline:
                errors.append(f"{len(pending)} guests not booted within {BOOT_TIMEOUT_S} s")
                break
            for i in list(pending):
                try:
                    console = serials[i].read_bytes()
                except OSError:
                    continue
                if batch.vms[i].scan(console, time.perf_counter() - started) \
                        and batch.vms[i].running_s is not None:
                    pending.discard(i)
            time.sleep(POLL_S)
        for t in threads:
            t.join()
        if errors:
            raise RuntimeError("Bare libvirt: " + "; ".join(errors))
        return batch

    def processes(self) -> dict[str, list[psutil.Process]]:
        return vm_processes([f"{d.vm_dir}/" for d in self.daemons])

    def stop(self) -> None:
        """Destroys the guests (a stopped session daemon leaves its QEMUs), stops the daemons."""
        for daemon, name in zip(self.daemons, self._names):
            if daemon.alive():
                subprocess.run(["virsh", "-q", "-c", daemon.uri, "destroy", name], capture_output=True)
            daemon.stop()
            shutil.rmtree(daemon.vm_dir, ignore_errors=True)
        self.daemons, self._names = [], []
