"""The VM's cgroup: which hierarchy the host has, where the VM's cgroup lives, its limits.

Owns cgroupfs for the sandbox: `detect()` reads /proc/self/mountinfo and picks
cgroup v2 (the unified hierarchy, when it offers the memory, cpu and pids
controllers and we may write to it) or v1 (the `memory`, `cpu`, `cpuacct` and
`pids` hierarchies); `VMCgroup` computes the VM's directories, creates them with
the limits written, lists and kills their processes, and removes them. Called by
handler/sandbox/sandbox.py only. Never touches a cgroup outside its parent
(`virtnode.slice` on v2, `virtnode` on v1) and never kills a process it did not
read from its own cgroup.procs.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from handler.sandbox.errors import CgroupSetupError, SandboxKillTimeoutError

V2_CONTROLLERS = ("memory", "cpu", "pids")
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "pids")
V1_REQUIRED = ("memory", "cpu", "pids")
V2_PARENT = "virtnode.slice"
V1_PARENT = "virtnode"


@dataclass(frozen=True)
class CgroupMount:
    """One cgroup filesystem mount, as /proc/self/mountinfo shows it."""

    mountpoint: Path
    root: str
    fstype: str  # "cgroup" (v1) or "cgroup2"
    super_options: frozenset[str]


@dataclass(frozen=True)
class Hierarchies:
    """The cgroup layout the sandbox uses: v2 (`unified`) or v1 (`v1`: controller -> mountpoint)."""

    version: int
    unified: Path | None = None
    v1: Mapping[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class Limits:
    """What the VM's cgroup allows: memory in bytes (guest + overhead), cpu shares and quota."""

    memory_bytes: int
    cpu_shares: int = 1024
    cpu_quota_us: int | None = None
    cpu_period_us: int = 100_000
    pids_max: int | None = None

    @classmethod
    def for_guest(
        cls,
        guest_memory_bytes: int,
        overhead_bytes: int,
        *,
        cpu_shares: int = 1024,
        cpu_quota_us: int | None = None,
        cpu_period_us: int = 100_000,
        pids_max: int | None = None,
    ) -> Limits:
        """Limits whose memory is the guest's plus the launcher's/QEMU's overhead."""
        return cls(guest_memory_bytes + overhead_bytes, cpu_shares, cpu_quota_us, cpu_period_us, pids_max)


