"""Approvals: one decision per member and stage, renewable once it has expired."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rollout.store.base import StoreBase, check_channel, rowcount
from rollout.store.convert import approval_record
from rollout.store.records import ApprovalRecord, JsonValue, OutboxItem
from rollout.store.tables import ApprovalRow

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
            inserted = self._insert_new(
                session,
                ApprovalRow,
                ("rollout_id", "environment", "member"),
                rollout_id=rollout_id,
                environment=environment,
                member=member,
                **values,
            )
            details: dict[str, JsonValue] = {"commit_sha": commit_sha, "reason": reason}
            if not inserted:
                replaced = _replace_expired(session, rollout_id, environment, member, values, now)
                if replaced is None:
                    return False
                details["replaces"] = replaced
            self._event(
                session,
                "approval.granted" if decision == "approve" else "approval.rejected",
                rollout_id=rollout_id,
                environment=environment,
                actor=member,
                channel=channel,
                request_id=request_id,
                details=details,
                at=now,
            )
            self._enqueue(session, outbox, rollout_id, now)
            return True

    def approvals_for(self, rollout_id: str, environment: str) -> list[ApprovalRecord]:
        query = (
            select(ApprovalRow)
            .where(ApprovalRow.rollout_id == rollout_id, ApprovalRow.environment == environment)
            .order_by(ApprovalRow.at, ApprovalRow.id)
        )
        with self._read() as session:
            return [approval_record(row) for row in session.scalars(query)]


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
