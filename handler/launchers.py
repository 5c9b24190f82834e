"""The handler's side of the launcher contract: records, clients, adoption.

Owns talking to launchers over protos/launcher/v1 and remembering them across
handler restarts. Each launcher the handler starts (or adopts) gets a record on
disk, `<state>/launchers/<vmi uid>.json` (KubeVirt's "ghost record"): which
VMI, which socket, which directory, which pid. A restarted handler reads the
records, dials each socket, checks the launcher's Handshake names the same VMI,
and carries on without touching the guest. gRPC errors are translated here,
once, into the errors below; nothing else in the handler imports grpc.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import grpc
import psutil

from handler.errors import HandlerError
from protos.launcher.v1 import cmd_pb2, cmd_pb2_grpc, notify_pb2, notify_pb2_grpc

log = logging.getLogger(__name__)

CONTRACT_VERSIONS = (1,)


class LauncherUnavailableError(HandlerError):
    """The launcher did not answer (not started yet, exited, or its socket is gone)."""


class LauncherRefusedError(HandlerError):
    """The launcher answered with an error; `code` is the gRPC status code's name."""

    def __init__(self, call: str, code: str, message: str) -> None:
        self.call, self.code, self.message = call, code, message
        super().__init__(f"The launcher refused {call}: {message} ({code})")


class WrongLauncherError(HandlerError):
    """The socket belongs to a launcher of another VMI (a stale record)."""


@dataclass(frozen=True)
class LauncherRecord:
    vmi_uid: str
    namespace: str
    name: str
    socket: str
    directory: str
    pid: int
    started_at: float
    pid_started_at: float = 0.0   # the process's own start time (psutil), to tell a reused pid apart


