"""`virtctl up` / `virtctl down`: the embedded node's supervisor, started and stopped.

Owns the supervisor: one process per state directory, holding an exclusive lock on
`<state>/node.pid` (which holds its pid) for its whole life, that runs `python -m apiserver
--state-dir S --port P` and, when the controller package has a `__main__`, `python -m
controller --kubeconfig S/kubeconfig` as children, writes their output to `S/logs/<name>.log`,
restarts a child that dies (backoff 1 s doubling to 30 s, reset after a minute of running;
each restart logged), keeps the apiserver on the port it first got, and on SIGTERM/SIGINT stops
the children (SIGTERM, then SIGKILL) and removes the pid file. The state directory and logs/
are 0700, files 0600.

`up` starts the supervisor in its own session (or in the terminal with `--foreground`) and
returns once the API's `/readyz` answers (a spinner on a terminal, quiet when piped); `down`
sends SIGTERM, waits, then kills the supervisor's process group. Both are idempotent. Never
talks to the API beyond `/readyz`.
"""

from __future__ import annotations

import argparse
import fcntl
import importlib.util
import logging
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from virtctl.commands.progress import Spinner
from virtctl.kubeconfig import KUBECONFIG, default_state_dir

log = logging.getLogger("virtctl.node")

PID_FILE = "node.pid"
LOG_DIR = "logs"
DEFAULT_PORT = 6443
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
POD_NETWORK_FILE = "pod-network.json"   # the handler's choice of bridge and CIDR (handler/net/pod.py)
BACKOFF_FIRST, BACKOFF_MAX, BACKOFF_RESET_AFTER = 1.0, 30.0, 60.0
PACKAGE_ROOT = Path(__file__).resolve().parents[1]


class NodeError(Exception):
    """The node could not be started or stopped; the message says why and where to look."""


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("up", help="Start the embedded node (API, controller) in the background.",
                            description="Start the embedded node's supervisor, which runs the API "
                                        "and the controller and restarts them if they die; "
                                        "returns once the API is ready.")
    _state_dir(p)
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"the API's port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--foreground", action="store_true",
                   help="run the supervisor in this terminal until Ctrl+C")
    p.add_argument("--accelerator", choices=("auto", "kvm", "emulation"), default="auto",
                   help="how the node's guests run: KVM when it works (auto), or TCG emulation")
    p.add_argument("--image", action="append", default=[], metavar="IMAGE=DIR",
                   help="a kernelBoot/containerDisk image the node serves offline (repeatable)")
    p.add_argument("--metrics-port", type=int, default=0, metavar="PORT",
                   help="serve the node's kubevirt_vmi_* metrics on 127.0.0.1:PORT (default: off)")
    p.add_argument("--egress", action="store_true",
                   help="let guests on the pod network reach beyond this machine (NAT on the host)")
    p.add_argument("--timeout", type=float, default=READY_TIMEOUT, metavar="SECONDS",
                   help=f"how long to wait for the API (default {READY_TIMEOUT:g})")
    p.set_defaults(run=up)
    p = commands.add_parser("down", help="Stop the embedded node.")
    _state_dir(p)
    p.add_argument("--timeout", type=float, default=STOP_TIMEOUT, metavar="SECONDS",
                   help=f"how long to wait before killing it (default {STOP_TIMEOUT:g})")
    p.set_defaults(run=down)


def _state_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--state-dir", type=Path, default=None, metavar="DIR",
                   help=f"the node's state directory (default {default_state_dir()})")


# --- the pid file ----------------------------------------------------------------------------


def running_pid(state: Path) -> int | None:
    """The live supervisor's pid, or None; a stale pid file (its lock is free) is removed."""
    path = state / PID_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:   # held: the supervisor lives
            text = os.read(fd, 64).decode().strip()
            return int(text) if text.isdigit() else None
        path.unlink(missing_ok=True)
        return None
    finally:
        os.close(fd)


