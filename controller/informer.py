"""A list+watch cache of one resource, client-go's informer in Python.

Owns the local copy of one Kind's objects (optionally one namespace) and the
handlers told about changes. It lists, then watches from the list's
resourceVersion; a watch that ends (timeout, dropped connection) resumes from
the last resourceVersion seen (bookmarks included); a 410 Gone lists again and
turns the difference into add/update/delete calls, so no change is lost. Every
resync period each cached object is handed to on_update(old, old), as client-go
does, so level-triggered controllers catch up. Handlers run on the informer's
thread and must be quick (enqueue a key, nothing more). Never writes to the API.
"""

from __future__ import annotations

import copy
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from controller import errors
from controller.client import Client, Kind

log = logging.getLogger(__name__)

Handler = Callable[..., None]


def object_key(obj: dict) -> str:
    """'namespace/name' (or 'name' for cluster-scoped objects), the key of caches and queues."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    return f"{namespace}/{meta['name']}" if namespace else meta["name"]


@dataclass
class Handlers:
    on_add: Handler | None = None
    on_update: Handler | None = None
    on_delete: Handler | None = None


class Informer:
    def __init__(self, client: Client, kind: Kind, namespace: str | None = None,
                 resync_period: float = 300.0, watch_timeout: int = 60) -> None:
        self.client = client
        self.kind = kind
        self.namespace = namespace
        self.resync_period = resync_period
        self.watch_timeout = watch_timeout
        self._cache: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._handlers: list[Handlers] = []
        self._synced = threading.Event()
        self._stop = threading.Event()
        self._watch = None
        self._thread: threading.Thread | None = None
        self.resource_version = ""

    # -- the cache ----------------------------------------------------------------------------

    def get(self, key: str) -> dict | None:
        """A deep copy of the cached object, or None."""
        with self._lock:
            obj = self._cache.get(key)
            return copy.deepcopy(obj) if obj is not None else None

    def list(self) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(o) for o in self._cache.values()]

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._cache)

    def add_handlers(self, on_add: Handler | None = None, on_update: Handler | None = None,
                     on_delete: Handler | None = None) -> None:
        """Register before start(): on_add(obj), on_update(old, new), on_delete(obj)."""
        self._handlers.append(Handlers(on_add, on_update, on_delete))

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"informer-{self.kind.plural}", daemon=True)
        self._thread.start()

    def wait_synced(self, timeout: float | None = None) -> bool:
        return self._synced.wait(timeout)

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    def stop(self) -> None:
        self._stop.set()
        watch = self._watch
        if watch is not None:
            watch.close()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the loop -----------------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        next_resync = time.monotonic() + self.resync_period
        need_list = True
        while not self._stop.is_set():
            try:
                if need_list:
                    self._relist()
                    need_list = False
                    self._synced.set()
                failures = 0
                next_resync = self._watch_once(next_resync)
            except errors.GoneError:
                log.info("Watch of %s expired at resourceVersion %s; listing again",
                         self.kind.plural, self.resource_version)
                need_list = True
            except errors.APIRequestError as exc:
                if self._stop.is_set():
                    return
                failures += 1
                delay = min(30.0, 0.2 * 2 ** min(failures, 8)) * (0.5 + random.random() / 2)
                log.warning("%s; retrying in %.1f s", exc, delay)
                self._stop.wait(delay)
            except Exception:  # a handler bug must not end the informer silently
                log.exception("Informer of %s failed; listing again", self.kind.plural)
                need_list = True
                self._stop.wait(1.0)

    def _relist(self) -> None:
        items, rv = self.client.list(self.kind, self.namespace)
        fresh = {object_key(o): o for o in items}
        with self._lock:
            old = self._cache
            self._cache = fresh
            self.resource_version = rv
        for key, obj in fresh.items():
            if key in old:
                self._emit("on_update", old[key], obj)
            else:
                self._emit("on_add", obj)
        for key, obj in old.items():
            if key not in fresh:
                self._emit("on_delete", obj)

    def _watch_once(self, next_resync: float) -> float:
        until_resync = math.ceil(next_resync - time.monotonic())
        watch = self.client.watch(self.kind, self.namespace, self.resource_version,
                                  timeout_seconds=max(1, min(self.watch_timeout, until_resync)))
        self._watch = watch
        try:
            if self._stop.is_set():
                return next_resync
            for event_type, obj in watch:
                if self._stop.is_set():
                    break
                self._apply(event_type, obj)
                if time.monotonic() >= next_resync:
                    self._resync()
                    next_resync = time.monotonic() + self.resync_period
        finally:
            self._watch = None
            watch.close()
        if time.monotonic() >= next_resync:
            self._resync()
            next_resync = time.monotonic() + self.resync_period
        return next_resync

    def _apply(self, event_type: str, obj: dict) -> None:
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if event_type == "BOOKMARK":
            if rv:
                self.resource_version = rv
            return
        key = object_key(obj)
        with self._lock:
            old = self._cache.get(key)
            if event_type == "DELETED":
                self._cache.pop(key, None)
            else:
                self._cache[key] = obj
            if rv:
                self.resource_version = rv
        if event_type == "DELETED":
            self._emit("on_delete", obj)
        elif old is None:
            self._emit("on_add", obj)
        else:
            self._emit("on_update", old, obj)

    def _resync(self) -> None:
        for obj in self.list():
            self._emit("on_update", obj, obj)

    def _emit(self, which: str, *objs: dict) -> None:
        if self._stop.is_set():
            return
        for handlers in self._handlers:
            fn = getattr(handlers, which)
            if fn is None:
                continue
            try:
                fn(*objs)
            except Exception:
                log.exception("Handler %s of %s failed", which, self.kind.plural)
