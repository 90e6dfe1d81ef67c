"""Approvals: one decision per member and stage, renewable once it has expired."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from rollout.errors import StoreError
from rollout.store.base import StoreBase, check_channel, rowcount
from rollout.store.convert import approval_record
from rollout.store.records import (
    ApprovalRecord,
    JsonValue,
    OutboxItem,
    QuorumResult,
    QuorumRule,
)
from rollout.store.tables import ApprovalRow, RolloutRow

DECISIONS = frozenset({"approve", "reject"})


class Approvals(StoreBase):
    """The `approvals` table (unique per rollout, environment and member)."""

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
        outbox: Sequence[OutboxItem] = (),
    ) -> bool:
        """Record `member`'s decision for this stage; False if they already decided.

        A recorded decision whose `expires_at` has come (by the store's clock;
        the instant of expiry counts, as in `rollout.core.approvals`) is
        replaced in the same transaction, so an expired approval can be
        renewed; the event's details name the decision it `replaces`. A
        decision that has not expired, or never expires (no `expires_at`), is
        kept and False returned. Writes an `approval.granted` or
        `approval.rejected` event and the outbox rows with the decision.
        """
        check_channel(channel)
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {sorted(DECISIONS)}, got {decision!r}")
        now = self._now()
        values: dict[str, Any] = {
            "commit_sha": commit_sha,
            "channel": channel,
            "request_id": request_id,
            "decision": decision,
            "reason": reason,
            "at": now,
            "expires_at": expires_at,
        }
        with self._write() as session:
            return self._record_decision(
                session, rollout_id, environment, member, values, outbox, now
            )

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
    ) -> QuorumResult:
        """Record `member`'s approval and, if it completes quorum, make the move: one transaction.

        The rollout's row is locked first, so an engine poll or another
        approval of the same rollout waits for this one: the approval that
        completes quorum is always the one that moves the rollout, and its
        `state.changed` event is attributed to its approver. `quorum` is
        called inside the transaction with every decision recorded for the
        stage (this one included) and returns the move, or None while quorum
        is not reached. Recording works as `add_approval` (False when already
        decided); the move is tried either way.
        """
        check_channel(channel)
        now = self._now()
        values: dict[str, Any] = {
            "commit_sha": commit_sha,
            "channel": channel,
            "request_id": request_id,
            "decision": "approve",
            "reason": None,
            "at": now,
            "expires_at": expires_at,
        }
        with self._write() as session:
            if session.get(RolloutRow, rollout_id, with_for_update=True) is None:
                raise StoreError(f"no rollout {rollout_id!r} in the state store")
            added = self._record_decision(session, rollout_id, environment, member, values, (), now)
            decisions = [
                approval_record(row)
                for row in session.scalars(_decisions_query(rollout_id, environment))
            ]
            move = quorum(decisions)
            moved = (
                self._compare_and_set(session, rollout_id, move, now) if move is not None else None
            )
            return QuorumResult(added, moved, decisions)

    def _record_decision(
        self,
        session: Session,
        rollout_id: str,
        environment: str,
        member: str,
        values: dict[str, Any],
        outbox: Sequence[OutboxItem],
        now: datetime,
    ) -> bool:
        inserted = self._insert_new(
            session,
            ApprovalRow,
            ("rollout_id", "environment", "member"),
            rollout_id=rollout_id,
            environment=environment,
            member=member,
            **values,
        )
        details: dict[str, JsonValue] = {
            "commit_sha": values["commit_sha"],
            "reason": values["reason"],
        }
        if not inserted:
            replaced = _replace_expired(session, rollout_id, environment, member, values, now)
            if replaced is None:
                return False
            details["replaces"] = replaced
        self._event(
            session,
            "approval.granted" if values["decision"] == "approve" else "approval.rejected",
            rollout_id=rollout_id,
            environment=environment,
            actor=member,
            channel=values["channel"],
            request_id=values["request_id"],
            details=details,
            at=now,
        )
        self._enqueue(session, outbox, rollout_id, now)
        return True

    def approvals_for(self, rollout_id: str, environment: str) -> list[ApprovalRecord]:
        with self._read() as session:
            query = _decisions_query(rollout_id, environment)
            return [approval_record(row) for row in session.scalars(query)]


def _decisions_query(rollout_id: str, environment: str) -> Select[ApprovalRow]:
    return (
        select(ApprovalRow)
        .where(ApprovalRow.rollout_id == rollout_id, ApprovalRow.environment == environment)
        .order_by(ApprovalRow.at, ApprovalRow.id)
    )


def _replace_expired(
    session: Session,
    rollout_id: str,
    environment: str,
    member: str,
    values: dict[str, Any],
    now: datetime,
) -> dict[str, JsonValue] | None:
    """Overwrite the member's decision if it has expired; what it was, or None if kept."""
    row = session.scalars(
        select(ApprovalRow)
        .where(
            ApprovalRow.rollout_id == rollout_id,
            ApprovalRow.environment == environment,
            ApprovalRow.member == member,
        )
        .with_for_update()
    ).first()
    if row is None or row.expires_at is None or row.expires_at > now:
        return None
    replaced: dict[str, JsonValue] = {
        "decision": row.decision,
        "commit_sha": row.commit_sha,
        "channel": row.channel,
        "at": row.at.isoformat(),
        "expires_at": row.expires_at.isoformat(),
    }
    # Compare-and-set on the old expiry: two renewals at once replace it once.
    result = session.execute(
        update(ApprovalRow)
        .where(ApprovalRow.id == row.id, ApprovalRow.expires_at == row.expires_at)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return replaced if rowcount(result) == 1 else None