def _unescape(text: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (\\040)."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and len(text[i + 1 : i + 4]) == 3 and text[i + 1 : i + 4].isdigit():
            out.append(chr(int(text[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[CgroupMount]:
    """The cgroup and cgroup2 mounts in a /proc/<pid>/mountinfo text."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        sep = fields.index("-")
        if len(fields) < sep + 4 or sep < 5:
            continue
        fstype = fields[sep + 1]
        if fstype not in ("cgroup", "cgroup2"):
            continue
        mounts.append(
            CgroupMount(
                mountpoint=Path(_unescape(fields[4])),
                root=_unescape(fields[3]),
                fstype=fstype,
                super_options=frozenset(fields[sep + 3].split(",")),
            )
        )
    return mounts


def _v2_usable(mountpoint: Path) -> bool:
    try:
        offered = set((mountpoint / "cgroup.controllers").read_text().split())
    except OSError:
        return False
    return set(V2_CONTROLLERS) <= offered and os.access(mountpoint, os.W_OK)


def detect(mountinfo: str | None = None) -> Hierarchies:
    """The hierarchies to use on this host: v2 when the unified mount is usable, else v1.

    A hybrid host (v1 controllers plus an empty `unified` v2 mount, as on these
    machines) gets v1: the v2 mount there offers no memory controller.
    """
    if mountinfo is None:
        mountinfo = Path("/proc/self/mountinfo").read_text()
    mounts = parse_mountinfo(mountinfo)
    for mount in mounts:
        if mount.fstype == "cgroup2" and mount.root == "/" and _v2_usable(mount.mountpoint):
            return Hierarchies(version=2, unified=mount.mountpoint)
    v1: dict[str, Path] = {}
    for mount in mounts:
        if mount.fstype != "cgroup" or mount.root != "/":
            continue
        for controller in V1_CONTROLLERS:
            if controller in mount.super_options and controller not in v1:
                v1[controller] = mount.mountpoint
    missing = [c for c in V1_REQUIRED if c not in v1]
    if missing:
        raise CgroupSetupError(
            "No usable cgroup hierarchy: the v2 mount lacks memory/cpu/pids or is read-only, "
            f"and the v1 controllers {', '.join(missing)} are not mounted"
        )
    return Hierarchies(version=1, v1=v1)


def shares_to_weight(shares: int) -> int:
    """cgroup v1 cpu.shares (2..262144) to v2 cpu.weight (1..10000), as runc and kubelet map it."""
    shares = min(max(shares, 2), 262144)
    return 1 + ((shares - 2) * 9999) // 262142


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as exc:
        raise CgroupSetupError(f"Failed to write {value!r} to {path}: {exc.strerror}") from exc


class VMCgroup:
    """The cgroup directories of one VM, in every hierarchy the sandbox uses."""

    def __init__(self, hierarchies: Hierarchies, name: str) -> None:
        self.hierarchies = hierarchies
        self.name = name

    @property
    def dirs(self) -> list[Path]:
        """The VM's cgroup directory in each hierarchy (one on v2), deduplicated."""
        h = self.hierarchies
        if h.version == 2:
            assert h.unified is not None
            return [h.unified / V2_PARENT / self.name]
        seen: list[Path] = []
        for controller in V1_CONTROLLERS:
            mountpoint = h.v1.get(controller)
            if mountpoint is None:
                continue
            path = mountpoint / V1_PARENT / self.name
            if path not in seen:
                seen.append(path)
        return seen

    def _dir(self, controller: str) -> Path:
        h = self.hierarchies
        if h.version == 2:
            return self.dirs[0]
        return h.v1[controller] / V1_PARENT / self.name

    @property
    def procs_files(self) -> list[Path]:
        """The cgroup.procs a process writes its pid to, to join the VM's cgroup everywhere."""
        return [d / "cgroup.procs" for d in self.dirs]

    def exists(self) -> bool:
        return any(d.is_dir() for d in self.dirs)

    def create(self, limits: Limits) -> None:
        """Make the directories (existing ones are fine) and write the limits."""
        if self.hierarchies.version == 2:
            self._enable_v2_controllers()
        for d in self.dirs:
            try:
                d.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CgroupSetupError(f"Failed to create cgroup {d}: {exc.strerror}") from exc
        self.write_limits(limits)

    def _enable_v2_controllers(self) -> None:
        """Delegate memory, cpu and pids down to the VM: root → virtnode.slice → VM."""
        assert self.hierarchies.unified is not None
        parent = self.hierarchies.unified / V2_PARENT
        try:
            parent.mkdir(exist_ok=True)
        except OSError as exc:
            raise CgroupSetupError(f"Failed to create cgroup {parent}: {exc.strerror}") from exc
        for level in (self.hierarchies.unified, parent):
            enabled = set((level / "cgroup.subtree_control").read_text().split())
            wanted = [c for c in V2_CONTROLLERS if c not in enabled]
            if wanted:
                _write(level / "cgroup.subtree_control", " ".join(f"+{c}" for c in wanted))

    def write_limits(self, limits: Limits) -> None:
        if self.hierarchies.version == 2:
            d = self.dirs[0]
            _write(d / "memory.max", str(limits.memory_bytes))
            _write(d / "cpu.weight", str(shares_to_weight(limits.cpu_shares)))
            quota = "max" if limits.cpu_quota_us is None else str(limits.cpu_quota_us)
            _write(d / "cpu.max", f"{quota} {limits.cpu_period_us}")
            _write(d / "pids.max", "max" if limits.pids_max is None else str(limits.pids_max))
            return
        _write(self._dir("memory") / "memory.limit_in_bytes", str(limits.memory_bytes))
        cpu = self._dir("cpu")
        _write(cpu / "cpu.shares", str(limits.cpu_shares))
        _write(cpu / "cpu.cfs_period_us", str(limits.cpu_period_us))
        _write(cpu / "cpu.cfs_quota_us", "-1" if limits.cpu_quota_us is None else str(limits.cpu_quota_us))
        _write(self._dir("pids") / "pids.max", "max" if limits.pids_max is None else str(limits.pids_max))

    def memory_limit(self) -> int:
        """The memory limit the kernel holds (page-rounded), in bytes."""
        name = "memory.max" if self.hierarchies.version == 2 else "memory.limit_in_bytes"
        return int((self._dir("memory") / name).read_text())

    def pids(self) -> set[int]:
        """Every process in the VM's cgroup, in any hierarchy."""
        found: set[int] = set()
        for procs in self.procs_files:
            try:
                found.update(int(line) for line in procs.read_text().split())
            except FileNotFoundError:
                continue
        return found

    def kill(self, timeout: float = 5.0) -> None:
        """SIGKILL everything in the cgroup until it is empty (cgroup.kill on v2 when present).

        Loops because a process may fork between the read of cgroup.procs and
        its kill; raises SandboxKillTimeoutError, naming the survivors, after
        `timeout` seconds.
        """
        kill_file = self.dirs[0] / "cgroup.kill"
        if self.hierarchies.version == 2 and kill_file.exists():
            _write(kill_file, "1")
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids()
            if not pids:
                return
            if time.monotonic() > deadline:
                raise SandboxKillTimeoutError(
                    f"Processes {sorted(pids)} survived SIGKILL in cgroup {self.name} for {timeout:.0f} s"
                )
            _kill_all(pids)
            time.sleep(0.005)

    def remove(self, timeout: float = 2.0) -> None:
        """rmdir the VM's directories (gone is fine); retried while the kernel still says busy."""
        deadline = time.monotonic() + timeout
        for d in self.dirs:
            while True:
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                        raise CgroupSetupError(f"Failed to remove cgroup {d}: {exc.strerror}") from exc
                    time.sleep(0.005)


def _kill_all(pids: Iterable[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
