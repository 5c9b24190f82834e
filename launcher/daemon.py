"""The launcher's private libvirt daemon.

Owns one `libvirtd` process in session mode, run as an unprivileged uid/gid
(default: the system user `virtnode` that `make install` creates), with its
home, runtime, config, cache and data directories inside the VM's directory
(`<vm_dir>/libvirt/`). The launcher starts it, connects to the URI that
`start()` returns (through launcher/virt.py, the only libvirt user), and stops
it when the VM is gone. Also owns the node-wide QEMU capabilities cache: its
contents are copied in before the daemon starts and copied back after the
first domain start, so only the first daemon of a node pays for probing QEMU.

libvirtd is exec'd directly through `setpriv` (never through our Python, which
that uid may not be able to read), in its own session and process group, with
the parent-death signal set to SIGKILL: a launcher that is killed takes its
daemon with it. The parent-death signal follows the *thread* that started the
daemon, so `start()` must be called from a thread that lives as long as the
launcher (the main thread). Guests (QEMU) are daemonized by libvirt and
outlive a killed daemon; `stop()` kills them too, and in embedded mode the
handler's sandbox cgroup is the backstop for a launcher killed outright.

Never imports libvirt; never touches anything outside the VM's directory and
the capabilities cache.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import pwd
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from launcher.errors import DaemonError

log = logging.getLogger(__name__)

LIBVIRTD = "/usr/sbin/libvirtd"
SETPRIV = "/usr/bin/setpriv"
DEFAULT_USER = "virtnode"
LOG_TAIL_LINES = 20
UNIX_PATH_MAX = 107  # sun_path is 108 bytes with the terminating NUL

# qemu.conf for session mode: QEMU writes its stdout/stderr log straight to a
# file, so no virtlogd is needed.
QEMU_CONF = 'stdio_handler = "file"\n'

# One client (the launcher) talks to this daemon: a few worker threads are
# plenty, and each thread that allocates would otherwise get its own malloc
# arena (MALLOC_ARENA_MAX below), which is most of an idle daemon's memory.
LIBVIRTD_CONF = ("min_workers = 1\nmax_workers = 4\nprio_workers = 1\n"
                 "admin_min_workers = 1\nadmin_max_workers = 1\n")


@dataclass(frozen=True)
class DaemonPaths:
    """Where the private daemon keeps everything, under `<vm_dir>/libvirt/`."""

    root: Path

    @classmethod
    def under(cls, vm_dir: Path) -> DaemonPaths:
        return cls(Path(vm_dir) / "libvirt")

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def runtime(self) -> Path:  # XDG_RUNTIME_DIR
        return self.root / "run"

    @property
    def config(self) -> Path:  # XDG_CONFIG_HOME
        return self.root / "config"

    @property
    def cache(self) -> Path:  # XDG_CACHE_HOME
        return self.root / "cache"

    @property
    def data(self) -> Path:  # XDG_DATA_HOME
        return self.root / "data"

    @property
    def log(self) -> Path:
        """The daemon's own log (its log_outputs file, and its stdout/stderr)."""
        return self.root / "libvirtd.log"

    @property
    def socket(self) -> Path:
        return self.runtime / "libvirt" / "libvirt-sock"

    @property
    def uri(self) -> str:
        return f"qemu+unix:///session?socket={self.socket}"

    @property
    def capabilities(self) -> Path:
        """Where session-mode libvirt caches its QEMU probes."""
        return self.cache / "libvirt" / "qemu" / "cache" / "capabilities"

    def qemu_pid_file(self, domain: str) -> Path:
        return self.runtime / "libvirt" / "qemu" / "run" / f"{domain}.pid"

    def qemu_log_file(self, domain: str) -> Path:
        return self.cache / "libvirt" / "qemu" / "log" / f"{domain}.log"

    @property
    def qemu_monitor_dir(self) -> Path:
        """Parent of each domain's monitor and channel sockets (domain-<id>-<name>/)."""
        return self.config / "libvirt" / "qemu" / "lib"


