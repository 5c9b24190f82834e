"""Boots the virtnode test guest under QEMU (TCG) and watches its serial console.

    with Guest(build.build(), network=True, agent=True) as guest:
        guest.wait_for("VIRTNODE-GUEST-READY", timeout=120)
        guest.agent("guest-ping")

`Guest` starts qemu-system-x86_64 with TCG emulation (KVM is never assumed),
boots the kernel and initramfs directly or the qcow2 disk through SeaBIOS and
syslinux, and can attach a NoCloud seed, a guest-agent channel on a unix socket
and user-mode networking (`restrict=on`: the guest reaches nothing but QEMU's
own DHCP server; the guest's port 80 is forwarded from 127.0.0.1 only). The
serial console is copied to a file as it arrives. Leaving the `with` block
stops QEMU (SIGTERM, then SIGKILL) and reaps it, on errors too.

`python -m tests.guest.boot --timeout 240 [--disk]` is the demo: it builds the
guest (cached), boots it, shows the console until VIRTNODE-GUEST-READY and
stops QEMU; exit code 0, or 1 with a message on timeout. See docs/guest.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `tests.guest` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.guest.build import GuestImages  # noqa: E402

QEMU = "qemu-system-x86_64"
GUEST_AGENT_PORT = "org.qemu.guest_agent.0"
READY = "VIRTNODE-GUEST-READY"
CONSOLE_TAIL = 25  # console lines quoted in an error


class GuestError(Exception):
    """QEMU or the guest did not do what a test waited for."""


class GuestTimeout(GuestError):
    """A bounded wait ran out; the message quotes the last console lines."""


class GuestExited(GuestError):
    """QEMU exited while something still waited on the guest."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Guest:
    """One QEMU process running the test guest; a context manager.

    images     what build.build() returned
    disk_boot  boot disk.qcow2 through SeaBIOS (through a throw-away overlay,
               so the cached disk is never written) instead of -kernel/-initrd
    seed       a NoCloud seed image (nocloud.make_seed) to attach
    seed_as    "disk" (virtio-blk, as KubeVirt attaches it) or "cdrom" (IDE)
    network    a virtio NIC on user-mode networking with restrict=on
    http       also forward 127.0.0.1:<self.http_port> to the guest's port 80
    agent      a virtio-serial port org.qemu.guest_agent.0 on a unix socket
    console_log  where to keep the console (default: a temporary file, removed
               on exit; console_lines keeps it in memory either way)
    echo       called with each chunk of console output as it arrives
    """

    def __init__(
        self,
        images: GuestImages,
        *,
        disk_boot: bool = False,
        seed: Path | str | None = None,
        seed_as: str = "disk",
        network: bool = False,
        http: bool = False,
        agent: bool = False,
        memory_mib: int = 256,
        console_log: Path | str | None = None,
        echo: Callable[[str], None] | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        if seed_as not in ("disk", "cdrom"):
            raise ValueError(f"seed_as must be 'disk' or 'cdrom', not {seed_as!r}")
        self.images = images
        self.disk_boot = disk_boot
        self.seed = Path(seed) if seed is not None else None
        self.seed_as = seed_as
        self.network = network or http
        self.http = http
        self.with_agent = agent
        self.memory_mib = memory_mib
        self.echo = echo
        self.extra_args = list(extra_args)
        self.workdir = Path(tempfile.mkdtemp(prefix="virtnode-guest-"))
        self.console_path = Path(console_log) if console_log is not None else self.workdir / "console.log"
        self.qmp_path = self.workdir / "qmp.sock"
        self.agent_path = self.workdir / "qga.sock" if agent else None
        self.http_port = free_port() if http else None
        self.proc: subprocess.Popen[bytes] | None = None
        self._lines: list[str] = []
        self._partial = ""
        self._cond = threading.Condition()
        self._reader: threading.Thread | None = None
        self._qmp: socket.socket | None = None
        self._qmp_buffer = b""
        self.events: list[dict] = []

    # --- life cycle -----------------------------------------------------------

    def argv(self) -> list[str]:
        """The QEMU command line for this guest."""
        qemu = shutil.which(QEMU)
        if qemu is None:
            raise GuestError(f"{QEMU} is not installed; run make install (Debian package qemu-system-x86)")
        argv = [
            qemu,
            "-accel", "tcg",
            "-machine", "pc",
            "-m", str(self.memory_mib),
            "-smp", "1",
            "-nodefaults", "-no-user-config",
            "-display", "none",
            "-no-reboot",  # panic=-1 reboots; with this QEMU exits instead
            "-chardev", "stdio,id=console0,signal=off",
            "-serial", "chardev:console0",
            "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
        ]
        if self.disk_boot:
            overlay = self.workdir / "disk.qcow2"
            subprocess.run(
                ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2",
                 "-b", str(self.images.disk.resolve()), str(overlay)],
                check=True, capture_output=True,
            )
            argv += [
                "-drive", f"file={overlay},if=none,id=boot0,format=qcow2",
                "-device", "virtio-blk-pci,drive=boot0,bootindex=0",
            ]
        else:
            argv += [
                "-kernel", str(self.images.kernel),
                "-initrd", str(self.images.initrd),
                "-append", self.images.cmdline,
            ]
        if self.seed is not None:
            if self.seed_as == "disk":
                argv += [
                    "-drive", f"file={self.seed},if=none,id=seed0,format=raw,readonly=on",
                    "-device", "virtio-blk-pci,drive=seed0",
                ]
            else:
                argv += ["-drive", f"file={self.seed},if=ide,media=cdrom,format=raw,readonly=on"]
        if self.network:
            netdev = "user,id=net0,restrict=on"
            if self.http_port is not None:
                netdev += f",hostfwd=tcp:127.0.0.1:{self.http_port}-:80"
            argv += ["-netdev", netdev, "-device", "virtio-net-pci,netdev=net0"]
        if self.agent_path is not None:
            argv += [
                "-chardev", f"socket,path={self.agent_path},server=on,wait=off,id=qga0",
                "-device", "virtio-serial",
                "-device", f"virtserialport,chardev=qga0,name={GUEST_AGENT_PORT}",
            ]
        return argv + self.extra_args

    def start(self) -> Guest:
        argv = self.argv()
        setpriv = shutil.which("setpriv")
        if setpriv is not None:  # QEMU dies with the thread that started it
            argv = [setpriv, "--pdeathsig", "KILL", "--", *argv]
        self._log = self.console_path.open("w", encoding="utf-8", errors="replace")
        self._log.write("# " + " ".join(argv) + "\n")
        self._log.flush()
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            start_new_session=True,  # a terminal's Ctrl-C reaches Python, which stops QEMU
        )
        self._reader = threading.Thread(target=self._read_console, name="guest-console", daemon=True)
        self._reader.start()
        return self

    def close(self) -> int | None:
        """Stops QEMU if it still runs, reaps it and removes the work folder;
        returns QEMU's exit code. Safe to call twice."""
        if self._qmp is not None:
            self._qmp.close()
            self._qmp = None
        code = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            code = self.proc.returncode
            if self.proc.stdin is not None:
                try:
                    self.proc.stdin.close()
                except OSError:
                    pass
        if self._reader is not None:
            self._reader.join(timeout=5)
        if getattr(self, "_log", None) is not None and not self._log.closed:
            self._log.close()
        # The overlay, sockets and (unless console_log named a place) the console log.
        shutil.rmtree(self.workdir, ignore_errors=True)
        return code

    def __enter__(self) -> Guest:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # --- serial console -------------------------------------------------------

    def _read_console(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            text = chunk.decode("utf-8", errors="replace")
            with self._cond:
                if text:
                    self._log.write(text)
                    self._log.flush()
                    pieces = (self._partial + text).replace("\r", "").split("\n")
                    self._partial = pieces.pop()
                    self._lines.extend(pieces)
                elif self._partial:
                    self._lines.append(self._partial)
                    self._partial = ""
                self._cond.notify_all()
            if self.echo is not None and text:
                self.echo(text)
            if not chunk:
                return

    @property
    def console_lines(self) -> list[str]:
        """The complete console lines so far (carriage returns removed)."""
        with self._cond:
            return list(self._lines)

    def _where(self) -> str:
        return "" if self.console_path.parent == self.workdir else f" (all of it in {self.console_path})"

    def console_tail(self, lines: int = CONSOLE_TAIL) -> str:
        with self._cond:
            kept = [ANSI.sub("", line) for line in self._lines[-lines:]]
            if self._partial:
                kept.append(ANSI.sub("", self._partial))
        return "\n".join("    " + line for line in kept) or "    (nothing)"

    def wait_for(self, marker: str | re.Pattern[str], timeout: float) -> str:
        """The first console line (since boot) containing `marker` (a string,
        or a compiled regular expression to search for); waits at most
        `timeout` seconds. GuestTimeout or GuestExited quote the console."""
        pattern = marker if isinstance(marker, re.Pattern) else re.compile(re.escape(marker))
        shown = marker.pattern if isinstance(marker, re.Pattern) else marker
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self._lines[seen:]:
                    if pattern.search(line):
                        return line
                seen = len(self._lines)
                exited = self.proc is None or self.proc.poll() is not None
                if exited and (self._reader is None or not self._reader.is_alive()):
                    code = self.proc.returncode if self.proc is not None else None
                    raise GuestExited(
                        f"QEMU exited (code {code}) before the console showed {shown!r}; "
                        f"last console lines{self._where()}:\n{self.console_tail()}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise GuestTimeout(
                        f"No {shown!r} on the guest console within {timeout:g} s; "
                        f"last console lines{self._where()}:\n{self.console_tail()}"
                    )
                self._cond.wait(min(left, 0.5))

    def send_console(self, text: str) -> None:
        """Types `text` on the serial console (the guest runs a root shell there)."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    # --- QMP --------------------------------------------------------------------

    def qmp(self, command: str, arguments: dict | None = None, timeout: float = 10) -> object:
        """Runs a QMP command and returns its "return" value; GuestError on an
        "error" answer. Events that arrive meanwhile are kept in self.events."""
        if self._qmp is None:
            self._qmp = _connect_unix(self.qmp_path, timeout)
            self._qmp_buffer = b""
            self._qmp_message(timeout)  # the greeting
            self._qmp_execute("qmp_capabilities", None, timeout)
        return self._qmp_execute(command, arguments, timeout)

    def _qmp_execute(self, command: str, arguments: dict | None, timeout: float) -> object:
        assert self._qmp is not None
        request = {"execute": command, **({"arguments": arguments} if arguments else {})}
        self._qmp.sendall(json.dumps(request).encode() + b"\n")
        deadline = time.monotonic() + timeout
        while True:
            message = self._qmp_message(deadline - time.monotonic())
            if "event" in message:
                self.events.append(message)
            elif "error" in message:
                raise GuestError(f"QMP {command} failed: {message['error'].get('desc', message['error'])}")
            elif "return" in message:
                return message["return"]

    def _qmp_message(self, timeout: float) -> dict:
        assert self._qmp is not None
        while b"\n" not in self._qmp_buffer:
            if timeout <= 0:
                raise GuestTimeout("QEMU's QMP monitor did not answer in time")
            self._qmp.settimeout(timeout)
            started = time.monotonic()
            try:
                chunk = self._qmp.recv(65536)
            except socket.timeout:
                raise GuestTimeout("QEMU's QMP monitor did not answer in time") from None
            if not chunk:
                raise GuestExited("QEMU closed its QMP monitor")
            self._qmp_buffer += chunk
            timeout -= time.monotonic() - started
        line, _, self._qmp_buffer = self._qmp_buffer.partition(b"\n")
        return json.loads(line)

    def powerdown(self) -> None:
        """Presses the ACPI power button (QMP system_powerdown)."""
        self.qmp("system_powerdown")

    def quit(self) -> None:
        """Stops QEMU at once (QMP quit); the guest gets no say."""
        try:
            self.qmp("quit")
        except GuestExited:
            pass

    def wait_exit(self, timeout: float) -> int:
        """QEMU's exit code once it exits; GuestTimeout after `timeout` seconds."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise GuestTimeout(
                f"QEMU still runs {timeout:g} s later; last console lines{self._where()}:\n"
                f"{self.console_tail()}"
            ) from None

    # --- guest agent ------------------------------------------------------------

    def agent(self, command: str, arguments: dict | None = None, timeout: float = 30) -> object:
        """Runs a guest-agent command over the virtio-serial channel and returns
        its "return" value. Each call opens the socket, synchronises with
        guest-sync (retrying while the agent is not up yet) and then asks."""
        if self.agent_path is None:
            raise GuestError("This guest was started without agent=True")
        deadline = time.monotonic() + timeout
        with AgentConnection(self.agent_path, deadline) as conn:
            conn.sync(deadline)
            return conn.execute(command, arguments, deadline)