def _take_pid_file(state: Path) -> int:
    """Lock and fill the pid file; the fd stays open (and locked) for the supervisor's life."""
    fd = os.open(state / PID_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise NodeError(f"Another supervisor already runs the node in {state}") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    os.fsync(fd)
    return fd


def prepare(state: Path) -> None:
    os.umask(0o077)
    for d in (state, state / LOG_DIR):
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(d, 0o700)


# --- the supervisor --------------------------------------------------------------------------


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    extra: dict = field(default_factory=dict)


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
    return env


class Supervisor:
    def __init__(self, state: Path, port: int, node_args: list[str] | None = None) -> None:
        self.state = state
        self.port = port
        self.url = ""
        self.stopping = threading.Event()
        self.api = Child("apiserver", [], state / LOG_DIR / "apiserver.log")
        self.children = [self.api]
        if importlib.util.find_spec("controller.__main__") is not None:
            self.children.append(Child(
                "controller", [sys.executable, "-m", "controller", "--kubeconfig",
                               str(state / KUBECONFIG)], state / LOG_DIR / "controller.log"))
        else:
            log.info("controller: no 'python -m controller' in this installation; not started")
        if os.geteuid() == 0 and importlib.util.find_spec("handler.__main__") is not None:
            self.children.append(Child(
                "handler", [sys.executable, "-m", "handler", "--kubeconfig", str(state / KUBECONFIG),
                            "--state-dir", str(state / "node"), "--run-dir", str(_run_dir(state)),
                            *(node_args or [])], state / LOG_DIR / "handler.log"))
        else:
            log.info("handler: not started (it needs root)")

    def _api_argv(self) -> list[str]:
        return [sys.executable, "-m", "apiserver", "--state-dir", str(self.state), "--port",
                str(self.port)]

    def _spawn(self, child: Child) -> None:
        if child is self.api:
            child.argv = self._api_argv()
        with open(child.log_path, "ab") as out:
            child.proc = subprocess.Popen(
                child.argv, stdin=subprocess.DEVNULL, stderr=out,
                stdout=subprocess.PIPE if child is self.api else out, env=_env(), cwd=self.state)
        child.started_at = time.monotonic()
        child.restart_at = None
        log.info("%s started (pid %d)", child.name, child.proc.pid)
        if child is self.api:
            self._await_api_ready(child)

    def _await_api_ready(self, child: Child) -> None:
        """Read the API's `ready https://host:port` line; keep its port for restarts."""
        line = child.proc.stdout.readline().decode(errors="replace").strip()
        threading.Thread(target=_drain, args=(child.proc.stdout,), daemon=True).start()
        if not line.startswith("ready "):
            child.proc.wait()
            raise NodeError(f"The API exited before it was ready (code {child.proc.returncode}); "
                            f"see {child.log_path}")
        self.url = line.split()[1]
        self.port = int(self.url.rsplit(":", 1)[1])
        log.info("apiserver ready at %s", self.url)

    def run(self) -> int:
        try:
            self._spawn(self.api)
        except NodeError as e:
            log.error("%s", e)
            return 1
        for child in self.children[1:]:
            self._spawn(child)
        while not self.stopping.wait(0.2):
            now = time.monotonic()
            for child in self.children:
                code = child.proc.poll() if child.proc else None
                if child.restart_at is None and code is not None:
                    if now - child.started_at > BACKOFF_RESET_AFTER:
                        child.failures = 0
                    delay = min(BACKOFF_FIRST * 2 ** child.failures, BACKOFF_MAX)
                    child.failures += 1
                    child.restart_at = now + delay
                    log.warning("%s exited with code %s; restart %d in %.0fs", child.name, code,
                                child.failures, delay)
                elif child.restart_at is not None and now >= child.restart_at:
                    try:
                        self._spawn(child)
                    except (NodeError, OSError) as e:
                        log.error("%s did not restart: %s", child.name, e)
                        child.restart_at = None   # counted as another exit on the next pass
        self._stop_children()
        return 0

    def _stop_children(self) -> None:
        for child in reversed(self.children):
            proc = child.proc
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT / 2)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop after SIGTERM; killing it", child.name)
                proc.kill()
                proc.wait()
            log.info("%s stopped", child.name)


def _drain(stream) -> None:
    for _ in iter(lambda: stream.read(4096), b""):
        pass


def _run_dir(state: Path) -> Path:
    """Launcher directories of this node: short (libvirt's socket paths), one per state dir."""
    import hashlib

    return Path("/run/virtnode") / hashlib.sha256(str(state).encode()).hexdigest()[:6]


def _node_args(args: argparse.Namespace) -> list[str]:
    out = ["--accelerator", getattr(args, "accelerator", "auto")]
    for image in getattr(args, "image", []) or []:
        out += ["--image", image]
    if getattr(args, "metrics_port", 0):
        out += ["--metrics-port", str(args.metrics_port)]
    if getattr(args, "egress", False):
        out.append("--egress")
    return out


