"""The serial console relay: the launcher's one connection to the guest's serial port.

Owns the client side of QEMU's serial unix socket (QEMU binds it; it exists only
while QEMU runs; QEMU serves one client) and the user-facing console socket the
launcher serves. Everything the guest prints is appended to the BootLog
(launcher/bootlog.py) and forwarded to the one attached user; what the user
types goes to the guest. The launcher's main module starts and stops it and
calls notify_guest_started() when libvirt reports the domain started.

It runs in its own thread with `selectors` and needs no caller event loop. It
must never block on a user: a user whose socket cannot keep up is dropped, the
guest is read and logged regardless. It never touches libvirt.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import selectors
import socket
import threading
import time
from pathlib import Path

from launcher.bootlog import BootLog
from launcher.errors import LauncherError

log = logging.getLogger(__name__)

BUSY_MESSAGE = b"virtnode: the console of this VM is in use by another session\r\n"
USER_BACKLOG_BYTES = 64 * 1024        # output held for a slow user before it is dropped
CHUNK_BYTES = 64 * 1024
SOCKET_MODE = 0o660
JOIN_TIMEOUT_S = 5.0


class ConsoleError(LauncherError):
    """The console relay could not be set up or driven (bad socket path, already started)."""


class Backoff:
    """Reconnect delays: `initial`, doubling, capped at `maximum`."""

    def __init__(self, initial: float = 0.05, maximum: float = 1.0) -> None:
        self.initial, self.maximum = initial, maximum
        self.current = initial

    def next_delay(self) -> float:
        delay = self.current
        self.current = min(self.current * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self.current = self.initial


class ConsoleRelay:
    """Relays one guest serial socket to one user at a time, logging all guest output."""

    def __init__(self, guest_socket: Path, listen_socket: Path, log: BootLog,
                 backoff: Backoff | None = None) -> None:
        self.guest_socket = Path(guest_socket)
        self.listen_socket = Path(listen_socket)
        self.log = log
        self._backoff = backoff or Backoff()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._nudged = False
        self._sel: selectors.BaseSelector | None = None
        self._listener: socket.socket | None = None
        self._listener_ino: int | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._guest: socket.socket | None = None
        self._guest_since = 0.0
        self._next_connect = 0.0
        self._user: socket.socket | None = None
        self._to_guest = b""              # one chunk of user input the guest has not taken yet
        self._to_user = bytearray()       # guest output the user's socket has not taken yet
        self._masks: dict[socket.socket, int] = {}
        self._log_failed = False

    # -- public verbs -----------------------------------------------------

    def start(self) -> None:
        """Bind the user socket and start the relay thread."""
        if self._thread is not None:
            raise ConsoleError(f"The console relay for {self.guest_socket} is already started")
        self._listener, self._listener_ino = _bind_listener(self.listen_socket)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel = selectors.DefaultSelector()
        self._want(self._listener, selectors.EVENT_READ)
        self._want(self._wake_r, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._run, name=f"console-relay:{self.guest_socket.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, close every socket and remove the user socket. Idempotent."""
        if self._thread is None:
            return
        self._stopping = True
        self._wake()
        self._thread.join(JOIN_TIMEOUT_S)
        if self._thread.is_alive():
            raise ConsoleError(f"The console relay for {self.guest_socket} did not stop "
                               f"within {JOIN_TIMEOUT_S:.0f} s")
        self._thread = None
        for sock in (self._guest, self._user, self._listener, self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()
        self._guest = self._user = self._listener = self._wake_r = self._wake_w = None
        self._masks.clear()
        if self._sel is not None:
            self._sel.close()
            self._sel = None
        try:
            if os.stat(self.listen_socket).st_ino == self._listener_ino:
                os.unlink(self.listen_socket)
        except FileNotFoundError:
            pass
        self._stopping = False

    def notify_guest_started(self) -> None:
        """The domain (re)started: try to connect to its serial socket now, not after the backoff."""
        self._nudged = True
        self._wake()

    def status(self) -> dict:
        """guest_connected, user_attached, bytes_logged (absolute: all bytes ever logged for the VM)."""
        return {
            "guest_connected": self._guest is not None,
            "user_attached": self._user is not None,
            "bytes_logged": self.log.end_offset,
        }

    # -- the loop -----------------------------------------------------------

    def _run(self) -> None:
        assert self._sel is not None
        while not self._stopping:
            now = time.monotonic()
            if self._guest is None and (self._nudged or now >= self._next_connect):
                if self._nudged:
                    self._nudged = False
                    self._backoff.reset()
                self._connect_guest(now)
            self._sync_interest()
            timeout = None
            if self._guest is None:
                timeout = max(0.0, self._next_connect - time.monotonic())
            for key, mask in self._sel.select(timeout):
                sock = key.fileobj
                if sock is self._wake_r:
                    self._drain_wake()
                elif sock is self._listener:
                    self._accept_user()
                elif sock is self._guest:
                    self._on_guest(mask)
                elif sock is self._user:
                    self._on_user(mask)

    def _connect_guest(self, now: float) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            sock.connect(str(self.guest_socket))
        except OSError as e:        # absent, refused, or QEMU's backlog full (EAGAIN)
            sock.close()
            delay = self._backoff.next_delay()
            self._next_connect = now + delay
            log.debug("Guest serial socket %s not available (%s); retrying in %.2f s",
                      self.guest_socket, e.strerror or e, delay)
            return
        self._guest = sock
        self._guest_since = now
        self._to_guest = b""
        log.info("Connected to the guest serial console at %s", self.guest_socket)

    def _drop_guest(self, why: str) -> None:
        assert self._guest is not None
        self._forget(self._guest)
        self._guest.close()
        self._guest = None
        self._to_guest = b""
        now = time.monotonic()
        if now - self._guest_since > self._backoff.maximum:
            self._backoff.reset()     # it ran a while: a restart, not a crash loop
        self._next_connect = now + self._backoff.next_delay()
        log.info("Guest serial console at %s went away (%s)", self.guest_socket, why)

    def _on_guest(self, mask: int) -> None:
        assert self._guest is not None
        if mask & selectors.EVENT_WRITE and self._to_guest:
            try:
                sent = self._guest.send(self._to_guest)
                self._to_guest = self._to_guest[sent:]
            except BlockingIOError:
                pass
            except OSError as e:
                self._drop_guest(e.strerror or str(e))
                return
        if mask & selectors.EVENT_READ:
            try:
                data = self._guest.recv(CHUNK_BYTES)
            except BlockingIOError:
                return
            except OSError as e:
                self._drop_guest(e.strerror or str(e))
                return
            if not data:
                self._drop_guest("closed by QEMU")
                return
            self._append_log(data)
            self._send_user(data)

    def _append_log(self, data: bytes) -> None:
        try:
            self.log.append(data)
        except (OSError, ValueError) as e:
            if not self._log_failed:      # say it once; the console keeps working without the log
                log.error("Failed to write the boot log %s: %s", self.log.path, e)
                self._log_failed = True
        else:
            self._log_failed = False

    def _accept_user(self) -> None:
        assert self._listener is not None
        try:
            conn, _ = self._listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        conn.setblocking(False)
        if self._user is not None:
            try:
                conn.send(BUSY_MESSAGE)
            except OSError:
                pass
            conn.close()
            log.info("Refused a second console session; one is already attached")
            return
        self._user = conn
        self._to_user.clear()
        log.info("Console session attached")

    def _drop_user(self, why: str) -> None:
        assert self._user is not None
        self._forget(self._user)
        self._user.close()
        self._user = None
        self._to_user.clear()
        log.info("Console session detached (%s)", why)

    def _send_user(self, data: bytes) -> None:
        if self._user is None:
            return
        if not self._to_user:
            try:
                sent = self._user.send(data)
            except BlockingIOError:
                sent = 0
            except OSError as e:
                self._drop_user(e.strerror or str(e))
                return
            data = data[sent:]
        self._to_user += data
        if len(self._to_user) > USER_BACKLOG_BYTES:
            self._drop_user(f"not reading; more than {USER_BACKLOG_BYTES} bytes of output pending")

    def _on_user(self, mask: int) -> None:
        assert self._user is not None
        if mask & selectors.EVENT_WRITE and self._to_user:
            try:
                sent = self._user.send(self._to_user)
                del self._to_user[:sent]
            except BlockingIOError:
                pass
            except OSError as e:
                self._drop_user(e.strerror or str(e))
                return
        if mask & selectors.EVENT_READ:
            try:
                data = self._user.recv(CHUNK_BYTES)
            except BlockingIOError:
                return
            except OSError as e:
                self._drop_user(e.strerror or str(e))
                return
            if not data:
                self._drop_user("closed by the user")
                return
            if self._guest is None:
                return                    # no guest to type into: dropped, as on a real serial line
            try:
                sent = self._guest.send(data)
            except BlockingIOError:
                sent = 0
            except OSError as e:
                self._drop_guest(e.strerror or str(e))
                return
            self._to_guest = data[sent:]  # held; user input pauses until the guest takes it

    # -- selector bookkeeping ----------------------------------------------

    def _sync_interest(self) -> None:
        """Read the guest always; read the user only when the guest took its last input."""
        R, W = selectors.EVENT_READ, selectors.EVENT_WRITE
        if self._guest is not None:
            self._want(self._guest, R | (W if self._to_guest else 0))
        if self._user is not None:
            self._want(self._user, (0 if self._to_guest else R) | (W if self._to_user else 0))

    def _want(self, sock: socket.socket, mask: int) -> None:
        assert self._sel is not None
        have = self._masks.get(sock, 0)
        if mask == have:
            return
        if mask == 0:
            self._forget(sock)
        elif have == 0:
            self._sel.register(sock, mask)
        else:
            self._sel.modify(sock, mask)
        if mask:
            self._masks[sock] = mask

    def _forget(self, sock: socket.socket) -> None:
        if self._masks.pop(sock, 0) and self._sel is not None:
            self._sel.unregister(sock)

    def _wake(self) -> None:
        if self._wake_w is not None:
            try:
                self._wake_w.send(b"\0")
            except (BlockingIOError, OSError):
                pass                      # already pending, or stopping

    def _drain_wake(self) -> None:
        assert self._wake_r is not None
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass


def _bind_listener(path: Path) -> tuple[socket.socket, int]:
    """Bind `path` atomically with mode 0660: bind a temporary name beside it, then rename."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    if len(os.fsencode(tmp)) > 107:
        raise ConsoleError(f"The console socket path {path} is too long: a unix socket path is at "
                           f"most 107 bytes, and the relay binds a name 10 bytes longer first")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(tmp))
        try:
            os.chmod(tmp, SOCKET_MODE)
            sock.listen(4)
            os.replace(tmp, path)
        except BaseException:
            _unlink_quietly(tmp)
            raise
        sock.setblocking(False)
        return sock, os.stat(path).st_ino
    except OSError as e:
        sock.close()
        raise ConsoleError(f"Failed to serve the console on {path}: {e.strerror or e}") from e


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError as e:
        if e.errno != errno.ENOENT:
            log.warning("Could not remove %s: %s", path, e)
