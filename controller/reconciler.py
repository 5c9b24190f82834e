"""The loop every controller runs: informers feed a work queue, workers reconcile keys.

Owns starting informers, waiting for their caches, running worker threads that
call `sync(key)`, and what happens after: a key that synced is forgotten by the
rate limiter (and requeued after the delay `sync` returns, if any); a key whose
sync failed is retried with the queue's per-key exponential backoff. Each
controller (controller/vm.py, scheduler.py, poolcontroller.py, nodes.py)
subclasses Reconciler and writes only `sync` and its event handlers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from controller import errors
from controller.informer import Informer
from controller.workqueue import ShutDown, WorkQueue

log = logging.getLogger(__name__)


class Reconciler:
    """Base of the controllers: subclasses set `name` and `kind` and implement `sync`."""

    name = "controller"   # thread names and logs: "vm", "pool", "scheduler", "node"
    kind = "object"       # what a key names, in logs: "VirtualMachine", "Node", ...

    def __init__(self, informers: Sequence[Informer], workers: int = 1) -> None:
        self.queue = WorkQueue()
        self._informers = tuple(informers)
        self._worker_count = workers
        self._workers: list[threading.Thread] = []

    def sync(self, key: str) -> float | None:
        """Reconciles one key; returns seconds after which to look again, or None."""
        raise NotImplementedError

    def start(self, sync_timeout: float = 60.0) -> None:
        """Starts the informers now and the workers once every cache has synced (never blocks)."""
        for informer in self._informers:
            informer.start()
        threading.Thread(target=self._start_workers, args=(sync_timeout,),
                         name=f"{self.name}-starter", daemon=True).start()

    def _start_workers(self, sync_timeout: float) -> None:
        if not all(informer.wait_synced(sync_timeout) for informer in self._informers):
            log.warning("Caches of the %s controller did not sync in %.0f s; starting anyway",
                        self.name, sync_timeout)
        for i in range(self._worker_count):
            worker = threading.Thread(target=self._work, name=f"{self.name}-worker-{i}", daemon=True)
            worker.start()
            self._workers.append(worker)
        log.info("The %s controller started with %d worker(s)", self.name, self._worker_count)

    def stop(self, timeout: float = 10.0) -> None:
        self.queue.shut_down()
        for informer in self._informers:
            informer.stop()
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))

    def _work(self) -> None:
        while True:
            try:
                key = self.queue.get()
            except ShutDown:
                return
            try:
                requeue = self.sync(key)
                self.queue.forget(key)
                if requeue is not None:
                    self.queue.add_after(key, requeue)
            except errors.APIRequestError as exc:
                quiet = getattr(exc, "transient", False) or isinstance(exc, errors.ConflictError)
                log.log(logging.INFO if quiet else logging.WARNING, "Retrying %s %s (attempt %d): %s",
                        self.kind, key, self.queue.num_requeues(key) + 1, exc)
                self.queue.add_rate_limited(key)
            except Exception:
                log.exception("Syncing %s %s failed", self.kind, key)
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)
