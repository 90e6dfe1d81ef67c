"""The announcer: a rollout event as the outbox rows of every subscribed channel."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from rollout.config.schema import Settings
from rollout.core.approvals import ApprovalStatus
from rollout.core.events import (
    ApprovalSummary,
    DiffSummary,
    EventType,
    RolloutEvent,
    SmokeSummary,
)
from rollout.core.events import CommitInfo as EventCommit
from rollout.core.events import Window as EventWindow
from rollout.core.fleet_status import FleetStatus
from rollout.engine import Announcer
from rollout.engine.fleet_analysis import fleet_analysis_text
from rollout.findings import findings_from_json
from rollout.fleet_view import fleet_status_of
from rollout.flows import cut_sentence
from rollout.notify.outbox import build_outbox_items, channels_for
from rollout.ports import Clock
from rollout.smoke.results import result_from_dict, shared_causes
from rollout.store.records import FleetClusterRecord, RolloutRecord
from rollout.store.records import OutboxItem as StoreOutboxItem


def announcer(
    settings: Settings,
    clock: Clock,
    approval_status: Callable[[RolloutRecord], ApprovalStatus | None] | None = None,
    fleet_rows: Callable[[str], Sequence[FleetClusterRecord]] | None = None,
) -> Announcer:
    """Turn (rollout, event, details) into the outbox rows of every subscribed channel.

    `approval_status` gives who approved and who is still needed (the Slack
    buttons are drawn while someone is); without it, only the configured
    requirement is known. `fleet_rows(rollout_id)` gives the recorded cluster
    rows: an event of a fleet environment then carries the fleet's status
    (each cluster's revision, the waves, the next wave's window). A
    `wave.passed` event names its wave in `details["wave"]`.
    """

    def announce(
        rollout: RolloutRecord, event: str, details: Mapping[str, Any]
    ) -> list[StoreOutboxItem]:
        try:
            kind = EventType(event)
        except ValueError:
            return []  # an internal event no channel subscribes to
        env = settings.environment(rollout.environment)
        scheduled = str(details.get("at", "")) if kind is EventType.PRODUCTION_SCHEDULED else ""
        wave = str(details.get("wave", "")) if kind is EventType.WAVE_PASSED else ""
        base = (settings.server.public_url or "").rstrip("/")
        rollout_event = RolloutEvent(
            type=kind,
            occurred_at=clock(),
            rollout_id=rollout.id,
            environment=rollout.environment,
            commit=EventCommit(rollout.commit_sha, rollout.author, rollout.message),
            diff=_diff_summary(rollout.diff),
            lint=findings_from_json(rollout.lint) if _linted(rollout.lint) else None,
            smoke=_smoke_summary(rollout.smoke, rollout.environment),
            next_window=_window(scheduled),
            approvals=_approvals(settings, rollout, kind, approval_status),
            reason=rollout.reason or _text(details.get("summary")),
            actor=_text(details.get("actor")),
            url=f"{base}/api/v1/rollouts/{rollout.id}" if base else None,
            sequence=scheduled or wave or None,
            fleet=_fleet(settings, rollout, fleet_rows, clock),
        )
        channels = channels_for(kind, settings.notifications, env.notify)
        return [
            StoreOutboxItem(i.channel, i.event, i.idempotency_key, i.payload, i.rollout_id)
            for i in build_outbox_items(rollout_event, channels)
        ]

    return announce


def _approvals(
    settings: Settings,
    rollout: RolloutRecord,
    kind: EventType,
    approval_status: Callable[[RolloutRecord], ApprovalStatus | None] | None,
) -> ApprovalSummary | None:
    rules = settings.environment(rollout.environment).approvals
    if rules is None:
        return None
    status = approval_status(rollout) if approval_status is not None else None
    if status is not None:
        pending = () if status.granted else (status.summary(),)
        if rollout.state != "awaiting_approval":
            pending = ()
        return ApprovalSummary(status.required, status.approvers, pending)
    if kind is not EventType.APPROVAL_REQUESTED:
        return ApprovalSummary(rules.required)
    who = ", ".join([*rules.members, *(f"group {g}" for g in rules.groups)]) or "the team"
    return ApprovalSummary(rules.required, (), (f"{rules.required} approval(s) from {who}",))


def _fleet(
    settings: Settings,
    rollout: RolloutRecord,
    fleet_rows: Callable[[str], Sequence[FleetClusterRecord]] | None,
    clock: Clock,
) -> FleetStatus | None:
    if fleet_rows is None:
        return None
    rows = [r for r in fleet_rows(rollout.id) if r.environment == rollout.environment]
    return fleet_status_of(settings, rollout.environment, rows, clock())


def _linted(lint: Any) -> bool:
    return isinstance(lint, Mapping) and isinstance(lint.get("findings"), list)


def _text(value: Any) -> str | None:
    return str(value) if value else None


def _diff_summary(diff: Any) -> DiffSummary | None:
    if not isinstance(diff, Mapping) or "opened" not in diff:
        return None
    opened, closed = diff.get("opened", ()), diff.get("closed", ())
    return DiffSummary(
        len(opened) if isinstance(opened, list) else int(opened),
        len(closed) if isinstance(closed, list) else int(closed),
        tuple(diff.get("riskiest", ())),
        cut_sentence(diff["observed_flows"]) if "observed_flows" in diff else None,
        fleet_analysis_text(diff) or None,
    )


def _smoke_summary(smoke: Any, environment: str) -> SmokeSummary | None:
    entry = smoke.get(environment) if isinstance(smoke, Mapping) else None
    if not isinstance(entry, Mapping):
        return None
    report = entry.get("report") or {}
    counts = report.get("counts") or {}
    results = [result_from_dict(r) for r in report.get("results", ()) if isinstance(r, Mapping)]
    # A cause shared by several checks is one line, not one per check.
    causes = shared_causes(results)
    failures = tuple(
        f"{sum(1 for r in results if r.why_not_run == text)} checks not run: {text}"
        for text in causes
        if any(r.outcome in ("failed", "error") and r.why_not_run == text for r in results)
    ) + tuple(
        ("static pre-check " if r.kind == "precheck" else "") + f"{r.name}: {r.message}"
        for r in results
        if r.outcome in ("failed", "error") and r.why_not_run not in causes
    )
    # Counts are per live check; pre-check rows appear only among the failures.
    passed = int(counts.get("passed", 0))
    failed = int(counts.get("failed", 0)) + int(counts.get("error", 0))
    return SmokeSummary(passed, failed, failures, str(report.get("node") or ""))


def _window(at: str) -> EventWindow | None:
    if not at:
        return None
    start = datetime.fromisoformat(at)
    return EventWindow(start, start + timedelta(minutes=30))
