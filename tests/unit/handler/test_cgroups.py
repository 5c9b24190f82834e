"""cgroup detection, paths and limits, against fake cgroup trees shaped like the kernel's.

The fake is of the kernel interface only (mountinfo text, directories and
control files); the integration tests (tests/integration/handler/test_sandbox.py)
use the real cgroups of the machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from handler.sandbox import cgroups
from handler.sandbox.cgroups import Hierarchies, Limits, VMCgroup
from handler.sandbox.errors import CgroupSetupError

V1_FILES = {
    "memory": ["memory.limit_in_bytes"],
    "cpu": ["cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"],
    "cpuacct": ["cpuacct.usage"],
    "pids": ["pids.max"],
}
V2_FILES = ["memory.max", "cpu.weight", "cpu.max", "pids.max", "cgroup.kill"]


def hybrid_mountinfo(base: Path, unified_controllers: str = "") -> str:
    """A mountinfo like these machines': v1 controllers plus a v2 `unified` mount."""
    lines = [f"31 23 0:28 / {base} rw,relatime - tmpfs tmpfs rw,mode=755"]
    for n, name in enumerate(["cpu", "cpuacct", "memory", "pids", "systemd"]):
        opts = "name=systemd" if name == "systemd" else name
        lines.append(f"{32 + n} 31 0:{29 + n} / {base}/{name} rw,relatime - cgroup cgroup rw,{opts}")
    lines.append(f"41 31 0:38 / {base}/unified rw,relatime - cgroup2 cgroup2 rw")
    (base / "unified").mkdir(parents=True, exist_ok=True)
    (base / "unified" / "cgroup.controllers").write_text(unified_controllers + "\n")
    (base / "unified" / "cgroup.subtree_control").write_text("\n")
    return "\n".join(lines) + "\n"


def v2_mountinfo(base: Path, controllers: str = "cpuset cpu io memory hugetlb pids rdma misc") -> str:
    """A mountinfo of a pure v2 host (systemd's default)."""
    base.mkdir(parents=True, exist_ok=True)
    (base / "cgroup.controllers").write_text(controllers + "\n")
    (base / "cgroup.subtree_control").write_text("memory pids\n")
    return f"30 23 0:26 / {base} rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"


class FakeKernel:
    """Creates the control files in a cgroup directory as the kernel would on mkdir."""

    @staticmethod
    def populate(cg: VMCgroup) -> None:
        h = cg.hierarchies
        if h.version == 2:
            for d in cg.dirs:
                d.mkdir(parents=True, exist_ok=True)
                for name in V2_FILES + ["cgroup.procs"]:
                    (d / name).touch()
                (d / "cgroup.subtree_control").touch()
            return
        for controller, files in V1_FILES.items():
            d = h.v1[controller] / cgroups.V1_PARENT / cg.name
            d.mkdir(parents=True, exist_ok=True)
            for name in files + ["cgroup.procs"]:
                (d / name).touch()


def test_parse_mountinfo_keeps_cgroup_mounts_and_unescapes() -> None:
    """Only cgroup/cgroup2 mounts are read, with octal escapes in paths decoded."""
    text = (
        "24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw\n"
        "35 31 0:32 / /sys/fs/cgroup/my\\040mem rw - cgroup cgroup rw,memory\n"
        "36 31 0:33 /nested /sys/fs/cgroup/cpu,cpuacct rw shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
    )
    mounts = cgroups.parse_mountinfo(text)
    assert [m.mountpoint for m in mounts] == [
        Path("/sys/fs/cgroup/my mem"),
        Path("/sys/fs/cgroup/cpu,cpuacct"),
        Path("/sys/fs/cgroup/unified"),
    ]
    assert mounts[1].root == "/nested"
    assert {"cpu", "cpuacct"} <= mounts[1].super_options
    assert mounts[2].fstype == "cgroup2"


def test_hybrid_host_without_memory_in_unified_uses_v1(tmp_path: Path) -> None:
    """A v2 `unified` mount that offers no memory controller (these machines) means v1."""
    h = cgroups.detect(hybrid_mountinfo(tmp_path, unified_controllers="hugetlb"))
    assert h.version == 1
    assert h.v1 == {c: tmp_path / c for c in ("memory", "cpu", "cpuacct", "pids")}


def test_pure_v2_host_uses_unified(tmp_path: Path) -> None:
    """A writable v2 root offering memory, cpu and pids is used as v2."""
    h = cgroups.detect(v2_mountinfo(tmp_path / "cg"))
    assert h == Hierarchies(version=2, unified=tmp_path / "cg")


def test_v2_without_needed_controllers_and_no_v1_is_an_error(tmp_path: Path) -> None:
    """No usable hierarchy at all raises CgroupSetupError naming the missing controllers."""
    with pytest.raises(CgroupSetupError, match="memory, cpu, pids"):
        cgroups.detect(v2_mountinfo(tmp_path / "cg", controllers="io hugetlb"))


def test_comounted_cpu_cpuacct_gives_one_directory(tmp_path: Path) -> None:
    """cpu and cpuacct mounted together (`cpu,cpuacct`) share one VM directory."""
    text = (
        f"35 31 0:32 / {tmp_path}/memory rw - cgroup cgroup rw,memory\n"
        f"36 31 0:33 / {tmp_path}/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        f"37 31 0:34 / {tmp_path}/pids rw - cgroup cgroup rw,pids\n"
    )
    cg = VMCgroup(cgroups.detect(text), "uid-1")
    assert cg.dirs == [
        tmp_path / "memory/virtnode/uid-1",
        tmp_path / "cpu,cpuacct/virtnode/uid-1",
        tmp_path / "pids/virtnode/uid-1",
    ]


