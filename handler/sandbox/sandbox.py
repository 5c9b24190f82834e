"""One VMI's sandbox in embedded mode: its directory, network namespace and cgroup.

Owns `Sandbox`: `create()` makes `root/<uid>/` (0711, root), the netns
`vn-<uid[:12]>` with loopback up and the VM's cgroup with its limits, each step
idempotent; `run()` starts a process inside all three; `destroy()` kills every
process in the cgroup and removes everything, idempotently; `adopt()` finds what
a previous handler left. Called by the handler's reconcile steps (sandbox before
network, launcher after). Never kills a process that is not in the VM's cgroup,
and never removes anything outside `root/<uid>`, its netns and its cgroup.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from handler.sandbox import cgroups, netns
from handler.sandbox.cgroups import Hierarchies, Limits, VMCgroup
from handler.sandbox.enter import Entry
from handler.sandbox.errors import SandboxError, SandboxNotFoundError, SandboxRunError

log = logging.getLogger(__name__)

DIR_MODE = 0o711


def netns_name(vmi_uid: str) -> str:
    """The VMI's network namespace name: `vn-` and the first 12 characters of its uid."""
    return f"vn-{vmi_uid[:12]}"


class Sandbox:
    """The per-VMI directory, network namespace and cgroup that its launcher runs in."""

    def __init__(self, vmi_uid: str, root: Path, hierarchies: Hierarchies | None = None) -> None:
        if not vmi_uid or "/" in vmi_uid or vmi_uid in (".", ".."):
            raise SandboxError(f"Invalid VMI uid {vmi_uid!r} for a sandbox")
        self.vmi_uid = vmi_uid
        self.dir = Path(root) / vmi_uid
        self.netns = netns_name(vmi_uid)
        self.cgroup = VMCgroup(hierarchies or cgroups.detect(), vmi_uid)
        self._children: list[subprocess.Popen[bytes]] = []

    def __repr__(self) -> str:
        return f"Sandbox({self.vmi_uid!r}, dir={str(self.dir)!r}, netns={self.netns!r})"

    @property
    def netns_path(self) -> Path:
        return netns.path_of(self.netns)

    def create(self, limits: Limits) -> None:
        """Make the directory, the netns and the cgroup (what exists already is kept, limits rewritten)."""
        self._make_dir()
        netns.create(self.netns)
        self.cgroup.create(limits)
        log.info("Sandbox of VMI %s ready (netns %s, cgroup v%d)", self.vmi_uid, self.netns,
                 self.cgroup.hierarchies.version)

    def _make_dir(self) -> None:
        try:
            self.dir.parent.mkdir(mode=0o711, parents=True, exist_ok=True)
            try:
                os.mkdir(self.dir, DIR_MODE)
            except FileExistsError:
                info = os.lstat(self.dir)
                if not stat.S_ISDIR(info.st_mode):
                    raise SandboxError(f"Sandbox path {self.dir} of VMI {self.vmi_uid} is not a directory")
            os.chown(self.dir, 0, 0, follow_symlinks=False)
            os.chmod(self.dir, DIR_MODE, follow_symlinks=False)
        except OSError as exc:
            raise SandboxError(f"Failed to create sandbox directory {self.dir}: {exc.strerror}") from exc

    def exists(self) -> bool:
        """True when any part of the sandbox (directory, netns, cgroup) is there."""
        return self.dir.is_dir() or netns.exists(self.netns) or self.cgroup.exists()

    def adopt(self) -> Sandbox:
        """Take over a sandbox a previous handler left: its netns and cgroup must be there."""
        missing = [what for what, there in (("network namespace " + self.netns, netns.exists(self.netns)),
                                            ("cgroup", self.cgroup.exists())) if not there]
        if missing:
            raise SandboxNotFoundError(f"No sandbox of VMI {self.vmi_uid} to adopt: {' and '.join(missing)} missing")
        log.info("Adopted the sandbox of VMI %s with %d processes", self.vmi_uid, len(self.processes()))
        return self

    def processes(self) -> set[int]:
        """The pids in the VM's cgroup."""
        return self.cgroup.pids()

    def run(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        *,
        cwd: Path | None = None,
        runtime_dir: Path | None = None,
        runtime_mode: int = 0o755,
        stdin: int | None = subprocess.DEVNULL,
        stdout: int | None = None,
        stderr: int | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start `argv` inside the sandbox, in its own session.

        The child joins the cgroup and the netns and gets a private mount
        namespace before exec; `runtime_dir` (created if missing) gets a fresh
        tmpfs of `runtime_mode` that only the child and its descendants see.
        """
        if not netns.exists(self.netns) or not self.cgroup.exists():
            raise SandboxRunError(f"Cannot run {argv[0]} for VMI {self.vmi_uid}: its sandbox is not created")
        if runtime_dir is not None:
            Path(runtime_dir).mkdir(mode=0o755, parents=True, exist_ok=True)
        entry = Entry(
            procs_files=tuple(os.fsencode(p) for p in self.cgroup.procs_files),
            netns_path=os.fsencode(self.netns_path),
            runtime_dir=os.fsencode(runtime_dir) if runtime_dir is not None else None,
            runtime_options=f"mode={runtime_mode:o}".encode(),
        )
        try:
            child = subprocess.Popen(
                list(argv),
                env=dict(env) if env is not None else None,
                cwd=cwd or self.dir,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
                preexec_fn=entry,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise SandboxRunError(f"Failed to start {argv[0]} in the sandbox of VMI {self.vmi_uid}: {exc}") from exc
        self._children = [c for c in self._children if c.poll() is None] + [child]
        return child

    def destroy(self, kill_timeout: float = 5.0) -> None:
        """Kill every process in the cgroup and remove cgroup, netns and directory; gone parts are fine."""
        if self.cgroup.exists():
            self.cgroup.kill(kill_timeout)
        for child in self._children:
            try:
                child.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                pass
        self._children = []
        self.cgroup.remove()
        netns.remove(self.netns)
        try:
            shutil.rmtree(self.dir)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise SandboxError(f"Failed to remove sandbox directory {self.dir}: {exc.strerror}") from exc
        log.info("Sandbox of VMI %s destroyed", self.vmi_uid)
