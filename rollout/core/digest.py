"""The review digest, pure: when it is due and what it says.

PURE: stdlib and rollout.core only, no I/O, no clock reads (`now` is a
parameter). `rollout.digest_job` gathers the inputs (the store, the
clusters) and sends the result; everything it decides is decided here:

* when: :func:`next_digest_at` and :func:`latest_digest_at` on the digest's
  cron schedule in its timezone, :func:`digest_period` from the periods
  already sent;
* what: :func:`assemble_digest` from per-environment reviews (lint findings
  and :func:`drift_items`) and the period's history (:func:`net_connectivity`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from rollout.core.changes import Action, Plan
from rollout.core.cron import CronSchedule, parse_cron
from rollout.core.events import DriftItem, ReviewDigest
from rollout.core.objects import NAMESPACE, ObjectKey
from rollout.findings import LintFinding

__all__ = [
    "DEFAULT_PERIOD",
    "MISSED_GRACE",
    "NO_BASELINE",
    "SELECTS_NOTHING",
    "DigestSchedule",
    "EnvironmentReview",
    "assemble_digest",
    "connection_line",
    "digest_period",
    "digest_schedule",
    "drift_items",
    "latest_digest_at",
    "net_connectivity",
    "next_digest_at",
]

DEFAULT_PERIOD = timedelta(days=31)
MISSED_GRACE = timedelta(days=1)
NO_BASELINE = frozenset({"NP001", "NP002"})  # no ingress / egress default-deny
SELECTS_NOTHING = "NP005"
_SEARCH_YEARS = 9  # "0 9 29 2 *" fires once in 4 (at worst 8) years


class DigestSchedule(Protocol):
    """When digests are sent (`notifications.digest` in the configuration)."""

    @property
    def schedule(self) -> str: ...  # a 5-field cron expression

    @property
    def timezone(self) -> str: ...  # an IANA timezone name


# --- when ------------------------------------------------------------------------------


def digest_schedule(settings: DigestSchedule) -> tuple[CronSchedule, ZoneInfo]:
    """The parsed schedule and its zone; ConfigError for an invalid `schedule`."""
    return parse_cron(settings.schedule), ZoneInfo(settings.timezone)


def next_digest_at(settings: DigestSchedule, after: datetime) -> datetime | None:
    """The first scheduled instant strictly after `after` (aware UTC), None if never.

    Cron fields are wall-clock times in `settings.timezone` (DST as in
    `rollout.core.cron`). ConfigError for an invalid `schedule`.
    """
    schedule, tz = digest_schedule(settings)
    start = after + timedelta(microseconds=1)
    for year in range(_SEARCH_YEARS):
        low = start + timedelta(days=366 * year)
        for instant in schedule.instants(tz, low, low + timedelta(days=366)):
            return instant
    return None


def latest_digest_at(
    settings: DigestSchedule, now: datetime, within: timedelta = MISSED_GRACE
) -> datetime | None:
    """The last scheduled instant in `(now - within, now]`, None if there is none."""
    schedule, tz = digest_schedule(settings)
    tick = timedelta(microseconds=1)
    found = list(schedule.instants(tz, now - within + tick, now + tick))
    return found[-1] if found else None


def digest_period(sent_ends: Iterable[datetime], end: datetime) -> tuple[datetime, datetime] | None:
    """(start, end) of the digest ending at `end`, given the ends of those already sent.

    The start is the latest sent end, else DEFAULT_PERIOD before `end`; None
    when a digest already reached `end`.
    """
    ends = list(sent_ends)
    if any(e >= end for e in ends):
        return None
    return (max(ends) if ends else end - DEFAULT_PERIOD), end


# --- what ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvironmentReview:
    """What one environment's cluster shows: its lint findings and its drift."""

    environment: str
    findings: tuple[LintFinding, ...]
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
    findings: dict[LintFinding, list[str]] = {}
    for review in reviews:
        env = review.environment
        for f in review.findings:
            if f.id in NO_BASELINE:
                namespace = f.object.partition("/")[2]
                if env not in baseline.setdefault(namespace, []):
                    baseline[namespace].append(env)
            if f.id == SELECTS_NOTHING:
                nothing.setdefault(_policy_name(f.object), []).append(env)
            where = findings.setdefault(replace(f, related=(), environments=()), [])
            if env not in where:
                where.append(env)
    count = len(reviews)
    lint_findings = tuple(
        f if len(envs) == count else replace(f, environments=tuple(envs))
        for f, envs in findings.items()
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
    """`payments/api -> ledger/db TCP 5432` (or `TCP 8447-8450`) from a stored diff's connection."""
    ports = connection.get("ports") or connection.get("port", "?")  # `ports` covers a range
    return (
        f"{connection.get('from', '?')} -> {connection.get('to', '?')} "
        f"{connection.get('protocol', 'TCP')} {ports}"
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