class AgentConnection:
    """The host end of qemu-ga's channel: newline-delimited JSON both ways."""

    _next_id = int(time.time()) % 100000

    def __init__(self, path: Path, deadline: float) -> None:
        self.sock = _connect_unix(path, max(0.1, deadline - time.monotonic()))
        self.buffer = b""

    def __enter__(self) -> AgentConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.sock.close()

    def send(self, request: dict) -> None:
        self.sock.sendall(json.dumps(request).encode() + b"\n")

    def receive(self, deadline: float) -> dict | None:
        """The next JSON message, or None when `deadline` passes first."""
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                raise GuestExited("QEMU closed the guest agent socket")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        line = line.strip(b"\xff \r\t")
        try:
            return json.loads(line) if line else {}
        except ValueError:
            return {}

    def sync(self, deadline: float, id: int | None = None) -> int:
        """guest-sync with a fresh id until the agent echoes it back (an agent
        that is still starting sees nothing; stale answers are skipped)."""
        while True:
            if id is None:
                AgentConnection._next_id += 1
                sync_id = AgentConnection._next_id
            else:
                sync_id = id
            self.send({"execute": "guest-sync", "arguments": {"id": sync_id}})
            attempt_end = min(deadline, time.monotonic() + 3)
            while (message := self.receive(attempt_end)) is not None:
                if message.get("return") == sync_id:
                    return sync_id
            if time.monotonic() >= deadline:
                raise GuestTimeout("The guest agent did not answer guest-sync in time")

    def execute(self, command: str, arguments: dict | None, deadline: float) -> object:
        request = {"execute": command, **({"arguments": arguments} if arguments else {})}
        self.send(request)
        message = self.receive(deadline)
        if message is None:
            raise GuestTimeout(f"The guest agent did not answer {command} in time")
        if "error" in message:
            raise GuestError(f"guest agent {command} failed: {message['error'].get('desc', message['error'])}")
        return message.get("return")


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _connect_unix(path: Path, timeout: float) -> socket.socket:
    """Connects to a unix socket QEMU creates, retrying while it is not there yet."""
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(path))
            return sock
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            if time.monotonic() >= deadline:
                raise GuestError(f"QEMU's socket {path} did not appear in time") from None
            time.sleep(0.1)