def launcher_alive(record: LauncherRecord) -> bool:
    """Whether the record's launcher process still runs (not exited, not a zombie, not a reused pid)."""
    try:
        process = psutil.Process(record.pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            try:  # our own child: reap it
                os.waitpid(record.pid, os.WNOHANG)
            except ChildProcessError:
                pass
            return False
        return not record.pid_started_at or abs(process.create_time() - record.pid_started_at) < 1.0
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True  # cannot tell: do not declare a live launcher dead


class LauncherRegistry:
    """The records of this node's launchers, one JSON file each, written atomically."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = Path(state_dir) / "launchers"
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def save(self, record: LauncherRecord) -> None:
        path = self.dir / f"{record.vmi_uid}.json"
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(record), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def remove(self, vmi_uid: str) -> None:
        try:
            (self.dir / f"{vmi_uid}.json").unlink()
        except FileNotFoundError:
            pass

    def get(self, vmi_uid: str) -> LauncherRecord | None:
        try:
            return LauncherRecord(**json.loads((self.dir / f"{vmi_uid}.json").read_text()))
        except FileNotFoundError:
            return None

    def records(self) -> list[LauncherRecord]:
        out = []
        for path in sorted(self.dir.glob("*.json")):
            try:
                out.append(LauncherRecord(**json.loads(path.read_text())))
            except (ValueError, TypeError) as e:
                log.warning("ignoring unreadable launcher record %s: %s", path, e)
        return out


class LauncherClient:
    """One launcher, reached through its unix socket; every call names the VMI uid."""

    def __init__(self, socket: str | Path, vmi_uid: str, timeout: float = 30.0) -> None:
        self.socket = str(socket)
        self.vmi_uid = vmi_uid
        self.timeout = timeout
        self._channel = grpc.insecure_channel(f"unix:{self.socket}")
        self._cmd = cmd_pb2_grpc.CmdStub(self._channel)
        self._notify = notify_pb2_grpc.NotifyStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def _call(self, name: str, request, timeout: float | None = None):
        try:
            return getattr(self._cmd, name)(request, timeout=timeout or self.timeout)
        except grpc.RpcError as e:
            code = e.code()
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                        grpc.StatusCode.CANCELLED):
                raise LauncherUnavailableError(
                    f"The launcher of VMI {self.vmi_uid} at {self.socket} did not answer {name}: "
                    f"{e.details()}") from None
            raise LauncherRefusedError(name, code.name, e.details() or "") from None

    def handshake(self, wait: float = 0.0) -> cmd_pb2.HandshakeResponse:
        """Checks the launcher serves this VMI; waits up to `wait` seconds for it to come up."""
        deadline = time.monotonic() + wait
        while True:
            try:
                reply = self._call("Handshake", cmd_pb2.HandshakeRequest(
                    vmi_uid=self.vmi_uid, supported_versions=list(CONTRACT_VERSIONS)), timeout=5)
                break
            except LauncherUnavailableError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
            except LauncherRefusedError as e:
                if e.code == "FAILED_PRECONDITION":
                    raise WrongLauncherError(f"The launcher at {self.socket} does not serve VMI "
                                             f"{self.vmi_uid}: {e.message}") from None
                raise
        return reply

    def ping(self, timeout: float = 2.0) -> cmd_pb2.PingResponse:
        return self._call("Ping", cmd_pb2.PingRequest(vmi_uid=self.vmi_uid), timeout=timeout)

    def sync(self, vmi, options: cmd_pb2.SyncOptions) -> cmd_pb2.SyncResponse:
        return self._call("Sync", cmd_pb2.SyncRequest(vmi_uid=self.vmi_uid, vmi=vmi, options=options),
                          timeout=120)

    def shutdown(self, grace: int | None = None, wait: bool = False) -> cmd_pb2.ShutdownResponse:
        request = cmd_pb2.ShutdownRequest(vmi_uid=self.vmi_uid, wait=wait)
        if grace is not None:
            request.grace_period_seconds = grace
        return self._call("Shutdown", request, timeout=(grace or 30) + 60 if wait else None)

    def kill(self) -> cmd_pb2.KillResponse:
        return self._call("Kill", cmd_pb2.KillRequest(vmi_uid=self.vmi_uid))

    def pause(self) -> cmd_pb2.PauseResponse:
        return self._call("Pause", cmd_pb2.PauseRequest(vmi_uid=self.vmi_uid))

    def unpause(self) -> cmd_pb2.UnpauseResponse:
        return self._call("Unpause", cmd_pb2.UnpauseRequest(vmi_uid=self.vmi_uid))

    def domain(self) -> cmd_pb2.GetDomainResponse:
        return self._call("GetDomain", cmd_pb2.GetDomainRequest(vmi_uid=self.vmi_uid))

    def stats(self) -> cmd_pb2.GetStatsResponse:
        return self._call("GetStats", cmd_pb2.GetStatsRequest(vmi_uid=self.vmi_uid))

    def guest_info(self) -> cmd_pb2.GuestInfoResponse:
        return self._call("GuestInfo", cmd_pb2.GuestInfoRequest(vmi_uid=self.vmi_uid))

    def read_boot_log(self, offset: int = 0, limit: int = 0) -> cmd_pb2.ReadBootLogResponse:
        return self._call("ReadBootLog", cmd_pb2.ReadBootLogRequest(
            vmi_uid=self.vmi_uid, offset=offset, limit=limit))

    def terminate(self, grace: int | None = None) -> cmd_pb2.TerminateResponse:
        request = cmd_pb2.TerminateRequest(vmi_uid=self.vmi_uid)
        if grace is not None:
            request.grace_period_seconds = grace
        return self._call("Terminate", request, timeout=(grace if grace is not None else 30) + 60)

    def events(self, stop: threading.Event) -> Iterator[notify_pb2.Event]:
        """The launcher's event stream until `stop` is set or the launcher goes away.

        The first event is a snapshot of the domain; a stream that breaks ends
        the iterator (the caller reconnects, and gets a fresh snapshot)."""
        try:
            call = self._notify.Watch(notify_pb2.WatchRequest(vmi_uid=self.vmi_uid))
        except ValueError:  # closed channel
            return
        canceller = threading.Thread(target=_cancel_when, args=(stop, call), daemon=True)
        canceller.start()
        try:
            yield from call
        except ValueError:  # the channel was closed under the stream
            return
        except grpc.RpcError as e:
            if e.code() not in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE):
                log.warning("event stream of VMI %s ended: %s", self.vmi_uid, e.details())


def _cancel_when(stop: threading.Event, call) -> None:
    while not stop.wait(0.5):
        if call.done():
            return
    call.cancel()


def watch_forever(client: LauncherClient, on_event: Callable[[notify_pb2.Event], None],
                  stop: threading.Event, on_gone: Callable[[str], None] | None = None,
                  on_break: Callable[[], None] | None = None,
                  retry_s: float = 0.5) -> threading.Thread:
    """Follows a launcher's events in a thread, reconnecting while the launcher lives.

    Calls `on_gone(reason)` once the stream ended with DELETED (the launcher exited),
    and `on_break()` each time it ended otherwise (the caller finds out why)."""

    def run() -> None:
        while not stop.is_set():
            final = None
            for event in client.events(stop):
                on_event(event)
                if event.type == notify_pb2.EVENT_TYPE_DELETED:
                    final = event
            if final is not None:
                if on_gone is not None:
                    on_gone(final.message or final.reason)
                return
            if on_break is not None and not stop.is_set():
                on_break()
            stop.wait(retry_s)

    thread = threading.Thread(target=run, name=f"events-{client.vmi_uid[:8]}", daemon=True)
    thread.start()
    return thread
