"""The monthly review digest: gather it, enqueue it once per period, keep it scheduled.

    job = ReviewDigestJob(settings, store, git, clock=clock)
    job.run(end)            # gather the period ending at `end`, enqueue, record digest.sent
    DigestTimer(job, settings.notifications.digest, clock=clock, fence=is_leader).start()

A digest covers the period since the previous one (the `digest.sent` audit
event records each period), else the 31 days before its end. For every
environment it lints what the cluster enforces now (namespaces, pods,
services and every NetworkPolicy of the managed namespaces) and plans the
deployed revision against the cluster (its drifted, deleted and stray
objects are the drift). From the store it counts the rollouts created and
rolled back in the period and collects the connectivity that rollouts which
reached production opened and closed.

Exactly once: the outbox rows' idempotency keys hold the period
(`global:review.digest:{channel}:{start}-{end}`), the start is the previous
digest's end, and a period whose end an earlier digest already reached is
not gathered again. The timer only wakes a
leader; a scheduled time missed while no leader ran is caught up for a day
(once a first digest was sent).

What is decided without I/O (when a digest is due, its period, its content
from the gathered reviews and history) lives in `rollout.core.digest`; this
module gathers, sends and schedules.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rollout.config.schema import DigestSettings, Environment, Settings
from rollout.core.digest import (
    DEFAULT_PERIOD,
    MISSED_GRACE,
    EnvironmentReview,
    assemble_digest,
    digest_period,
    digest_schedule,
    drift_items,
    latest_digest_at,
    net_connectivity,
    next_digest_at,
)
from rollout.core.events import DriftItem, EventType, ReviewDigest
from rollout.core.lifecycle import State
from rollout.errors import ClusterError, RolloutError
from rollout.gitwatch import GitRepository
from rollout.notify.digest import digest_event
from rollout.notify.outbox import build_outbox_items, channels_for
from rollout.policy import lint, load_cluster
from rollout.revision import plan_revision, read_workloads, render_revision
from rollout.store import OutboxItem, Store
from rollout.wiring import cluster_for, live_snapshot, renderer, state_for

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

DIGEST_SENT = "digest.sent"
RETRY_DELAY = timedelta(minutes=5)
FAILED_STATES = frozenset({State.STAGING_FAILED.value, State.PRODUCTION_FAILED.value})

# Re-exported: the pure parts live in rollout.core.digest.
__all__ = [
    "DEFAULT_PERIOD",
    "DIGEST_SENT",
    "MISSED_GRACE",
    "RETRY_DELAY",
    "DigestRun",
    "DigestTimer",
    "EnvironmentReview",
    "ReviewDigestJob",
    "assemble_digest",
    "drift_items",
    "latest_digest_at",
    "net_connectivity",
    "next_digest_at",
]


# --- gathering and sending ---------------------------------------------------------


@dataclass(frozen=True)
class DigestRun:
    """What `ReviewDigestJob.run` did: `sent` False when the period was already covered."""

    digest: ReviewDigest | None
    sent: bool
    new_deliveries: int = 0


class ReviewDigestJob:
    """Gathers the review digest from the store and every environment's cluster.

    `git` renders the deployed revisions (drift); the caller fetches it. Raises
    ClusterError when a cluster stays unreachable and StoreError from the store.
    """

    def __init__(
        self, settings: Settings, store: Store, git: GitRepository, *, clock: Clock
    ) -> None:
        self._settings = settings
        self._store = store
        self._git = git
        self._clock = clock

    # -- periods --

    def _sent_periods(self) -> list[tuple[datetime, datetime]]:
        periods = []
        # One event per period sent: reading them all stays small.
        for event in self._store.events(kinds=[DIGEST_SENT], limit=None):
            try:
                start = datetime.fromisoformat(str(event.details["start"]))
                end = datetime.fromisoformat(str(event.details["end"]))
            except (KeyError, ValueError):
                continue
            periods.append((start, end))
        return periods

    def last_period_end(self) -> datetime | None:
        """The end of the latest digest sent, None if none was."""
        ends = [end for _, end in self._sent_periods()]
        return max(ends) if ends else None

    def period_ending(self, end: datetime) -> tuple[datetime, datetime] | None:
        """(start, end) of the digest ending at `end`; None if a digest already reached it."""
        return digest_period((e for _, e in self._sent_periods()), end)

    # -- content --

    def review_environment(
        self, env: Environment, now: datetime, *, name: str | None = None
    ) -> EnvironmentReview:
        """Lint of the live state and drift of the deployed revision in `env`
        (reported as `name`: a fleet's cluster as `env/cluster`)."""
        workloads = self._workloads(env) if env.workloads else None
        live = live_snapshot(env, include_policies=True, workloads=workloads)
        findings = lint(load_cluster(live), env.namespaces)
        drift = tuple(self._drift(env, now, name or env.name))
        return EnvironmentReview(name or env.name, tuple(findings), drift)

    def _workloads(self, env: Environment) -> list[dict[str, Any]]:
        """`env.workloads` at the deployed revision (the branch head before any deploy)."""
        cluster = cluster_for(env)
        try:
            deployed = state_for(env, cluster).read()
        finally:
            cluster.close()
        sha = deployed.commit_sha if deployed is not None and deployed.commit_sha else None
        return read_workloads(
            self._git, env, sha or self._git.head(self._settings.repository.branch)
        )

    def _drift(self, env: Environment, now: datetime, name: str) -> list[DriftItem]:
        # `name`: what the drift is reported under (a fleet's cluster as `env/cluster`).
        cluster = cluster_for(env)
        try:
            deployed = state_for(env, cluster).read()
            if deployed is None or not deployed.commit_sha:
                return []
            if deployed.pending_sha:
                log.info("digest: %s has an apply in progress; drift not checked", env.name)
                return []
            rendered = render_revision(
                self._git, renderer(), self._settings.repository, env, deployed.commit_sha
            )
            plan = plan_revision(cluster, env, rendered)
        except ClusterError:
            raise  # the digest waits for the cluster rather than leave drift out
        except RolloutError as exc:
            # The deployed revision no longer renders (history rewritten, checks
            # tightened): report what we can rather than no digest at all.
            log.warning("digest: drift of %s not checked: %s", env.name, exc.message)
            return []
        finally:
            cluster.close()
        return drift_items(plan, name, now)

    def history(self, start: datetime, end: datetime) -> tuple[list[str], list[str], int, int]:
        """(opened, closed, rollouts, rollbacks) from the store for [start, end).

        Connections count when their rollout reached production and stayed
        there (not rolled back in the period).
        """
        store = self._store  # filters the period in SQL: all of it, and only it, is read
        rollouts = store.list_rollouts(since=start, until=end, limit=None)
        rolled_back = {
            e.rollout_id
            for e in store.events(kinds=["rollback"], since=start, until=end, limit=None)
            if e.rollout_id is not None
        }
        reached: dict[str, None] = {}
        for event in store.events(kinds=["state.changed"], since=start, until=end, limit=None):
            if event.rollout_id is None:
                continue
            to_state = event.details.get("to")
            if to_state == State.PRODUCTION_APPLIED.value:
                reached[event.rollout_id] = None
            elif to_state in FAILED_STATES:
                rolled_back.add(event.rollout_id)
        diffs = []
        # Only what stayed: a rollout applied to production and then rolled
        # back (its production smoke tests failed) opened nothing.
        for rollout_id in (r for r in reached if r not in rolled_back):
            record = self._store.get_rollout(rollout_id)
            if record is not None:
                diffs.append(record.diff)
        opened, closed = net_connectivity(diffs)
        return opened, closed, len(rollouts), len(rolled_back)

    def gather(self, start: datetime, end: datetime) -> ReviewDigest:
        """The digest of [start, end) with the clusters as they are now."""
        now = self._clock()
        # A fleet is reviewed cluster by cluster, each as `env/cluster`.
        targets = [
            target
            for env in self._settings.environments
            for target in [f"{env.name}/{c.name}" for c in env.clusters or ()] or [env.name]
        ]
        reviews = [self.review_environment(self._settings.target(t), now, name=t) for t in targets]
        opened, closed, rollouts, rollbacks = self.history(start, end)
        return assemble_digest(
            start,
            end,
            reviews,
            opened=opened,
            closed=closed,
            rollouts=rollouts,
            rollbacks=rollbacks,
        )

    # -- sending --

    def outbox_items(self, digest: ReviewDigest) -> list[OutboxItem]:
        """One row per channel, keyed `global:review.digest:{channel}:{period}`."""
        base = (self._settings.server.public_url or "").rstrip("/")
        event = digest_event(digest, occurred_at=self._clock(), url=base or None)
        channels = channels_for(EventType.REVIEW_DIGEST, self._settings.notifications)
        return [
            OutboxItem(i.channel, i.event, i.idempotency_key, i.payload, i.rollout_id)
            for i in build_outbox_items(event, channels)
        ]

    def send(self, digest: ReviewDigest, *, actor: str = "system", channel: str = "system") -> int:
        """Enqueue the digest for every channel, then record `digest.sent`.

        Returns how many deliveries were new (0 when this period was enqueued
        before). Two transactions on purpose: a crash between them re-sends the
        same period, whose keys the outbox already holds, so nobody gets it twice.
        """
        items = self.outbox_items(digest)
        new = self._store.enqueue(items)
        self._store.record_event(
            DIGEST_SENT,
            actor=actor,
            channel=channel,
            details={
                "start": digest.period_start.isoformat(),
                "end": digest.period_end.isoformat(),
                "channels": [i.channel for i in items],
                "new_deliveries": new,
            },
        )
        return new

    def run(
        self, end: datetime | None = None, *, actor: str = "system", channel: str = "system"
    ) -> DigestRun:
        """Gather and send the digest of the period ending at `end` (default: now).

        Does nothing (`sent` False) when a digest already covers `end`.
        """
        end = (end or self._clock()).astimezone(UTC).replace(microsecond=0)
        period = self.period_ending(end)
        if period is None:
            return DigestRun(None, sent=False)
        digest = self.gather(*period)
        new = self.send(digest, actor=actor, channel=channel)
        return DigestRun(digest, sent=True, new_deliveries=new)


# --- scheduling ------------------------------------------------------------------------


class DigestTimer:
    """Sends the digest at each scheduled instant, on a thread of its own.

    `start()` when leading, `stop()` when not; the engine never waits for it.
    A failed run (a cluster unreachable) is retried after RETRY_DELAY while
    the instant is less than MISSED_GRACE old. ConfigError at construction
    for an invalid schedule.
    """

    def __init__(
        self,
        job: ReviewDigestJob,
        settings: DigestSettings,
        *,
        clock: Clock,
        fence: Callable[[], bool] = lambda: True,
        max_sleep: timedelta = timedelta(minutes=5),
    ) -> None:
        if settings.enabled:
            digest_schedule(settings)  # fail at startup, not on the 1st of next month
        self._job = job
        self._settings = settings
        self._clock = clock
        self._fence = fence
        self._max_sleep = max_sleep.total_seconds()
        self._on_time = max_sleep + timedelta(minutes=1)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def due(self, now: datetime) -> datetime | None:
        """The scheduled instant to send for now, None if nothing is due.

        An instant up to MISSED_GRACE old counts (a restart or an outage at that
        time), but only once a digest was ever sent: a new installation does not
        start with a digest of the month before it.
        """
        instant = latest_digest_at(self._settings, now)
        if instant is None:
            return None
        last = self._job.last_period_end()
        if last is None:
            return instant if now - instant < self._on_time else None
        return instant if last < instant else None

    def start(self) -> None:
        if not self._settings.enabled or (self._thread and self._thread.is_alive()):
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, args=(self._stop,), name="review-digest", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)  # a run past this finishes alone; it is fenced
            self._thread = None

    def _loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            wait = self._step()
            # Short sleeps: a changed clock (suspend, NTP) only delays a digest a little.
            stop.wait(min(max(wait, 0.0), self._max_sleep))

    def _step(self) -> float:
        """Send if due; seconds until the next check."""
        now = self._clock()
        try:
            instant = self.due(now)
            if instant is not None and self._fence():
                result = self._job.run(instant)
                if result.sent:
                    log.info(
                        "review digest for the period ending %s: %d delivery(ies) enqueued",
                        instant.isoformat(),
                        result.new_deliveries,
                    )
            upcoming = next_digest_at(self._settings, self._clock())
        except RolloutError as exc:
            log.warning("review digest failed, retrying: %s", exc.message)
            return RETRY_DELAY.total_seconds()
        except Exception:  # a bug must not kill the timer; it is retried later
            log.exception("review digest failed, retrying")
            return RETRY_DELAY.total_seconds()
        if upcoming is None:
            return self._max_sleep
        return (upcoming - self._clock()).total_seconds()