def test_v1_limits_are_written_per_controller(tmp_path: Path) -> None:
    """v1: memory = guest + overhead in memory.limit_in_bytes, shares and CFS quota in cpu, pids.max."""
    cg = VMCgroup(cgroups.detect(hybrid_mountinfo(tmp_path)), "uid-1")
    FakeKernel.populate(cg)
    cg.create(Limits.for_guest(256 << 20, 80 << 20, cpu_shares=2048, cpu_quota_us=50_000, pids_max=512))
    d = tmp_path
    assert (d / "memory/virtnode/uid-1/memory.limit_in_bytes").read_text() == str(336 << 20)
    assert (d / "cpu/virtnode/uid-1/cpu.shares").read_text() == "2048"
    assert (d / "cpu/virtnode/uid-1/cpu.cfs_quota_us").read_text() == "50000"
    assert (d / "cpu/virtnode/uid-1/cpu.cfs_period_us").read_text() == "100000"
    assert (d / "pids/virtnode/uid-1/pids.max").read_text() == "512"
    assert cg.memory_limit() == 336 << 20
    assert cg.procs_files == [p / "cgroup.procs" for p in cg.dirs]


def test_v1_without_quota_writes_unlimited(tmp_path: Path) -> None:
    """No cpu quota is -1 on v1 and no pids limit is `max`."""
    cg = VMCgroup(cgroups.detect(hybrid_mountinfo(tmp_path)), "uid-1")
    FakeKernel.populate(cg)
    cg.create(Limits(memory_bytes=1 << 30))
    assert (tmp_path / "cpu/virtnode/uid-1/cpu.cfs_quota_us").read_text() == "-1"
    assert (tmp_path / "pids/virtnode/uid-1/pids.max").read_text() == "max"


def test_v2_limits_and_controller_delegation(tmp_path: Path) -> None:
    """v2: controllers are enabled root → virtnode.slice, and memory.max/cpu.weight/cpu.max/pids.max written."""
    base = tmp_path / "cg"
    cg = VMCgroup(cgroups.detect(v2_mountinfo(base)), "uid-2")
    assert cg.dirs == [base / "virtnode.slice/uid-2"]
    (base / "virtnode.slice").mkdir()
    (base / "virtnode.slice/cgroup.subtree_control").write_text("")
    FakeKernel.populate(cg)
    cg.create(Limits.for_guest(512 << 20, 100 << 20, cpu_shares=1024, cpu_quota_us=200_000))
    # The fake file keeps the last write: root already had memory and pids, so only cpu was added.
    assert (base / "cgroup.subtree_control").read_text() == "+cpu"
    assert (base / "virtnode.slice/cgroup.subtree_control").read_text() == "+memory +cpu +pids"
    d = base / "virtnode.slice/uid-2"
    assert (d / "memory.max").read_text() == str(612 << 20)
    assert (d / "cpu.weight").read_text() == "39"
    assert (d / "cpu.max").read_text() == "200000 100000"
    assert (d / "pids.max").read_text() == "max"


def test_shares_to_weight_matches_kubelet() -> None:
    """The v1 → v2 cpu mapping is runc's: 2 → 1, 1024 → 39, 262144 → 10000, clamped."""
    assert [cgroups.shares_to_weight(s) for s in (0, 2, 1024, 262144, 10**9)] == [1, 1, 39, 10000, 10000]


def test_pids_unions_hierarchies_and_tolerates_missing(tmp_path: Path) -> None:
    """pids() is the union over every hierarchy's cgroup.procs; a removed directory counts as empty."""
    cg = VMCgroup(cgroups.detect(hybrid_mountinfo(tmp_path)), "uid-3")
    FakeKernel.populate(cg)
    cg.dirs[0].joinpath("cgroup.procs").write_text("10\n11\n")
    cg.dirs[1].joinpath("cgroup.procs").write_text("11\n12\n")
    assert cg.pids() == {10, 11, 12}
    assert cg.exists()
    missing = VMCgroup(cg.hierarchies, "never-made")
    assert missing.pids() == set()
    assert not missing.exists()


def test_remove_of_missing_cgroup_is_fine(tmp_path: Path) -> None:
    """Removing a cgroup that is not there does nothing (destroy is idempotent)."""
    VMCgroup(cgroups.detect(hybrid_mountinfo(tmp_path)), "gone").remove()


def test_write_failure_names_the_file(tmp_path: Path) -> None:
    """A limit the kernel refuses raises CgroupSetupError naming the control file."""
    cg = VMCgroup(cgroups.detect(hybrid_mountinfo(tmp_path)), "uid-4")
    FakeKernel.populate(cg)
    (tmp_path / "memory/virtnode/uid-4/memory.limit_in_bytes").unlink()
    (tmp_path / "memory/virtnode/uid-4/memory.limit_in_bytes").mkdir()
    with pytest.raises(CgroupSetupError, match="memory.limit_in_bytes"):
        cg.create(Limits(memory_bytes=1 << 30))