def supervise(state: Path, port: int, node_args: list[str] | None = None) -> int:
    """The supervisor's main: lock the pid file, run the children until SIGTERM/SIGINT."""
    prepare(state)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s level=%(levelname)s component=supervisor msg=%(message)r")
    try:
        fd = _take_pid_file(state)
    except NodeError as e:
        log.error("%s", e)
        return 1
    sup = Supervisor(state, port, node_args)
    signal.signal(signal.SIGTERM, lambda *_: sup.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: sup.stopping.set())
    try:
        return sup.run()
    finally:
        (state / PID_FILE).unlink(missing_ok=True)
        os.close(fd)
        log.info("supervisor stopped")


# --- up / down -------------------------------------------------------------------------------


def api_url(state: Path) -> str:
    try:
        doc = yaml.safe_load((state / KUBECONFIG).read_text())
        return doc["clusters"][0]["cluster"]["server"]
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError):
        return ""


def readyz(state: Path, url: str, timeout: float = 2.0) -> bool:
    ctx = ssl.create_default_context(cafile=str(state / "pki" / "ca.crt"))
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=timeout, context=ctx) as r:
            return r.status == 200
    except (OSError, ssl.SSLError, ValueError):
        return False


def up(args: argparse.Namespace) -> int:
    state = (args.state_dir or default_state_dir()).expanduser().absolute()
    pid = running_pid(state)
    if pid is not None:
        print(f"The node in {state} is already running (supervisor pid {pid}, API "
              f"{api_url(state) or 'starting'})")
        return 0
    if args.foreground:
        return supervise(state, args.port, _node_args(args))
    prepare(state)
    since = time.time()
    with open(state / LOG_DIR / "supervisor.log", "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "virtctl", "up", "--foreground", "--state-dir", str(state),
             "--port", str(args.port), *_node_args(args)], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
            start_new_session=True, env=_env(), cwd=state)
    deadline = time.monotonic() + args.timeout
    with Spinner(f"Starting the node in {state}"):
        while True:
            code = proc.poll()
            if code is not None:
                print(f"error: the node's supervisor exited with code {code}:\n"
                      f"{_tail(state / LOG_DIR / 'supervisor.log')}{_tail(state / LOG_DIR / 'apiserver.log')}"
                      f"(logs in {state / LOG_DIR})", file=sys.stderr)
                return 1
            url = api_url(state) if _newer(state / KUBECONFIG, since) else ""
            if url and readyz(state, url):
                break
            if time.monotonic() > deadline:
                print(f"error: the API did not answer /readyz within {args.timeout:g}s; the "
                      f"supervisor (pid {proc.pid}) keeps trying; logs in {state / LOG_DIR}",
                      file=sys.stderr)
                return 1
            time.sleep(0.2)
    print(f"The node is up: API {url}, kubeconfig {state / KUBECONFIG}, logs {state / LOG_DIR}")
    return 0


def down(args: argparse.Namespace) -> int:
    state = (args.state_dir or default_state_dir()).expanduser().absolute()
    pid = running_pid(state)
    if pid is None:
        print(f"The node in {state} is not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + args.timeout
    with Spinner(f"Stopping the node in {state}"):
        while (running_pid(state) is not None or alive(pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
    if running_pid(state) is not None:
        print(f"warning: the supervisor (pid {pid}) did not stop within {args.timeout:g}s; "
              f"killing its process group", file=sys.stderr)
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        (state / PID_FILE).unlink(missing_ok=True)
    _stop_guests(state)
    print(f"The node in {state} is stopped")
    return 0


def _stop_guests(state: Path) -> None:
    """The guests outlive the handler on purpose (a restarted handler adopts them); a node
    going down stops them: graceful shutdown, then every process, sandbox and record goes,
    and the node's pod bridge with them (it exists from the handler's start, guests or not)."""
    if os.geteuid() != 0:
        return
    guests = any((state / "node" / "launchers").glob("*.json"))
    if not guests and not (state / "node" / POD_NETWORK_FILE).exists():
        return
    with Spinner("Stopping the node's guests" if guests else "Removing the node's pod network"):
        subprocess.run([sys.executable, "-m", "handler", "--kubeconfig", str(state / KUBECONFIG),
                        "--state-dir", str(state / "node"), "--stop-all"],
                       stdin=subprocess.DEVNULL, capture_output=True, env=_env(), cwd=state)
    try:
        _run_dir(state).rmdir()
    except OSError:
        pass


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for a parent that never reaps it does not)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] not in ("Z", "X")


def _newer(path: Path, since: float) -> bool:
    try:
        return path.stat().st_mtime >= since - 1
    except OSError:
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "".join(f"  {path.name}: {line}\n" for line in text)
