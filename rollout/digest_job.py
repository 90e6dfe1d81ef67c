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
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rollout.config.schema import DigestSettings, Environment, Settings
from rollout.core.changes import Action, Plan
from rollout.core.cron import CronSchedule, parse_cron
from rollout.core.events import DriftItem, EventType, LintFinding, ReviewDigest
from rollout.core.lifecycle import State
from rollout.core.objects import NAMESPACE, ObjectKey
from rollout.errors import ClusterError, RolloutError
from rollout.gitwatch import GitRepository
from rollout.kube.client import api_client_for
from rollout.kube.snapshot import read_snapshot
from rollout.notify.digest import digest_event
from rollout.notify.outbox import build_outbox_items, channels_for
from rollout.policy import Finding, lint, load_cluster
from rollout.revision import plan_revision, render_revision
from rollout.store import OutboxItem, Store
from rollout.wiring import cluster_for, renderer, state_for

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

DIGEST_SENT = "digest.sent"
DEFAULT_PERIOD = timedelta(days=31)
MISSED_GRACE = timedelta(days=1)
RETRY_DELAY = timedelta(minutes=5)
NO_BASELINE = frozenset({"NP001", "NP002"})  # no ingress / egress default-deny
SELECTS_NOTHING = "NP005"
FAILED_STATES = frozenset({State.STAGING_FAILED.value, State.PRODUCTION_FAILED.value})
_HISTORY = 100_000  # audit events / rollouts read back; far above a month's worth
_SEARCH_YEARS = 9  # "0 9 29 2 *" fires once in 4 (at worst 8) years


# --- when (pure) ----------------------------------------------------------------------


def _schedule(settings: DigestSettings) -> tuple[CronSchedule, ZoneInfo]:
    return parse_cron(settings.schedule), ZoneInfo(settings.timezone)


def next_digest_at(settings: DigestSettings, after: datetime) -> datetime | None:
    """The first scheduled instant strictly after `after` (aware UTC), None if never.

    Cron fields are wall-clock times in `settings.timezone` (DST as in
    `rollout.core.cron`). ConfigError for an invalid `schedule`.
    """
    schedule, tz = _schedule(settings)
    start = after + timedelta(microseconds=1)
    for year in range(_SEARCH_YEARS):
        low = start + timedelta(days=366 * year)
        for instant in schedule.instants(tz, low, low + timedelta(days=366)):
            return instant
    return None


def latest_digest_at(
    settings: DigestSettings, now: datetime, within: timedelta = MISSED_GRACE
) -> datetime | None:
    """The last scheduled instant in `(now - within, now]`, None if there is none."""
    schedule, tz = _schedule(settings)
    tick = timedelta(microseconds=1)
    found = list(schedule.instants(tz, now - within + tick, now + tick))
    return found[-1] if found else None


# --- what (pure) -------------------------------------------------------------------


@dataclass(frozen=True)
class EnvironmentReview:
    """What one environment's cluster shows: its lint findings and its drift."""

    environment: str
    findings: tuple[Finding, ...]
    drift: tuple[DriftItem, ...] = ()


def _qualified(where: dict[str, list[str]], everywhere: int) -> tuple[str, ...]:
    """`item` if it holds in every environment reviewed, else `item (env, env)`."""
    return tuple(
        item if len(envs) == everywhere else f"{item} ({', '.join(envs)})"
        for item, envs in sorted(where.items())
    )


def assemble_digest(
    start: datetime,
    end: datetime,
    reviews: Sequence[EnvironmentReview],
    *,
    opened: Sequence[str] = (),
    closed: Sequence[str] = (),
    rollouts: int = 0,
    rollbacks: int = 0,
) -> ReviewDigest:
    """The digest from per-environment reviews and the period's history.

    Namespaces without a baseline (NP001/NP002), policies selecting nothing
    (NP005) and findings that hold in only some environments name them.
    """
    baseline: dict[str, list[str]] = {}
    nothing: dict[str, list[str]] = {}
    findings: dict[tuple[str, str, str, str], list[str]] = {}
    for review in reviews:
        env = review.environment
        for f in review.findings:
            if f.id in NO_BASELINE:
                namespace = f.object.partition("/")[2]
                if env not in baseline.setdefault(namespace, []):
                    baseline[namespace].append(env)
            if f.id == SELECTS_NOTHING:
                nothing.setdefault(_policy_name(f.object), []).append(env)
            where = findings.setdefault((f.severity, f.id, f.message, f.object), [])
            if env not in where:
                where.append(env)
    count = len(reviews)
    lint_findings = tuple(
        LintFinding(
            severity,
            code,
            message,
            location if len(envs) == count else f"{location} ({', '.join(envs)})",
        )
        for (severity, code, message, location), envs in findings.items()
    )
    return ReviewDigest(
        period_start=start,
        period_end=end,
        namespaces_without_baseline=_qualified(baseline, count),
        lint_findings=lint_findings,
        policies_selecting_nothing=_qualified(nothing, count),
        connectivity_opened=tuple(opened),
        connectivity_closed=tuple(closed),
        rollouts=rollouts,
        rollbacks=rollbacks,
        drift=tuple(d for review in reviews for d in review.drift),
    )


