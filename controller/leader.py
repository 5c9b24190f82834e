"""Leader election through a coordination.k8s.io/v1 Lease, client-go's leaderelection in Python.

Owns the decision "may this process act now". A candidate tries every
retry_period to take the Lease (free, expired, or already its own) and, once
it holds it, renews it every retry_period. A renewal that has not succeeded
for renew_deadline seconds means leadership is lost: on_stopped_leading runs
before anyone else can take the Lease (renew_deadline < lease_duration), so two
holders never act at once. Expiry is judged by this process's own clock from
the moment it last saw the Lease record change (client-go's observedTime), so
clocks of different machines never have to agree. Writes go with the Lease's
resourceVersion; a 409 means someone else won the race.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from controller import errors
from controller.client import LEASES, Client

log = logging.getLogger(__name__)


@dataclass
class ElectionConfig:
    namespace: str
    name: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not self.lease_duration > self.renew_deadline > self.retry_period > 0:
            raise ValueError("Leader election needs lease_duration > renew_deadline > retry_period > 0, got "
                             f"{self.lease_duration}, {self.renew_deadline}, {self.retry_period}")


def _micro_time() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(self, client: Client, config: ElectionConfig,
                 on_started_leading: Callable[[], None], on_stopped_leading: Callable[[], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.config = config
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self._clock = clock
        self._observed_spec: dict | None = None
        self._observed_time = 0.0
        self._lease: dict | None = None
        self._leading = threading.Event()

    @property
    def is_leader(self) -> bool:
        return self._leading.is_set()

    def run(self, stop: threading.Event) -> bool:
        """Campaign until leading, lead until the lease is lost or `stop` is set.

        Returns True when leadership ended because of `stop` (the Lease is then released),
        False when it was lost; never returns while leading.
        """
        cfg = self.config
        while not stop.is_set():
            if self.try_acquire_or_renew():
                break
            stop.wait(cfg.retry_period)
        if stop.is_set():
            return True
        log.info("%s became the leader (lease %s/%s)", cfg.identity, cfg.namespace, cfg.name)
        self._leading.set()
        self.on_started_leading()
        last_renew = self._clock()
        try:
            while not stop.wait(cfg.retry_period):
                if self.try_acquire_or_renew():
                    last_renew = self._clock()
                elif self._clock() - last_renew >= cfg.renew_deadline:
                    log.error("%s lost the lease %s/%s: not renewed for %.1f s", cfg.identity,
                              cfg.namespace, cfg.name, cfg.renew_deadline)
                    return False
            return True
        finally:
            self._leading.clear()
            self.on_stopped_leading()
            if stop.is_set():
                self.release()

    def try_acquire_or_renew(self) -> bool:
        """One attempt (client-go's tryAcquireOrRenew); True when this process holds the Lease now."""
        cfg = self.config
        now = _micro_time()
        try:
            lease = self.client.get(LEASES, cfg.namespace, cfg.name)
        except errors.NotFoundError:
            try:
                self._lease = self.client.create(LEASES, cfg.namespace, {
                    "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": cfg.name, "namespace": cfg.namespace},
                    "spec": self._spec({}, now, transitions=0)})
            except errors.APIRequestError as exc:
                log.info("%s could not create lease %s/%s: %s", cfg.identity, cfg.namespace, cfg.name, exc)
                return False
            self._observe(self._lease["spec"])
            return True
        except errors.APIRequestError as exc:
            log.warning("%s could not read lease %s/%s: %s", cfg.identity, cfg.namespace, cfg.name, exc)
            return False
        spec = lease.get("spec") or {}
        if spec != self._observed_spec:
            self._observe(spec)
        holder = spec.get("holderIdentity") or ""
        duration = float(spec.get("leaseDurationSeconds") or cfg.lease_duration)
        if holder and holder != cfg.identity and self._observed_time + duration > self._clock():
            return False  # held by someone else and not expired in our eyes
        transitions = int(spec.get("leaseTransitions") or 0)
        if holder != cfg.identity:
            transitions += 1
        lease["spec"] = self._spec(spec, now, transitions)
        try:
            self._lease = self.client.replace(LEASES, cfg.namespace, lease)
        except errors.APIRequestError as exc:
            log.info("%s could not update lease %s/%s: %s", cfg.identity, cfg.namespace, cfg.name, exc)
            return False
        self._observe(self._lease["spec"])
        return True

    def release(self) -> None:
        """Give the Lease up (client-go's ReleaseOnCancel) so a standby takes over at once."""
        cfg = self.config
        lease = self._lease
        if lease is None or (lease.get("spec") or {}).get("holderIdentity") != cfg.identity:
            return
        lease = dict(lease)
        spec = dict(lease.get("spec") or {})
        spec.update({"holderIdentity": None, "leaseDurationSeconds": 1,
                     "renewTime": _micro_time(), "acquireTime": _micro_time()})
        lease["spec"] = spec
        try:
            self._lease = self.client.replace(LEASES, cfg.namespace, lease)
            log.info("%s released lease %s/%s", cfg.identity, cfg.namespace, cfg.name)
        except errors.APIRequestError as exc:
            log.warning("%s could not release lease %s/%s: %s", cfg.identity, cfg.namespace, cfg.name, exc)

    def _spec(self, old: dict, now: str, transitions: int) -> dict:
        cfg = self.config
        keep_acquire = old.get("holderIdentity") == cfg.identity and old.get("acquireTime")
        return {"holderIdentity": cfg.identity, "leaseDurationSeconds": int(round(cfg.lease_duration)) or 1,
                "acquireTime": old["acquireTime"] if keep_acquire else now, "renewTime": now,
                "leaseTransitions": transitions}

    def _observe(self, spec: dict) -> None:
        self._observed_spec = spec
        self._observed_time = self._clock()