# --- demo command line -------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.guest.boot",
        description="Build (cached) and boot the virtnode test guest under QEMU/TCG; "
        "show its serial console until it reports that it is up.",
    )
    parser.add_argument("--timeout", type=float, default=240, help="seconds to wait for the marker (default 240)")
    parser.add_argument("--disk", action="store_true", help="boot disk.qcow2 through SeaBIOS instead of -kernel")
    parser.add_argument("--network", action="store_true", help="attach a NIC (user-mode, restrict=on)")
    parser.add_argument("--until", default=READY, help=f"console marker to wait for (default {READY})")
    parser.add_argument("--cache-dir", type=Path, default=None, help="the guest cache (default .cache/guest)")
    args = parser.parse_args(argv)

    from tests.guest import build
    from tests.guest.errors import GuestBuildError

    try:
        images = build.build(args.cache_dir, log=lambda m: print(m, file=sys.stderr, flush=True))
    except GuestBuildError as exc:
        print(f"guest: error: {exc}", file=sys.stderr)
        return 1

    def echo(text: str) -> None:
        sys.stdout.write(ANSI.sub("", text))
        sys.stdout.flush()

    how = "disk.qcow2 via SeaBIOS/syslinux" if args.disk else "kernel + initrd"
    print(f"guest: booting {images.key} ({how}) with TCG; timeout {args.timeout:g} s", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        with Guest(images, disk_boot=args.disk, network=args.network, echo=echo) as guest:
            line = guest.wait_for(args.until, timeout=args.timeout)
            elapsed = time.monotonic() - started
            print(f"\nguest: {line.strip()}  ({elapsed:.1f} s after QEMU started)", flush=True)
            guest.quit()
            guest.wait_exit(10)
    except GuestError as exc:
        print(f"\nguest: error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nguest: interrupted; QEMU stopped", file=sys.stderr)
        return 130
    print("guest: QEMU stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
