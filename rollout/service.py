"""`rollout serve`: one process with the HTTP app, and (on the leader) the drivers.

Every replica serves HTTP (webhooks, Slack, the JSON API, probes, metrics).
Exactly one replica leads: with `server.leader_election` it must hold the
Lease (`rollout.kube.lease`); otherwise the single replica leads. The leader
runs the scheduler, the git poller, the engine driver, the notification
delivery worker and the review digest timer (`rollout.digest_job`, its own
thread); it stops them, at a step boundary, when it loses the lease.

The driver drives every active rollout when a commit is detected, an
approval arrives, the scheduler wakes a rollout, and on a periodic tick.
SIGTERM: uvicorn stops accepting and finishes requests; then the current
engine step finishes, the lease is released and the threads stop.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from rollout.approvals_service import ApprovalsService
from rollout.cluster_ops import ClusterOps
from rollout.config.schema import ClusterRef, Settings
from rollout.core.lifecycle import State
from rollout.digest_job import DigestTimer, ReviewDigestJob
from rollout.engine import Announcer, RolloutEngine
from rollout.errors import ConfigError, RolloutError
from rollout.gitpoll import GitPoller
from rollout.housekeeping import prune_seen_requests
from rollout.kube.client import KubeClient, RetryPolicy, api_client_for
from rollout.kube.lease import LeaseLock
from rollout.notify import DeliveryResult, DeliveryWorker
from rollout.notify import RetryPolicy as DeliveryRetry
from rollout.notify.channels import build_channels
from rollout.ports import Clock, Commit
from rollout.scheduler import JobScheduler
from rollout.server.app import create_app
from rollout.server.dashboard import dashboard_router
from rollout.server.ops_routes import ops_router_factory
from rollout.store import Store
from rollout.store.records import OutboxItem, RolloutRecord
from rollout.wiring import (
    ApprovalGate,
    WindowGateRules,
    announcer,
    git_for,
    open_state_store,
    signature_check,
)

log = logging.getLogger(__name__)

LEASE_KUBECONFIG_ENV = "ROLLOUT_LEASE_KUBECONFIG"
TICK_ENV = "ROLLOUT_DRIVE_TICK"
PRUNE_EVERY_SECONDS = 3600
STAGE_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600)


def utc_now() -> datetime:
    return datetime.now(UTC)


def default_identity() -> str:
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"


class _StoreGauges(Collector):
    """Gauges read from the store at scrape time, so every replica reports the truth."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        by_state = GaugeMetricFamily(
            "netpol_rollout_rollouts", "Rollouts by state", labels=["state"]
        )
        pending = GaugeMetricFamily(
            "netpol_rollout_pending_approvals", "Rollouts awaiting approval"
        )
        failed = GaugeMetricFamily(
            "netpol_rollout_failed_deliveries", "Notifications given up on (dead letters)"
        )
        try:
            # Aggregates in SQL: a scrape costs two small queries however many rows exist.
            counts = dict.fromkeys((s.value for s in State), 0)
            counts.update(self._store.count_rollouts_by_state())
            for state, count in sorted(counts.items()):
                by_state.add_metric([state], count)
            pending.add_metric([], counts.get(State.AWAITING_APPROVAL.value, 0))
            failed.add_metric([], self._store.count_outbox("dead"))
        except RolloutError as exc:
            log.warning("metrics: state store unreachable: %s", exc.message)
            return
        yield by_state
        yield pending
        yield failed


