"""Leader election on a `coordination.k8s.io/v1` Lease, fenced by resourceVersion.

The official client's elector uses a ConfigMap lock and never releases on
shutdown, so this is our own small lock:

- acquire: create the Lease, or take it over when it is free (no holder) or
  expired: its record has not changed for `leaseDurationSeconds` as measured
  by *our* monotonic clock since we first saw that record (as client-go does;
  no trust in the other replica's wall clock);
- renew every duration/3 while leading; a replica that cannot renew within
  `renew_deadline` (2/3 of the duration) steps down on its own, before anyone
  else may take over;
- every write is a PUT carrying the resourceVersion we read, so a 409
  Conflict means someone else wrote first: we lost, and we say so;
- release on shutdown: clear `holderIdentity`, so a successor starts at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rollout.errors import ClusterError
from rollout.kube.client import ApiRefusal, KubeClient

log = logging.getLogger(__name__)

LEASES = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"


def _micro_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Observed:
    """The Lease as last read, and when (monotonic seconds) its record last changed."""

    holder: str
    resource_version: str
    duration: float
    changed_at: float
    transitions: int
    body: dict[str, Any]


class LeaseLock:
    """One replica's handle on the Lease; `run()` in a thread, `stop()` to release."""

    def __init__(
        self,
        client: KubeClient,
        *,
        namespace: str,
        name: str,
        identity: str,
        duration: timedelta,
        on_started_leading: Callable[[], None] = lambda: None,
        on_stopped_leading: Callable[[], None] = lambda: None,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._namespace = namespace
        self._name = name
        self.identity = identity
        self._duration = duration.total_seconds()
        self._retry_period = self._duration / 3
        self._renew_deadline = self._duration * 2 / 3
        self._on_started = on_started_leading
        self._on_stopped = on_stopped_leading
        self._monotonic = monotonic
        self._wall = wall_clock
        self._observed: Observed | None = None
        self._leading = False
        self._last_renew = 0.0
        self._stop = threading.Event()
        self._state_lock = threading.Lock()

    @property
    def is_leader(self) -> bool:
        """True while we hold the lease and renewed it within the renew deadline."""
        with self._state_lock:
            fresh = self._monotonic() - self._last_renew < self._renew_deadline
            return self._leading and fresh

    @property
    def holder(self) -> str | None:
        return self._observed.holder if self._observed else None

    # --- one attempt --------------------------------------------------------------

    def try_acquire_or_renew(self) -> bool:
        """One round: True if we hold the lease afterwards. Never raises for API trouble."""
        try:
            held = self._round()
        except (ClusterError, ApiRefusal) as exc:
            log.warning("lease %s/%s: %s", self._namespace, self._name, exc)
            held = False
        now = self._monotonic()
        with self._state_lock:
            if held:
                self._last_renew = now
            elif self._leading and now - self._last_renew < self._renew_deadline:
                held = True  # a transient miss; keep leading until the renew deadline
        self._set_leading(held)
        return held

    def _round(self) -> bool:
        path = f"{LEASES.format(namespace=self._namespace)}/{self._name}"
        try:
            current = self._client.request("GET", path)
        except ApiRefusal as exc:
            if exc.status != 404:
                raise
            return self._create()
        observed = self._observe(current)
        mine = observed.holder == self.identity
        free = not observed.holder
        expired = self._monotonic() - observed.changed_at > observed.duration
        if not (mine or free or expired):
            return False
        spec = dict(current.get("spec") or {})
        now = _micro_time(self._wall())
        if not mine:
            spec["acquireTime"] = now
            spec["leaseTransitions"] = observed.transitions + 1
        spec.update(
            holderIdentity=self.identity,
            leaseDurationSeconds=int(self._duration),
            renewTime=now,
        )
        body = {**current, "spec": spec}
        try:
            updated = self._client.request("PUT", path, body=body)  # carries resourceVersion
        except ApiRefusal as exc:
            if exc.status == 409:
                log.info("lease %s: another replica wrote first", self._name)
                return False
            raise
        self._observe(updated)
        return True

    def _create(self) -> bool:
        now = _micro_time(self._wall())
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self._name, "namespace": self._namespace},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": int(self._duration),
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": 0,
            },
        }
        try:
            created = self._client.request(
                "POST", LEASES.format(namespace=self._namespace), body=body
            )
        except ApiRefusal as exc:
            if exc.status == 409:  # created by another replica just now
                return False
            raise
        self._observe(created)
        return True

    def _observe(self, lease: dict[str, Any]) -> Observed:
        spec = lease.get("spec") or {}
        version = str(lease["metadata"]["resourceVersion"])
        previous = self._observed
        changed_at = (
            previous.changed_at
            if previous is not None and previous.resource_version == version
            else self._monotonic()
        )
        self._observed = Observed(
            holder=str(spec.get("holderIdentity") or ""),
            resource_version=version,
            duration=float(spec.get("leaseDurationSeconds") or self._duration),
            changed_at=changed_at,
            transitions=int(spec.get("leaseTransitions") or 0),
            body=lease,
        )
        return self._observed

    def _set_leading(self, leading: bool) -> None:
        with self._state_lock:
            changed = leading != self._leading
            self._leading = leading
        if not changed:
            return
        if leading:
            log.info("became the leader (lease %s/%s)", self._namespace, self._name)
            self._on_started()
        else:
            log.warning("lost the leadership (lease %s/%s)", self._namespace, self._name)
            self._on_stopped()

    # --- the loop ----------------------------------------------------------------

    def run(self) -> None:
        """Acquire and renew until `stop()`; then release if we hold the lease."""
        while not self._stop.is_set():
            self.try_acquire_or_renew()
            self._stop.wait(self._retry_period)
        self.release()

    def stop(self) -> None:
        self._stop.set()

    def release(self) -> None:
        """Give the lease up now (holderIdentity cleared), if we still hold it."""
        was_leading = self._leading
        with self._state_lock:
            self._leading = False
        if was_leading:
            self._on_stopped()
        observed = self._observed
        if observed is None or observed.holder != self.identity:
            return
        path = f"{LEASES.format(namespace=self._namespace)}/{self._name}"
        spec = {**(observed.body.get("spec") or {}), "holderIdentity": None}
        spec["renewTime"] = _micro_time(self._wall())
        try:
            released = self._client.request("PUT", path, body={**observed.body, "spec": spec})
        except (ClusterError, ApiRefusal) as exc:
            log.warning("could not release lease %s: %s", self._name, exc)
            return
        self._observe(released)
        log.info("released the lease %s/%s", self._namespace, self._name)
