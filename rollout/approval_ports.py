"""What the approvals service is given and what it returns.

The store it works on, the clock and the notifications hook it is built with,
and the `Outcome` each request gets back (phrased for the person who sent it).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from rollout.core.approvals import ApprovalStatus
from rollout.store.records import (
    ApprovalRecord,
    FleetClusterRecord,
    HoldRecord,
    OutboxItem,
    QuorumResult,
    QuorumRule,
    RolloutRecord,
    StageEvent,
)

Clock = Callable[[], datetime]
"""Returns the current aware UTC time; injected so tests control expiry."""


class ApprovalStore(Protocol):
    """The part of `rollout.store.Store` the approvals service uses."""

    def get_rollout(self, rollout_id: str) -> RolloutRecord | None: ...

    def list_rollouts(
        self,
        environment: str | None = None,
        states: Collection[str] | None = None,
        limit: int = 50,
        *,
        commit_sha: str | None = None,
    ) -> list[RolloutRecord]: ...

    def transition(
        self,
        rollout_id: str,
        from_states: Collection[str],
        to_state: str,
        *,
        actor: str,
        channel: str,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        outbox: Sequence[OutboxItem] = (),
    ) -> RolloutRecord | None: ...

    def record_event(
        self,
        kind: str,
        *,
        actor: str,
        channel: str,
        rollout_id: str | None = None,
        environment: str | None = None,
        request_id: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> StageEvent: ...

    def events(
        self,
        *,
        rollout_id: str | None = None,
        environment: str | None = None,
        kinds: Collection[str] | None = None,
        limit: int | None = 200,
    ) -> list[StageEvent]: ...

    def add_approval(
        self,
        rollout_id: str,
        environment: str,
        commit_sha: str,
        member: str,
        *,
        channel: str,
        decision: str = "approve",
        request_id: str | None = None,
        reason: str | None = None,
        expires_at: datetime | None = None,
    ) -> bool: ...

    def approve_towards_quorum(
        self,
        rollout_id: str,
        environment: str,
        commit_sha: str,
        member: str,
        *,
        channel: str,
        request_id: str | None = None,
        expires_at: datetime | None = None,
        quorum: QuorumRule,
    ) -> QuorumResult: ...

    def approvals_for(self, rollout_id: str, environment: str) -> list[ApprovalRecord]: ...

    def fleet_clusters(
        self, rollout_id: str, environment: str | None = None
    ) -> list[FleetClusterRecord]: ...

    def set_hold(
        self,
        environment: str,
        held: bool,
        actor: str,
        reason: str | None = None,
        *,
        channel: str = "cli",
        request_id: str | None = None,
    ) -> HoldRecord: ...

    def hold_of(self, environment: str) -> HoldRecord | None: ...


@dataclass(frozen=True)
class Outcome:
    """What a request did, phrased for the person who sent it."""

    message: str
    rollout_id: str | None = None
    environment: str | None = None
    status: ApprovalStatus | None = None
    quorum_reached: bool = False
    """True for the one request whose approval moved the rollout to `approved`."""
    repeated: bool = False
    """True when the member had already decided on this stage: nothing new was recorded."""


NotificationsFor = Callable[[RolloutRecord, str, Mapping[str, Any]], list[OutboxItem]]
"""(rollout as it will be once the transition commits, `EventType` value, details) -> rows."""
