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

import asyncio
import concurrent.futures
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import grpc
import psutil

from handler.errors import HandlerError
from protos.launcher.v1 import cmd_pb2, cmd_pb2_grpc, notify_pb2, notify_pb2_grpc

log = logging.getLogger(__name__)

CONTRACT_VERSIONS = (1,)

# A launcher that is starting (or restarting its server) refuses connections for a moment:
# dial again quickly, not after gRPC's default reconnect backoff (1 s, growing). Not
# grpc.min_reconnect_backoff_ms: gRPC also uses it as the connect timeout (20 s by default),
# and a busy launcher (five TCG guests booting on two cores) may take seconds to answer.
_CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 50), ("grpc.max_reconnect_backoff_ms", 1000)]


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
        self._channel = grpc.insecure_channel(f"unix:{self.socket}", options=_CHANNEL_OPTIONS)
        self._cmd = cmd_pb2_grpc.CmdStub(self._channel)

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
        # Dialling before the socket exists only earns a reconnect backoff: wait for it.
        while not os.path.exists(self.socket) and time.monotonic() < deadline:
            time.sleep(0.02)
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


class Following:
    """One launcher's event stream as the hub follows it; `stop()` ends it."""

    def __init__(self, future: concurrent.futures.Future) -> None:
        self._future = future

    def stop(self) -> None:
        self._future.cancel()   # thread-safe: the task is cancelled on the hub's loop


class EventHub:
    """Follows the event streams of every launcher from one thread.

    A blocking gRPC stream costs a thread that wakes ten times a second (grpc's
    sync API polls), which made following the launchers the handler's main CPU
    cost per VM. Here every stream is a task on one asyncio loop (grpc.aio, no
    polling), and the callbacks run on a few dispatcher threads: those of one
    VMI always on the same thread, so they stay in order, and a slow callback
    (an API write, a ping) never holds up the streams."""

    def __init__(self, dispatchers: int = 4, retry_s: float = 0.5) -> None:
        self.retry_s = retry_s
        self._queues: list[queue.SimpleQueue] = [queue.SimpleQueue() for _ in range(dispatchers)]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def _ensure_started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._threads.append(threading.Thread(target=run, name="launcher-events", daemon=True))
                for i, q in enumerate(self._queues):
                    self._threads.append(threading.Thread(target=self._dispatch_loop, args=(q,),
                                                          name=f"launcher-events-{i}", daemon=True))
                for t in self._threads:
                    t.start()
                ready.wait(10)
                self._loop = loop
            return self._loop

    def follow(self, client: LauncherClient, on_event: Callable[[notify_pb2.Event], None],
               on_gone: Callable[[str], None] | None = None,
               on_break: Callable[[], None] | None = None) -> Following:
        """Follows `client`'s launcher, reconnecting while it lives: `on_event(event)` for each
        event (the first of each connection is a snapshot), `on_gone(reason)` once the stream
        ended with DELETED (the launcher exited), `on_break()` each time it ended otherwise
        (the caller finds out why)."""
        loop = self._ensure_started()
        q = self._queues[hash(client.vmi_uid) % len(self._queues)]
        return Following(asyncio.run_coroutine_threadsafe(
            self._follow(client.socket, client.vmi_uid, q, on_event, on_gone, on_break), loop))

    async def _follow(self, socket: str, vmi_uid: str, q: queue.SimpleQueue, on_event, on_gone,
                      on_break) -> None:
        channel = grpc.aio.insecure_channel(f"unix:{socket}", options=_CHANNEL_OPTIONS)
        stub = notify_pb2_grpc.NotifyStub(channel)
        try:
            while True:
                final = None
                try:
                    async for event in stub.Watch(notify_pb2.WatchRequest(vmi_uid=vmi_uid)):
                        q.put((on_event, (event,)))
                        if event.type == notify_pb2.EVENT_TYPE_DELETED:
                            final = event
                except grpc.aio.AioRpcError as e:
                    if e.code() not in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE):
                        log.warning("event stream of VMI %s ended: %s", vmi_uid, e.details())
                if final is not None:
                    if on_gone is not None:
                        q.put((on_gone, (final.message or final.reason,)))
                    return
                if on_break is not None:
                    q.put((on_break, ()))
                await asyncio.sleep(self.retry_s)
        finally:
            await channel.close()

    @staticmethod
    def _dispatch_loop(q: queue.SimpleQueue) -> None:
        while True:
            item = q.get()
            if item is None:
                return
            callback, args = item
            try:
                callback(*args)
            except Exception:
                log.exception("handling a launcher event failed")

    def close(self) -> None:
        """Stops every stream and the hub's threads (callbacks already queued are dropped)."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is None:
            return

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(10)
        except (concurrent.futures.TimeoutError, RuntimeError):
            pass
        loop.call_soon_threadsafe(loop.stop)
        for q in self._queues:
            while not q.empty():
                q.get_nowait()
            q.put(None)
        for t in self._threads:
            t.join(10)
        self._threads = []
        loop.close()
