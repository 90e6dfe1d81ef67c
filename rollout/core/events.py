"""The versioned notification event schema (pure: stdlib only, no clock reads).

Every stage of a rollout is announced as one :class:`RolloutEvent`. Its JSON
form (:func:`event_to_json`) is the body of a generic webhook delivery and the
payload stored in the outbox; :func:`event_from_json` reads it back, so a
delivery worker started after a restart renders exactly what was enqueued.

Compatibility rule for ``schema_version`` 1: fields may be added, never
removed or re-typed; absent sections are ``null``. A breaking change bumps
the version. ``docs/notifications.md`` documents every field with examples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from rollout.core.fleet_status import FleetStatus, fleet_from_json, fleet_to_json
from rollout.findings import LintFinding, findings_from_json

SCHEMA_VERSION = 1


class EventType(StrEnum):
    """The 15 event names; the value is the wire name."""

    ROLLOUT_DETECTED = "rollout.detected"
    ROLLOUT_VALIDATED = "rollout.validated"
    STAGING_APPLIED = "staging.applied"
    SMOKE_PASSED = "smoke.passed"
    SMOKE_FAILED = "smoke.failed"
    STAGING_ROLLED_BACK = "staging.rolled_back"
    APPROVAL_REQUESTED = "approval.requested"
    APPROVAL_GRANTED = "approval.granted"
    ROLLOUT_REJECTED = "rollout.rejected"
    PRODUCTION_SCHEDULED = "production.scheduled"
    PRODUCTION_APPLIED = "production.applied"
    PRODUCTION_FAILED = "production.failed"
    WAVE_PASSED = "wave.passed"
    """A wave of a fleet environment passed (`sequence` is the wave's name)."""
    DRIFT_DETECTED = "drift.detected"
    REVIEW_DIGEST = "review.digest"


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author: str
    message: str = ""

    @property
    def short_sha(self) -> str:
        return self.sha[:8]

    @property
    def title(self) -> str:
        """The first line of the commit message."""
        return self.message.strip().splitlines()[0] if self.message.strip() else ""


@dataclass(frozen=True)
class DiffSummary:
    """The connectivity diff: how many flows open and close, and the riskiest lines."""

    opened: int
    closed: int
    riskiest: tuple[str, ...] = ()
    observed: str | None = None
    """Observed flows the change would cut, in one sentence (None: none, or no replay)."""
    fleet: str | None = None
    """A fleet: which clusters were analysed and how they differ (None: one cluster)."""


@dataclass(frozen=True)
class PlanSummary:
    """What an apply does: objects created or changed, and objects pruned."""

    apply: tuple[str, ...] = ()
    prune: tuple[str, ...] = ()


@dataclass(frozen=True)
class SmokeSummary:
    passed: int
    failed: int
    failures: tuple[str, ...] = ()
    node: str = ""  # a development cluster's node: "real" or "simulated" ("" unsaid)


@dataclass(frozen=True)
class ApprovalSummary:
    """Approvals so far (member names) and who is still needed (human-readable)."""

    required: int
    approved_by: tuple[str, ...] = ()
    still_needed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Window:
    """A half-open interval [start, end) in aware UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class DriftItem:
    environment: str
    object: str
    change: str
    detected_at: datetime


@dataclass(frozen=True)
class ReviewDigest:
    """The monthly review of policy gaps; gathered by the service, rendered by channels."""

    period_start: datetime
    period_end: datetime
    namespaces_without_baseline: tuple[str, ...] = ()
    lint_findings: tuple[LintFinding, ...] = ()
    policies_selecting_nothing: tuple[str, ...] = ()
    connectivity_opened: tuple[str, ...] = ()
    connectivity_closed: tuple[str, ...] = ()
    rollouts: int = 0
    rollbacks: int = 0
    drift: tuple[DriftItem, ...] = ()

    def findings_by_severity(self) -> dict[str, int]:
        """Lint finding counts, most severe first (error, warning, info, then others)."""
        order = {"error": 0, "warning": 1, "info": 2}
        counts: dict[str, int] = {}
        for finding in self.lint_findings:
            counts[finding.severity] = counts.get(finding.severity, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (order.get(kv[0], 9), kv[0])))


@dataclass(frozen=True)
class RolloutEvent:
    """One stage of a rollout (or a rollout-less event: drift, the digest).

    ``sequence`` distinguishes repeated events of the same type for the same
    subject (the second ``approval.granted``, a later ``drift.detected``); it
    becomes part of the idempotency key of each delivery.
    """

    type: EventType
    occurred_at: datetime
    rollout_id: str | None = None
    environment: str | None = None
    commit: CommitInfo | None = None
    diff: DiffSummary | None = None
    plan: PlanSummary | None = None
    smoke: SmokeSummary | None = None
    approvals: ApprovalSummary | None = None
    next_window: Window | None = None
    reason: str | None = None
    actor: str | None = None
    url: str | None = None
    sequence: str | None = None
    drift: tuple[DriftItem, ...] = ()
    digest: ReviewDigest | None = None
    lint: tuple[LintFinding, ...] | None = None
    """The revision's lint findings where it goes next (from the approval request on)."""
    fleet: FleetStatus | None = None
    """A fleet environment: each cluster's revision, the waves, the next wave's window."""
    schema_version: int = field(default=SCHEMA_VERSION)

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None:
            raise ValueError("RolloutEvent.occurred_at must be timezone-aware")
        if self.rollout_id is None and self.sequence is None:
            raise ValueError(f"{self.type} without a rollout_id needs a sequence")
        if self.type is EventType.REVIEW_DIGEST and self.digest is None:
            raise ValueError("review.digest needs its digest")

    @property
    def subject(self) -> str:
        """What the event is about: the rollout id, else the environment, else 'global'."""
        return self.rollout_id or self.environment or "global"


# --- JSON -------------------------------------------------------------------------


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_ts(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no zone")
    return parsed.astimezone(UTC)


def _drift_json(item: DriftItem) -> dict[str, Any]:
    return {
        "environment": item.environment,
        "object": item.object,
        "change": item.change,
        "detected_at": _ts(item.detected_at),
    }


def _drift_from(data: Mapping[str, Any]) -> DriftItem:
    return DriftItem(
        environment=data["environment"],
        object=data["object"],
        change=data["change"],
        detected_at=_parse_ts(data["detected_at"]),
    )


def digest_to_json(digest: ReviewDigest) -> dict[str, Any]:
    return {
        "period": {"start": _ts(digest.period_start), "end": _ts(digest.period_end)},
        "namespaces_without_baseline": list(digest.namespaces_without_baseline),
        "lint": {
            "by_severity": digest.findings_by_severity(),
            "findings": [f.to_json() for f in digest.lint_findings],
        },
        "policies_selecting_nothing": list(digest.policies_selecting_nothing),
        "connectivity": {
            "opened": list(digest.connectivity_opened),
            "closed": list(digest.connectivity_closed),
        },
        "rollouts": digest.rollouts,
        "rollbacks": digest.rollbacks,
        "drift": [_drift_json(d) for d in digest.drift],
    }


def digest_from_json(data: Mapping[str, Any]) -> ReviewDigest:
    return ReviewDigest(
        period_start=_parse_ts(data["period"]["start"]),
        period_end=_parse_ts(data["period"]["end"]),
        namespaces_without_baseline=tuple(data.get("namespaces_without_baseline", ())),
        lint_findings=findings_from_json(data.get("lint")),
        policies_selecting_nothing=tuple(data.get("policies_selecting_nothing", ())),
        connectivity_opened=tuple(data.get("connectivity", {}).get("opened", ())),
        connectivity_closed=tuple(data.get("connectivity", {}).get("closed", ())),
        rollouts=int(data.get("rollouts", 0)),
        rollbacks=int(data.get("rollbacks", 0)),
        drift=tuple(_drift_from(d) for d in data.get("drift", ())),
    )


def event_to_json(event: RolloutEvent) -> dict[str, Any]:
    """The wire form (schema_version 1): every key present, absent sections null."""
    return {
        "schema_version": event.schema_version,
        "type": str(event.type),
        "occurred_at": _ts(event.occurred_at),
        "sequence": event.sequence,
        "rollout": (
            {"id": event.rollout_id, "environment": event.environment, "url": event.url}
            if event.rollout_id is not None
            else None
        ),
        "environment": event.environment,
        "commit": (
            {
                "sha": event.commit.sha,
                "author": event.commit.author,
                "message": event.commit.message,
            }
            if event.commit
            else None
        ),
        "diff": (
            {
                "opened": event.diff.opened,
                "closed": event.diff.closed,
                "riskiest": list(event.diff.riskiest),
                **({"observed": event.diff.observed} if event.diff.observed else {}),
                **({"fleet": event.diff.fleet} if event.diff.fleet else {}),
            }
            if event.diff
            else None
        ),
        "plan": (
            {"apply": list(event.plan.apply), "prune": list(event.plan.prune)}
            if event.plan
            else None
        ),
        "smoke": (
            {
                "passed": event.smoke.passed,
                "failed": event.smoke.failed,
                "failures": list(event.smoke.failures),
                **({"node": event.smoke.node} if event.smoke.node else {}),
            }
            if event.smoke
            else None
        ),
        "approvals": (
            {
                "required": event.approvals.required,
                "approved_by": list(event.approvals.approved_by),
                "still_needed": list(event.approvals.still_needed),
            }
            if event.approvals
            else None
        ),
        "next_window": (
            {"start": _ts(event.next_window.start), "end": _ts(event.next_window.end)}
            if event.next_window
            else None
        ),
        "reason": event.reason,
        "actor": event.actor,
        "drift": [_drift_json(d) for d in event.drift],
        "digest": digest_to_json(event.digest) if event.digest else None,
        "lint": [f.to_json() for f in event.lint] if event.lint is not None else None,
        "fleet": fleet_to_json(event.fleet) if event.fleet is not None else None,
    }


def event_from_json(data: Mapping[str, Any]) -> RolloutEvent:
    """Read back :func:`event_to_json`; ValueError on an unknown version or type."""
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ValueError(f"unsupported event schema_version {version!r} (this is {SCHEMA_VERSION})")
    rollout = data.get("rollout") or {}
    commit = data.get("commit")
    diff = data.get("diff")
    plan = data.get("plan")
    smoke = data.get("smoke")
    approvals = data.get("approvals")
    window = data.get("next_window")
    digest = data.get("digest")
    return RolloutEvent(
        type=EventType(data["type"]),
        occurred_at=_parse_ts(data["occurred_at"]),
        rollout_id=rollout.get("id"),
        environment=data.get("environment"),
        commit=CommitInfo(commit["sha"], commit["author"], commit.get("message", ""))
        if commit
        else None,
        diff=DiffSummary(
            diff["opened"],
            diff["closed"],
            tuple(diff.get("riskiest", ())),
            diff.get("observed"),
            diff.get("fleet"),
        )
        if diff
        else None,
        plan=PlanSummary(tuple(plan.get("apply", ())), tuple(plan.get("prune", ())))
        if plan
        else None,
        smoke=SmokeSummary(
            smoke["passed"],
            smoke["failed"],
            tuple(smoke.get("failures", ())),
            str(smoke.get("node") or ""),
        )
        if smoke
        else None,
        approvals=ApprovalSummary(
            approvals["required"],
            tuple(approvals.get("approved_by", ())),
            tuple(approvals.get("still_needed", ())),
        )
        if approvals
        else None,
        next_window=Window(_parse_ts(window["start"]), _parse_ts(window["end"]))
        if window
        else None,
        reason=data.get("reason"),
        actor=data.get("actor"),
        url=rollout.get("url"),
        sequence=data.get("sequence"),
        drift=tuple(_drift_from(d) for d in data.get("drift", ())),
        digest=digest_from_json(digest) if digest else None,
        lint=findings_from_json({"findings": data["lint"]})
        if data.get("lint") is not None
        else None,
        fleet=fleet_from_json(data["fleet"]) if data.get("fleet") else None,
    )