def _policy_name(ref: str) -> str:
    kind, _, rest = ref.partition("/")
    return rest if kind == "NetworkPolicy" else ref


def connection_line(connection: Mapping[str, Any]) -> str:
    """`payments/api -> ledger/db TCP 5432` from a stored diff's connection."""
    return (
        f"{connection.get('from', '?')} -> {connection.get('to', '?')} "
        f"{connection.get('protocol', 'TCP')} {connection.get('port', '?')}"
    )


def net_connectivity(diffs: Iterable[Any]) -> tuple[list[str], list[str]]:
    """(opened, closed) over stored diffs in the order they reached production.

    A flow opened and closed again within the period (or the reverse) cancels out.
    """
    opened: dict[str, None] = {}
    closed: dict[str, None] = {}
    for diff in diffs:
        if not isinstance(diff, Mapping):
            continue
        for which, other in ((opened, closed), (closed, opened)):
            key = "opened" if which is opened else "closed"
            for connection in diff.get(key) or ():
                if not isinstance(connection, Mapping):
                    continue
                line = connection_line(connection)
                if line in other:
                    del other[line]
                else:
                    which[line] = None
    return list(opened), list(closed)


def drift_items(plan: Plan, environment: str, detected_at: datetime) -> list[DriftItem]:
    """Objects of the deployed revision edited or deleted in the cluster, and strays."""
    items = []
    for change in plan.changes:
        if change.drift:
            what = "edited in cluster"
        elif change.action is Action.CREATE and (change.key.group, change.key.kind) != NAMESPACE:
            what = "deleted in cluster"
        elif change.action is Action.DELETE:
            what = "not in the deployed revision"
        else:
            continue
        items.append(DriftItem(environment, _object_name(change.key), what, detected_at))
    return items


def _object_name(key: ObjectKey) -> str:
    return f"{key.namespace}/{key.name}" if key.kind == "NetworkPolicy" else str(key)


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
        for event in self._store.events(kinds=[DIGEST_SENT], limit=_HISTORY):
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
        ends = [e for _, e in self._sent_periods()]
        if any(e >= end for e in ends):
            return None
        return (max(ends) if ends else end - DEFAULT_PERIOD), end

    # -- content --

    def review_environment(self, env: Environment, now: datetime) -> EnvironmentReview:
        """Lint of the live state and drift of the deployed revision in `env`."""
        api = api_client_for(env.cluster, pool_size=4)
        try:
            live = read_snapshot(api, namespaces=list(env.namespaces), include_policies=True)
        finally:
            api.close()
        findings = lint(load_cluster(live), env.namespaces)
        return EnvironmentReview(env.name, tuple(findings), tuple(self._drift(env, now)))

    def _drift(self, env: Environment, now: datetime) -> list[DriftItem]:
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
        return drift_items(plan, env.name, now)

    def history(self, start: datetime, end: datetime) -> tuple[list[str], list[str], int, int]:
        """(opened, closed, rollouts, rollbacks) from the store for [start, end)."""

        def within(at: datetime) -> bool:
            return start <= at < end

        rollouts = [r for r in self._store.list_rollouts(limit=_HISTORY) if within(r.created_at)]
        rolled_back = {
            e.rollout_id
            for e in self._store.events(kinds=["rollback"], limit=_HISTORY)
            if within(e.at) and e.rollout_id is not None
        }
        reached: dict[str, None] = {}
        for event in self._store.events(kinds=["state.changed"], limit=_HISTORY):
            if not within(event.at) or event.rollout_id is None:
                continue
            to_state = event.details.get("to")
            if to_state == State.PRODUCTION_APPLIED.value:
                reached[event.rollout_id] = None
            elif to_state in FAILED_STATES:
                rolled_back.add(event.rollout_id)
        diffs = []
        for rollout_id in reached:
            record = self._store.get_rollout(rollout_id)
            if record is not None:
                diffs.append(record.diff)
        opened, closed = net_connectivity(diffs)
        return opened, closed, len(rollouts), len(rolled_back)

    def gather(self, start: datetime, end: datetime) -> ReviewDigest:
        """The digest of [start, end) with the clusters as they are now."""
        now = self._clock()
        reviews = [self.review_environment(env, now) for env in self._settings.environments]
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
            _schedule(settings)  # fail at startup, not on the 1st of next month
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
