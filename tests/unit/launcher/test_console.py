"""The console relay and the boot log: guest output is kept and relayed, one user at a time, bounded."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from launcher.bootlog import BootLog, BootLogArgumentError
from launcher.console import BUSY_MESSAGE, Backoff, ConsoleError, ConsoleRelay
from launcher.errors import InvalidRequestError

DEADLINE_S = 10
IO_TIMEOUT_S = 3.0


class DeadlineExceeded(Exception):
    """A test ran past its per-test deadline."""


@pytest.fixture(autouse=True)
def deadline() -> Iterator[None]:
    """Fail, rather than hang, a test that runs past DEADLINE_S."""
    def expire(signum, frame):
        raise DeadlineExceeded(f"test ran longer than {DEADLINE_S} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, DEADLINE_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def sockdir() -> Iterator[Path]:
    """A short directory for unix sockets (pytest's tmp_path can exceed the 107-byte limit)."""
    d = Path(tempfile.mkdtemp(prefix="vn-con-", dir="/tmp"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = IO_TIMEOUT_S) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise AssertionError(f"EOF after {len(buf)} of {n} bytes: {buf!r}")
        buf += chunk
    return buf


def recv_until_eof(sock: socket.socket) -> bytes:
    buf = b""
    while chunk := sock.recv(65536):
        buf += chunk
    return buf


class FakeQemu:
    """QEMU's serial chardev in server mode: binds the socket, serves one client, vanishes on stop."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.server: socket.socket | None = None
        self.conn: socket.socket | None = None

    def start(self) -> FakeQemu:
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(self.path))
        self.server.listen(1)
        self.server.settimeout(IO_TIMEOUT_S)
        return self

    def accept(self) -> socket.socket:
        assert self.server is not None
        self.conn, _ = self.server.accept()
        self.conn.settimeout(IO_TIMEOUT_S)
        return self.conn

    def stop(self) -> None:
        for s in (self.conn, self.server):
            if s is not None:
                s.close()
        self.conn = self.server = None
        if self.path.exists():
            self.path.unlink()


class Harness:
    def __init__(self, d: Path, limit: int = 1 << 20) -> None:
        self.dir = d
        self.qemu = FakeQemu(d / "serial0")
        self.listen = d / "console.sock"
        self.log = BootLog(d / "boot.log", limit)
        self.relay = ConsoleRelay(self.qemu.path, self.listen, self.log, Backoff(0.01, 0.1))

    def user(self, rcvbuf: int | None = None) -> socket.socket:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if rcvbuf is not None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(IO_TIMEOUT_S)
        s.connect(str(self.listen))
        return s

    def attached_user(self) -> socket.socket:
        s = self.user()
        wait_for(lambda: self.relay.status()["user_attached"], "the user to attach")
        return s

    def logged(self, n: int) -> None:
        wait_for(lambda: self.relay.status()["bytes_logged"] >= n, f"{n} bytes logged")


@pytest.fixture
def h(sockdir: Path) -> Iterator[Harness]:
    harness = Harness(sockdir)
    harness.qemu.start()
    harness.relay.start()
    try:
        yield harness
    finally:
        harness.relay.stop()
        harness.qemu.stop()
        harness.log.close()


# -- the relay -----------------------------------------------------------------

def test_guest_output_reaches_attached_user_and_log(h: Harness) -> None:
    """Every byte the guest prints goes to the attached user and into the boot log."""
    guest = h.qemu.accept()
    user = h.attached_user()
    banner = b"Linux version 6.1\r\nlogin: "
    guest.sendall(banner)
    assert recv_exactly(user, len(banner)) == banner
    h.logged(len(banner))
    assert h.log.read(0) == (banner, len(banner))
    assert h.relay.status() == {"guest_connected": True, "user_attached": True,
                                "bytes_logged": len(banner)}
    user.close()


def test_user_input_reaches_guest(h: Harness) -> None:
    """What the attached user types is written to the guest's serial port, and not logged."""
    guest = h.qemu.accept()
    user = h.attached_user()
    user.sendall(b"root\r")
    assert recv_exactly(guest, 5) == b"root\r"
    assert h.log.end_offset == 0
    user.close()


def test_second_user_refused_then_attaches_after_first_leaves(h: Harness) -> None:
    """One console session at a time: a second gets the busy line and EOF; it may attach later."""
    guest = h.qemu.accept()
    first = h.attached_user()
    second = h.user()
    assert recv_until_eof(second) == BUSY_MESSAGE
    second.close()
    assert h.relay.status()["user_attached"]
    first.close()
    wait_for(lambda: not h.relay.status()["user_attached"], "the first user to detach")
    third = h.attached_user()
    guest.sendall(b"hello")
    assert recv_exactly(third, 5) == b"hello"
    third.close()


def test_output_without_user_is_logged_and_not_replayed(h: Harness) -> None:
    """Output while nobody is attached is in the log; a user who attaches later sees live output only."""
    guest = h.qemu.accept()
    guest.sendall(b"early boot\r\n")
    h.logged(12)
    user = h.attached_user()
    guest.sendall(b"live")
    assert recv_exactly(user, 4) == b"live"
    h.logged(16)
    assert h.log.read(0).data == b"early boot\r\nlive"
    user.close()


def test_guest_restart_reconnects_and_keeps_logging(h: Harness) -> None:
    """When QEMU stops and starts again the relay reconnects by itself and logging continues."""
    guest = h.qemu.accept()
    guest.sendall(b"first boot\n")
    h.logged(11)
    h.qemu.stop()                    # the socket is gone while the domain is down
    wait_for(lambda: not h.relay.status()["guest_connected"], "the relay to notice the stop")
    time.sleep(0.15)                 # a few failed attempts, backoff at its cap
    h.qemu.start()
    guest = h.qemu.accept()          # reconnected without a nudge
    guest.sendall(b"second boot\n")
    h.logged(23)
    assert h.log.read(0).data == b"first boot\nsecond boot\n"


def test_notify_guest_started_reconnects_at_once(sockdir: Path) -> None:
    """notify_guest_started() skips a long backoff delay."""
    harness = Harness(sockdir)
    harness.relay = ConsoleRelay(harness.qemu.path, harness.listen, harness.log, Backoff(5.0, 5.0))
    harness.relay.start()
    try:
        time.sleep(0.05)             # first attempt failed: next one is 5 s away
        harness.qemu.start()
        harness.relay.notify_guest_started()
        wait_for(lambda: harness.relay.status()["guest_connected"], "the nudged reconnect", 1.0)
    finally:
        harness.relay.stop()
        harness.qemu.stop()
        harness.log.close()


def test_user_input_without_guest_is_dropped(sockdir: Path) -> None:
    """With no guest connected, user input is discarded and the session stays open."""
    harness = Harness(sockdir)
    harness.relay.start()
    try:
        user = harness.attached_user()
        user.sendall(b"typed into the void")
        time.sleep(0.05)
        assert harness.relay.status()["user_attached"]
        assert not harness.relay.status()["guest_connected"]
        harness.qemu.start()
        guest = harness.qemu.accept()
        user.sendall(b"x")
        assert recv_exactly(guest, 1) == b"x"
        user.close()
    finally:
        harness.relay.stop()
        harness.qemu.stop()
        harness.log.close()


def test_stalled_user_is_dropped_without_blocking_logging(sockdir: Path) -> None:
    """A user who never reads is disconnected; the guest is still read and every byte logged."""
    harness = Harness(sockdir, limit=256 * 1024)
    harness.qemu.start()
    harness.relay.start()
    try:
        guest = harness.qemu.accept()
        user = harness.user(rcvbuf=4096)
        wait_for(lambda: harness.relay.status()["user_attached"], "the user to attach")
        total = 4 << 20
        payload = bytes(range(256)) * (total // 256)
        guest.sendall(payload)       # would block (and time out) if the relay waited for the user
        harness.logged(total)
        wait_for(lambda: not harness.relay.status()["user_attached"], "the stalled user to be dropped")
        got = recv_until_eof(user)   # whatever was buffered, then EOF with no message
        assert len(got) < total and payload.startswith(got)
        assert harness.log.tail(1000).data == payload[-1000:]
        user.close()
    finally:
        harness.relay.stop()
        harness.qemu.stop()
        harness.log.close()


def test_stop_leaves_no_thread_and_no_socket(h: Harness) -> None:
    """stop() joins the thread, closes the guest and user connections, removes the user socket."""
    guest = h.qemu.accept()
    user = h.attached_user()
    assert stat.S_IMODE(os.stat(h.listen).st_mode) == 0o660
    h.relay.stop()
    assert not h.listen.exists()
    assert not [t for t in threading.enumerate() if t.name.startswith("console-relay")]
    assert guest.recv(1) == b""
    assert user.recv(1) == b""
    assert sorted(p.name for p in h.dir.iterdir()) == ["boot.log", "boot.log.base", "serial0"]
    h.relay.stop()                   # idempotent


def test_listen_socket_replaces_stale_file(sockdir: Path) -> None:
    """A socket file left by a dead launcher is replaced, not an error."""
    harness = Harness(sockdir)
    harness.listen.write_text("stale")
    harness.relay.start()
    try:
        harness.attached_user().close()
    finally:
        harness.relay.stop()
        harness.log.close()


def test_start_twice_and_overlong_path_are_typed_errors(h: Harness) -> None:
    """Misuse and impossible socket paths raise ConsoleError, naming the path."""
    with pytest.raises(ConsoleError, match="already started"):
        h.relay.start()
    long_path = h.dir / ("x" * 120)
    with pytest.raises(ConsoleError, match="too long"):
        ConsoleRelay(h.qemu.path, long_path, h.log).start()


# -- the boot log ------------------------------------------------------------------

def disk_use(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + ".1")) if p.exists())


def test_bootlog_rotation_bounds_disk_use_and_keeps_offsets(tmp_path: Path) -> None:
    """Both files together never exceed the limit; offsets count every byte ever written."""
    path = tmp_path / "boot.log"
    log = BootLog(path, limit_bytes=1000)
    written = b""
    for i in range(400):
        piece = f"line {i:04d}\n".encode()
        log.append(piece)
        written += piece
        assert disk_use(path) <= 1000
    assert log.end_offset == len(written)
    chunk = log.read(0)
    assert chunk.next_offset == len(written)
    assert chunk.start == log.oldest_offset > 0          # the head was rotated away, and we are told
    assert chunk.data == written[chunk.start:]
    assert len(chunk.data) > 500                         # both files are read
    log.close()


def test_bootlog_polling_reader_gets_only_new_bytes_across_rotation(tmp_path: Path) -> None:
    """A reader that polls with next_offset sees each byte once, in order, through rotations."""
    log = BootLog(tmp_path / "boot.log", limit_bytes=200)
    seen, offset, written = b"", 0, b""
    for i in range(300):
        piece = bytes([65 + i % 26]) * 7
        log.append(piece)
        written += piece
        chunk = log.read(offset, limit=5)
        assert chunk.start == offset
        seen += chunk.data
        offset = chunk.next_offset
        while True:
            chunk = log.read(offset)
            if not chunk.data:
                break
            seen += chunk.data
            offset = chunk.next_offset
    assert seen == written
    log.close()


def test_bootlog_reopen_continues_offsets(tmp_path: Path) -> None:
    """A new BootLog over the same path (launcher restart) continues after what is there."""
    path = tmp_path / "boot.log"
    log = BootLog(path, limit_bytes=100)
    log.append(b"a" * 170)
    end = log.end_offset
    log.close()
    log = BootLog(path, limit_bytes=100)
    assert log.end_offset == end == 170
    log.append(b"bc")
    assert log.read(end) == (b"bc", 172)
    assert log.read(0).start == log.oldest_offset
    assert disk_use(path) <= 100
    log.close()


def test_bootlog_reopen_with_smaller_limit_trims(tmp_path: Path) -> None:
    """Reopening under a smaller limit trims the oldest bytes and keeps offsets."""
    path = tmp_path / "boot.log"
    log = BootLog(path, limit_bytes=1000)
    data = bytes(range(256)) * 4
    log.append(data)
    log.close()
    log = BootLog(path, limit_bytes=100)
    assert disk_use(path) <= 100
    chunk = log.read(0)
    assert chunk.next_offset == len(data)
    assert chunk.data == data[chunk.start:]
    log.close()


def test_bootlog_recovers_rotation_cut_short(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash between renaming path to path.1 and rewriting the sidecar does not reuse offsets."""
    path = tmp_path / "boot.log"
    log = BootLog(path, limit_bytes=20)
    log.append(b"0123456789")

    def crash() -> None:
        raise OSError("launcher killed")
    monkeypatch.setattr(log, "_write_sidecar", crash)
    with pytest.raises(OSError):
        log.append(b"x")             # rotates: renamed, new file created, sidecar not written
    monkeypatch.undo()
    log.close()
    log = BootLog(path, limit_bytes=20)
    assert log.end_offset == 10
    log.append(b"y")
    assert log.read(0) == (b"0123456789y", 11)
    log.close()


def test_bootlog_large_append_keeps_newest(tmp_path: Path) -> None:
    """One append bigger than the limit keeps its newest bytes and counts all of them."""
    log = BootLog(tmp_path / "boot.log", limit_bytes=64)
    data = bytes(range(200))
    log.append(data)
    assert log.end_offset == 200
    chunk = log.read(0)
    assert chunk.data == data[chunk.start:] and len(chunk.data) >= 32
    assert log.tail(10) == (data[-10:], 200)
    assert log.tail(10_000).data == chunk.data
    log.close()


@pytest.mark.parametrize("call, argument", [
    (lambda log: log.read(-1), "offset"),
    (lambda log: log.read(5), "offset"),              # past the end
    (lambda log: log.read(0, limit=-1), "limit"),
    (lambda log: log.tail(-1), "n_bytes"),
])
def test_bootlog_bad_arguments_are_typed(tmp_path: Path, call, argument: str) -> None:
    """Bad arguments raise BootLogArgumentError (an InvalidRequestError) naming the argument."""
    log = BootLog(tmp_path / "boot.log")
    log.append(b"abc")
    with pytest.raises(BootLogArgumentError) as caught:
        call(log)
    assert caught.value.argument == argument and argument in str(caught.value)
    assert isinstance(caught.value, InvalidRequestError)
    log.close()


def test_bootlog_limit_too_small_is_typed(tmp_path: Path) -> None:
    """A limit that cannot hold two files is refused, naming limit_bytes."""
    with pytest.raises(BootLogArgumentError, match="limit_bytes"):
        BootLog(tmp_path / "boot.log", limit_bytes=1)


def test_bootlog_concurrent_appends_and_reads(tmp_path: Path) -> None:
    """Appends from several threads and a concurrent reader see a consistent stream."""
    log = BootLog(tmp_path / "boot.log", limit_bytes=1 << 20)
    pieces = {t: bytes([65 + t]) * 50 for t in range(4)}

    def writer(t: int) -> None:
        for _ in range(200):
            log.append(pieces[t])
    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    seen, offset = b"", 0
    while any(t.is_alive() for t in threads) or offset < log.end_offset:
        chunk = log.read(offset)
        seen += chunk.data
        offset = chunk.next_offset
    for t in threads:
        t.join()
    assert len(seen) == 4 * 200 * 50
    assert all(seen[i:i + 50] in pieces.values() for i in range(0, len(seen), 50))
    log.close()