class Metrics:
    """The service's Prometheus registry (one per process, never the global one)."""

    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry()
        self.stage_seconds = Histogram(
            "netpol_rollout_stage_duration_seconds",
            "Time a rollout spent in a state before leaving it",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        self.commit_to_production = Histogram(
            "netpol_rollout_commit_to_production_seconds",
            "From detection of a commit to its production apply",
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        self.git_poll_errors = Counter(
            "netpol_rollout_git_poll_errors",
            "Failed polls of the policy repository",
            registry=self.registry,
        )
        self.is_leader = Gauge(
            "netpol_rollout_is_leader", "1 on the replica driving rollouts", registry=self.registry
        )
        self.deliveries = Counter(
            "netpol_rollout_deliveries",
            "Notification delivery attempts",
            ["outcome"],
            registry=self.registry,
        )
        self.registry.register(_StoreGauges(store))

    def transition(self, before: RolloutRecord, after: RolloutRecord) -> None:
        spent = (after.updated_at - before.updated_at).total_seconds()
        self.stage_seconds.labels(before.state).observe(max(spent, 0.0))
        if after.state == State.PRODUCTION_APPLIED.value:
            total = (after.updated_at - after.created_at).total_seconds()
            self.commit_to_production.observe(max(total, 0.0))

    def delivery(self, result: DeliveryResult) -> None:
        self.deliveries.labels(result.outcome).inc()


class _LeaderScheduler:
    """`ports.Scheduler` for the engine: forwards to the leader's running scheduler."""

    def __init__(self) -> None:
        self.current: JobScheduler | None = None

    def wake_at(self, rollout_id: str, at: datetime) -> None:
        if self.current is None:
            raise RolloutError("the scheduler is not running on this replica")
        self.current.wake_at(rollout_id, at)

    def cancel(self, rollout_id: str) -> None:
        if self.current is not None:
            self.current.cancel(rollout_id)


class Service:
    """Build once, then `run(listen)` until SIGTERM/SIGINT."""

    def __init__(
        self,
        settings: Settings,
        *,
        base_dir: Path,
        identity: str | None = None,
        clock: Clock = utc_now,
        tick: float | None = None,
    ) -> None:
        self.settings = settings
        self.identity = identity or default_identity()
        self._clock = clock
        self._tick = tick if tick is not None else float(os.environ.get(TICK_ENV, "5"))
        self._shutting_down = threading.Event()
        self._leading = threading.Event()
        self._drive_wake = threading.Event()
        self._stop_driving = threading.Event()
        self._driver: threading.Thread | None = None
        self._components_lock = threading.Lock()

        self.store = open_state_store(settings, clock)
        self.metrics = Metrics(self.store)
        self.approvals = ApprovalsService(
            settings, self.store, clock, notifications_for=self._approval_notifications
        )
        self._announce: Announcer = announcer(
            settings, clock, self.approvals.status, fleet_rows=self.store.fleet_clusters
        )
        self._git = git_for(settings.repository, base_dir=base_dir)
        self.ops = ClusterOps(settings, self._git, clock=clock)
        self.scheduler = _LeaderScheduler()
        self.engine = RolloutEngine(
            settings,
            self.store,
            self.ops,
            WindowGateRules(settings),
            ApprovalGate(self.approvals),
            self.scheduler,
            self._announce,
            clock,
            fence=self.is_leader,
            on_transition=self.metrics.transition,
            commit_check=signature_check(settings, self._git, base_dir=base_dir),
        )
        self.poller = GitPoller(
            self._git,
            settings.repository,
            self.store,
            self._detected,
            on_error=lambda _msg: self.metrics.git_poll_errors.inc(),
            fence=self.is_leader,
            clock=clock,
        )
        self.digest = DigestTimer(
            ReviewDigestJob(settings, self.store, self._git, clock=clock),
            settings.notifications.digest,
            clock=clock,
            fence=self.is_leader,
        )
        self.worker: DeliveryWorker | None = None
        self.lease: LeaseLock | None = None
        self.app = create_app(
            settings,
            self.store,
            clock=clock,
            approvals=self.approvals,
            on_push=self._on_push,
            routers=[ops_router_factory(self.readiness, self.metrics.registry), dashboard_router],
            extras=session_extras(settings),
        )

    # --- wiring callbacks ---------------------------------------------------------------

    def _on_push(self, payload: Mapping[str, Any]) -> None:
        # The leader polls at once; a follower records the push and the leader's
        # poller notices it within a second (its fence is `is_leader`).
        self.poller.on_push(payload)

    def _detected(self, commit: Commit, previous: str | None) -> None:
        self.engine.detect(commit, previous)
        self.wake_driver()

    def _approval_notifications(
        self, rollout: RolloutRecord, event: str, details: Mapping[str, Any]
    ) -> list[OutboxItem]:
        # Called inside the approval's transaction: drive shortly after it commits.
        threading.Timer(0.2, self.wake_driver).start()
        return self._announce(rollout, event, details)

    def wake_driver(self, _rollout_id: str | None = None) -> None:
        self._drive_wake.set()

    def is_leader(self) -> bool:
        if self._shutting_down.is_set() or not self._leading.is_set():
            return False
        return self.lease is None or self.lease.is_leader

    def readiness(self) -> tuple[bool, str]:
        if self._shutting_down.is_set():
            return False, "shutting down"
        try:
            self.store.list_rollouts(limit=1)
        except RolloutError as exc:
            return False, f"state store unreachable: {exc.message}"
        return True, "leader" if self.is_leader() else "follower"

    # --- leadership ---------------------------------------------------------------------

    def start_leading(self) -> None:
        with self._components_lock:
            if self._leading.is_set() or self._shutting_down.is_set():
                return
            log.info("%s leads: starting scheduler, git poller, driver, delivery", self.identity)
            self._leading.set()
            self.metrics.is_leader.set(1)
            scheduler = JobScheduler(self.settings.store.url, self.wake_driver)
            scheduler.start()
            self.scheduler.current = scheduler
            self.worker = DeliveryWorker(
                self.store,
                build_channels(self.settings.notifications),
                clock=self._clock,
                policy=DeliveryRetry.from_settings(self.settings.notifications.delivery),
                on_result=self.metrics.delivery,
            )
            self.worker.start()
            self._stop_driving.clear()
            self._driver = threading.Thread(target=self._drive_loop, name="driver", daemon=True)
            self._driver.start()
            self.poller.start()
            self.digest.start()

    def stop_leading(self) -> None:
        with self._components_lock:
            if not self._leading.is_set():
                return
            log.info("%s stops leading", self.identity)
            self._leading.clear()
            self.metrics.is_leader.set(0)
            self._stop_driving.set()
            self._drive_wake.set()
            self.poller.stop()
            self.digest.stop()
            if self._driver is not None:
                self._driver.join(timeout=300)  # the current step finishes
                self._driver = None
            if self.worker is not None:
                self.worker.stop()
                self.worker = None
            if self.scheduler.current is not None:
                self.scheduler.current.shutdown(wait=False)
                self.scheduler.current = None

    def _drive_loop(self) -> None:
        pruned_at: float | None = None
        while not self._stop_driving.is_set():
            try:
                self.engine.drive_all()
            except Exception:  # one bad step must not stop the service; retried next tick
                log.exception("driving rollouts failed; retrying at the next tick")
            if pruned_at is None or time.monotonic() - pruned_at >= PRUNE_EVERY_SECONDS:
                pruned_at = time.monotonic()
                self.prune()
            self._drive_wake.wait(self._tick)
            self._drive_wake.clear()

    def prune(self) -> int:
        """The leader's housekeeping: forget remembered request ids past their retention."""
        try:
            dropped = prune_seen_requests(
                self.store, self._clock(), self.settings.server.replay_retention
            )
        except RolloutError as exc:  # the store is away: the next round tries again
            log.warning("pruning remembered request ids failed: %s", exc.message)
            return 0
        if dropped:
            log.info("forgot %d remembered request ids past their retention", dropped)
        return dropped

    def _lease_client(self) -> KubeClient:
        # ROLLOUT_LEASE_KUBECONFIG overrides `server.lease_cluster`; neither: in-cluster.
        kubeconfig = os.environ.get(LEASE_KUBECONFIG_ENV)
        if kubeconfig:
            ref = ClusterRef(kubeconfig=Path(kubeconfig))
        else:
            ref = self.settings.server.lease_cluster or ClusterRef(in_cluster=True)
        duration = self.settings.server.lease_duration.total_seconds()
        retry = RetryPolicy(attempts=2, initial_delay=0.1, max_delay=0.5, deadline=duration / 3)
        return KubeClient.from_ref(ref, retry=retry)

    # --- running --------------------------------------------------------------------------

    def run(self, listen: str | None = None, *, listener: socket.socket | None = None) -> None:
        """Serve on `listener` (else bind `listen`, else server.listen) until SIGTERM/SIGINT.

        ConfigError, with nothing started, when the address cannot be bound.
        """
        address = listen or self.settings.server.listen
        host, _, port = address.rpartition(":")
        if listener is None:
            listener = bind_listener(address)
        self.check_cluster_access()
        lease_thread: threading.Thread | None = None
        lease_client: KubeClient | None = None
        if self.settings.server.leader_election:
            lease_client = self._lease_client()
            self.lease = LeaseLock(
                lease_client,
                namespace=self.settings.server.lease_namespace,
                name=self.settings.server.lease_name,
                identity=self.identity,
                duration=self.settings.server.lease_duration,
                on_started_leading=self.start_leading,
                on_stopped_leading=self.stop_leading,
            )
            lease_thread = threading.Thread(target=self.lease.run, name="lease", daemon=True)
            lease_thread.start()
        else:
            self.start_leading()
        config = uvicorn.Config(
            self.app, host=host, port=int(port), log_config=None, access_log=False
        )
        server = uvicorn.Server(config)
        if threading.current_thread() is threading.main_thread():
            # uvicorn re-raises the signal it handled once it stopped serving; with
            # these handlers that only marks us as stopping, so shutdown() still runs.
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self._shutting_down.set())
        log.info("serving on %s:%s as %s", host, port, self.identity)
        try:
            server.run(sockets=[listener])  # returns after SIGTERM/SIGINT, requests finished
        finally:
            listener.close()
            self.shutdown(lease_thread)
            if lease_client is not None:
                lease_client.close()

    def check_cluster_access(self) -> dict[str, str]:
        """Load every environment's cluster credentials once at start; a warning
        per environment that cannot (its rollouts will show `blocked: ...`)."""
        problems: dict[str, str] = {}
        for env in self.settings.environments:
            # A fleet's clusters one by one, each under its own `env/cluster` name.
            targets = [f"{env.name}/{c.name}" for c in env.clusters or ()] or [env.name]
            for name in targets:
                try:
                    api_client_for(self.settings.target(name).connection(), pool_size=1).close()
                except RolloutError as exc:
                    problems[name] = exc.message
                    log.warning("environment %s: cluster access blocked: %s", name, exc.message)
        return problems

    def shutdown(self, lease_thread: threading.Thread | None = None) -> None:
        log.info("shutting down")
        self._shutting_down.set()
        if self.lease is not None and lease_thread is not None:
            self.lease.stop()
            lease_thread.join(timeout=30)  # releases the lease, calls stop_leading
        self.stop_leading()
        self.ops.close()
        self.store.close()
        log.info("stopped")


def session_extras(settings: Settings) -> dict[str, bytes]:
    """The dashboard's session key from `server.session_key` (shared by replicas)."""
    ref = settings.server.session_key
    if ref is None:
        return {}
    key = ref.resolve().encode()
    if len(key) < 32:
        raise ConfigError(
            f"server.session_key: expected at least 32 characters, got {len(key)} "
            "(e.g. `openssl rand -hex 32`)"
        )
    return {"dashboard_session_key": key}


def bind_listener(address: str) -> socket.socket:
    """A listening socket on `HOST:PORT`; ConfigError naming the address otherwise."""
    where = address
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    try:
        number = int(port)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
    except (ValueError, OSError) as exc:
        raise ConfigError(f"cannot listen on {where}: {exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, number))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise ConfigError(
            f"cannot listen on {where}: {reason.lower()}"
            + (
                " (another process uses it; choose another address with --listen or server.listen)"
                if exc.errno == errno.EADDRINUSE
                else ""
            )
        ) from None
    return sock
