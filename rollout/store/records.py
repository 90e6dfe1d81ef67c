"""What the store hands out and takes in: plain frozen dataclasses.

Callers never see ORM objects or sessions. Every datetime is timezone-aware
UTC. JSON values are whatever `json.dumps` accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

JsonValue = Any
"""Anything `json.dumps` accepts (kept loose: plans and diffs are nested)."""

ARTIFACTS = ("plan", "diff", "smoke", "lint", "risk")
"""The JSON columns of a rollout, set with `Store.set_artifacts` or on a transition."""

Channel = Literal["slack", "github", "cli", "api", "dashboard", "system"]
Decision = Literal["approve", "reject"]
OutboxStatus = Literal["pending", "delivered", "dead"]
DeploymentStatus = Literal["applied", "rolled_back", "failed"]


@dataclass(frozen=True)
class RolloutRecord:
    """One commit's journey through the promotion chain; `environment` is where it is."""

    id: str
    environment: str
    commit_sha: str
    previous_sha: str | None
    author: str
    author_email: str
    message: str
    state: str
    reason: str | None
    superseded_by: str | None
    created_at: datetime
    updated_at: datetime
    plan: JsonValue = None
    diff: JsonValue = None
    smoke: JsonValue = None
    lint: JsonValue = None
    risk: JsonValue = None


@dataclass(frozen=True)
class StageEvent:
    """One line of the append-only audit log."""

    id: int
    rollout_id: str | None
    environment: str | None
    kind: str
    actor: str
    channel: str
    request_id: str | None
    details: Mapping[str, JsonValue]
    at: datetime


@dataclass(frozen=True)
class ApprovalRecord:
    id: int
    rollout_id: str
    environment: str
    commit_sha: str
    member: str
    channel: str
    request_id: str | None
    decision: str
    reason: str | None
    at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class OutboxItem:
    """A notification to enqueue; `rollout_id` defaults to the transition's rollout."""

    channel: str
    event: str
    idempotency_key: str
    payload: Mapping[str, JsonValue] = field(default_factory=dict)
    rollout_id: str | None = None


@dataclass(frozen=True)
class OutboxRecord:
    id: int
    rollout_id: str | None
    channel: str
    event: str
    idempotency_key: str
    payload: Mapping[str, JsonValue]
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    external_ref: str | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class DeploymentRecord:
    id: int
    environment: str
    commit_sha: str
    content_hash: str
    rollout_id: str | None
    applied_at: datetime
    status: str


@dataclass(frozen=True)
class FleetClusterRecord:
    """One cluster of a fleet environment in one rollout (states: rollout.core.waves)."""

    id: int
    rollout_id: str
    environment: str
    cluster: str
    wave: str
    wave_index: int
    position: int
    state: str
    commit_sha: str
    previous_sha: str | None
    failure: str | None
    details: Any
    created_at: datetime
    updated_at: datetime
    verified_at: datetime | None


@dataclass(frozen=True)
class HoldRecord:
    environment: str
    held: bool
    actor: str
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class TokenRecord:
    id: int
    member: str
    token_hash: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class Move:
    """A compare-and-set state change: from one of `from_states` to `to_state`.

    Its `state.changed` event names `actor`/`channel`/`request_id` and carries
    `details`; `outbox` rows commit with it.
    """

    from_states: tuple[str, ...]
    to_state: str
    actor: str
    channel: str
    reason: str | None = None
    details: Mapping[str, JsonValue] = field(default_factory=dict)
    request_id: str | None = None
    environment: str | None = None
    superseded_by: str | None = None
    artifacts: Mapping[str, JsonValue] = field(default_factory=dict)
    outbox: tuple[OutboxItem, ...] = ()


QuorumRule = Callable[[list[ApprovalRecord]], Move | None]
"""Every decision recorded for a stage -> the move quorum makes, or None (not reached)."""


@dataclass(frozen=True)
class QuorumResult:
    added: bool
    """False: the member had already decided (and it has not expired)."""
    moved: RolloutRecord | None
    """The rollout after the move, when this approval completed quorum and made it."""
    decisions: list[ApprovalRecord]
    """Every decision of the stage as the move saw them."""