class PrivateDaemon:
    """One unprivileged `libvirtd` in session mode for one VM.

        daemon = PrivateDaemon(vm_dir, caps_cache=node_caps_dir)
        uri = daemon.start(timeout=30)
        ...                      # connect with launcher.virt.Hypervisor
        daemon.save_capabilities()   # after the first domain start
        daemon.stop()
    """

    def __init__(
        self,
        vm_dir: Path | str,
        *,
        uid: int | None = None,
        gid: int | None = None,
        groups: Sequence[int] = (),
        caps_cache: Path | None = None,
        libvirtd: str = LIBVIRTD,
    ) -> None:
        """`groups` are the daemon's (and so QEMU's) supplementary groups:
        none by default; a KVM host passes the gid that may open /dev/kvm."""
        self.vm_dir = Path(vm_dir)
        self.paths = DaemonPaths.under(self.vm_dir)
        self.uid, self.gid = _resolve_ids(uid, gid)
        self.groups = tuple(groups)
        self.caps_cache = Path(caps_cache) if caps_cache is not None else None
        self.libvirtd = libvirtd
        self._process: subprocess.Popen[bytes] | None = None
        self._spawned_at = 0.0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def uri(self) -> str:
        return self.paths.uri

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 30.0) -> str:
        """Starts the daemon and waits, at most `timeout` seconds, until its
        socket accepts connections; returns the URI to connect to."""
        self.spawn()
        return self.wait_ready(timeout)

    def spawn(self) -> None:
        """Starts the daemon without waiting for it: the caller can do other work
        (import, set up) while it initialises, then call wait_ready()."""
        if self.alive():
            return
        self._check_socket_path()
        self._prepare()
        self._copy_capabilities_in()
        self._spawned_at = time.monotonic()
        self._process = self._spawn()
        log.info("private libvirtd started: pid %d, uid %d, %s", self._process.pid, self.uid, self.paths.root)

    def wait_ready(self, timeout: float = 30.0) -> str:
        """Waits, at most `timeout` seconds from the spawn, until the daemon's socket
        accepts connections; returns the URI to connect to."""
        if self._process is None:
            raise DaemonError("The private libvirt daemon was not started; call spawn() first")
        started = self._spawned_at
        deadline = started + timeout
        while True:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise DaemonError(
                    f"The private libvirt daemon in {self.paths.root} exited with status {code} "
                    f"before it served {self.paths.socket}; its log ends:\n{self.log_tail()}")
            if _accepts(self.paths.socket):
                log.debug("private libvirtd ready in %.2f s", time.monotonic() - started)
                return self.uri
            if time.monotonic() >= deadline:
                self.stop(timeout=5)
                raise DaemonError(
                    f"The private libvirt daemon in {self.paths.root} did not serve "
                    f"{self.paths.socket} within {timeout:g} s; its log ends:\n{self.log_tail()}")
            time.sleep(0.01)

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the daemon (SIGTERM, SIGKILL after `timeout`), reaps it, and
        kills the QEMU processes it leaves behind. Idempotent."""
        process, self._process = self._process, None
        if process is not None:
            _terminate(process, timeout)
        leftovers = self.qemu_processes()
        for leftover in leftovers:
            log.warning("killing QEMU pid %d left behind by the private libvirtd", leftover.pid)
            _kill(leftover)
        _wait_dead(leftovers, timeout)

    def qemu_processes(self) -> list[psutil.Process]:
        """QEMU processes of this daemon: run by its uid, with its directories
        on their command line (libvirt daemonizes them, so they are not its children)."""
        marker = str(self.paths.root) + "/"
        found = []
        for process in psutil.process_iter(["uids", "cmdline"]):
            try:
                uids, cmdline = process.info["uids"], process.info["cmdline"] or []
            except (psutil.Error, KeyError):
                continue
            if uids is None or uids.real != self.uid or process.pid == self.pid:
                continue
            if any(marker in arg for arg in cmdline):
                found.append(process)
        return found

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.paths.log.read_text(errors="replace")
        except OSError as exc:
            return f"(no log: {exc.strerror})"
        tail = text.splitlines()[-lines:]
        return "\n".join(tail) if tail else "(the log is empty)"

    # -- the node-wide QEMU capabilities cache ---------------------------------

    def save_capabilities(self) -> bool:
        """Copies the daemon's QEMU capabilities back to the node cache when that
        is empty or stale (libvirt re-probed, so its files differ from what was
        copied in); each file is replaced atomically. True when it wrote."""
        if self.caps_cache is None:
            return False
        ours = _read_dir(self.paths.capabilities)
        if not ours:
            return False
        node = _read_dir(self.caps_cache)
        if node and all(node.get(name) == content for name, content in ours.items()):
            return False
        self.caps_cache.mkdir(parents=True, exist_ok=True)
        for name, content in ours.items():
            if node.get(name) == content:
                continue
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=self.caps_cache)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(content)
                os.chmod(tmp, 0o644)
                os.replace(tmp, self.caps_cache / name)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        log.info("QEMU capabilities saved to the node cache %s (%d files)", self.caps_cache, len(ours))
        return True

    def _copy_capabilities_in(self) -> None:
        if self.caps_cache is None:
            return
        node = _read_dir(self.caps_cache)
        if not node:
            return
        for parent in reversed(self.paths.capabilities.relative_to(self.paths.cache).parents[:-1]):
            self._own_dir(self.paths.cache / parent)
        self._own_dir(self.paths.capabilities)
        for name, content in node.items():
            target = self.paths.capabilities / name
            if target.exists() and target.read_bytes() == content:
                continue
            target.write_bytes(content)
            os.chown(target, self.uid, self.gid)
            os.chmod(target, 0o600)
        log.debug("copied %d QEMU capability files from %s", len(node), self.caps_cache)

    # -- set-up ----------------------------------------------------------------

    def _prepare(self) -> None:
        if not self.vm_dir.is_dir():
            raise DaemonError(f"The VM directory {self.vm_dir} does not exist")
        for directory in (self.paths.root, self.paths.home, self.paths.runtime, self.paths.config,
                          self.paths.cache, self.paths.data, self.paths.config / "libvirt"):
            self._own_dir(directory)
        self._own_file(self.paths.config / "libvirt" / "qemu.conf", QEMU_CONF)
        self._own_file(self.paths.config / "libvirt" / "libvirtd.conf",
                       f'log_outputs = "3:file:{self.paths.log}"\n' + LIBVIRTD_CONF)
        with self.paths.log.open("a"):
            pass
        os.chown(self.paths.log, self.uid, self.gid)
        os.chmod(self.paths.log, 0o600)
        if not _traversable_by(self.paths.root, self.uid, self.gid):
            raise DaemonError(
                f"The user {self.uid} cannot reach {self.paths.root}: every directory above it "
                f"must be searchable by that user (mode o+x)")

    def _own_dir(self, path: Path) -> None:
        path.mkdir(mode=0o700, exist_ok=True)
        os.chown(path, self.uid, self.gid)
        os.chmod(path, 0o700)

    def _own_file(self, path: Path, text: str) -> None:
        path.write_text(text)
        os.chown(path, self.uid, self.gid)
        os.chmod(path, 0o600)

    def _check_socket_path(self) -> None:
        # The longest socket libvirt makes: a domain's monitor, in
        # <config>/libvirt/qemu/lib/domain-<id>-<name up to 20>/monitor.sock.
        longest = self.paths.qemu_monitor_dir / f"domain-{'9' * 4}-{'x' * 20}" / "monitor.sock"
        if len(os.fsencode(longest)) > UNIX_PATH_MAX:
            raise DaemonError(
                f"The VM directory {self.vm_dir} is too deep for libvirt's unix sockets "
                f"({len(os.fsencode(longest))} > {UNIX_PATH_MAX} bytes); use a shorter path")

    def _environment(self) -> dict[str, str]:
        return {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.paths.home),
            "XDG_RUNTIME_DIR": str(self.paths.runtime),
            "XDG_CONFIG_HOME": str(self.paths.config),
            "XDG_CACHE_HOME": str(self.paths.cache),
            "XDG_DATA_HOME": str(self.paths.data),
            "LANG": "C.UTF-8",
            "MALLOC_ARENA_MAX": "2",
        }

    def _spawn(self) -> subprocess.Popen[bytes]:
        groups = ["--groups", ",".join(map(str, self.groups))] if self.groups else ["--clear-groups"]
        argv = [SETPRIV, f"--reuid={self.uid}", f"--regid={self.gid}", *groups,
                "--pdeathsig=KILL", "--", self.libvirtd]
        with self.paths.log.open("ab") as output:
            try:
                return subprocess.Popen(
                    argv, env=self._environment(), cwd=self.paths.home, stdin=subprocess.DEVNULL,
                    stdout=output, stderr=output, start_new_session=True, close_fds=True)
            except OSError as exc:
                raise DaemonError(f"Cannot start the private libvirt daemon ({argv[0]}): {exc.strerror}") from exc


def _resolve_ids(uid: int | None, gid: int | None) -> tuple[int, int]:
    if uid is not None and gid is not None:
        return uid, gid
    try:
        entry = pwd.getpwuid(uid) if uid is not None else pwd.getpwnam(DEFAULT_USER)
    except KeyError:
        who = f"uid {uid}" if uid is not None else f"the system user {DEFAULT_USER!r}"
        raise DaemonError(f"Cannot run the private libvirt daemon: {who} does not exist; "
                          f"run 'make install' as root (it creates {DEFAULT_USER})") from None
    if entry.pw_uid == 0:
        raise DaemonError("The private libvirt daemon must not run as root")
    return entry.pw_uid, gid if gid is not None else entry.pw_gid


def _accepts(path: Path) -> bool:
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def _traversable_by(path: Path, uid: int, gid: int) -> bool:
    for parent in path.parents:
        st = parent.stat()
        if st.st_uid == uid:
            ok = st.st_mode & 0o100
        elif st.st_gid == gid:
            ok = st.st_mode & 0o010
        else:
            ok = st.st_mode & 0o001
        if not ok:
            return False
    return True


def _terminate(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(OSError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        log.warning("private libvirtd pid %d ignored SIGTERM for %g s; killing it", process.pid, timeout)
        with contextlib.suppress(OSError):
            process.kill()
        process.wait()


def _kill(process: psutil.Process) -> None:
    try:
        process.kill()
    except psutil.NoSuchProcess:
        pass


def _wait_dead(processes: list[psutil.Process], timeout: float) -> None:
    """Waits until each process is gone or a zombie (libvirt daemonizes QEMU, so
    its reaper is init or a subreaper, not us)."""
    deadline = time.monotonic() + timeout
    while processes and time.monotonic() < deadline:
        processes = [p for p in processes if _running(p)]
        if processes:
            time.sleep(0.05)
    for process in processes:
        log.error("QEMU pid %d did not die within %g s of SIGKILL", process.pid, timeout)


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _read_dir(path: Path) -> dict[str, bytes]:
    """The regular files directly in `path`, by name; {} when it is missing."""
    try:
        entries = list(path.iterdir())
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return {}
        raise
    return {entry.name: entry.read_bytes() for entry in entries
            if entry.is_file() and not entry.is_symlink() and not entry.name.startswith(".")}


