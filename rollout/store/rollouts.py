"""Rollouts and the audit log: create, read, compare-and-set transitions, counts."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy import func, select

from rollout.errors import StoreError
from rollout.store.base import (
    StoreBase,
    check_channel,
    checked_artifacts,
    state_list,
    utc,
)
from rollout.store.convert import event_record, rollout_record
from rollout.store.records import JsonValue, Move, OutboxItem, RolloutRecord, StageEvent
from rollout.store.tables import RolloutRow, StageEventRow

log = logging.getLogger(__name__)


class Rollouts(StoreBase):
    """The `rollouts` and `stage_events` tables."""

    def create_rollout(
        self,
        *,
        environment: str,
        commit_sha: str,
        author: str,
        author_email: str,
        message: str,
        state: str,
        previous_sha: str | None = None,
        actor: str = "system",
        channel: str = "system",
        request_id: str | None = None,
        details: Mapping[str, JsonValue] | None = None,
        outbox: Sequence[OutboxItem] = (),
        rollout_id: str | None = None,
        outbox_for: Callable[[RolloutRecord], Sequence[OutboxItem]] | None = None,
        artifacts: Mapping[str, JsonValue] | None = None,
    ) -> RolloutRecord:
        """Insert a rollout, its `rollout.created` event and outbox rows in one transaction.

        The id is `rollout_id` if given, else a fresh one. `outbox_for` is
        called inside the transaction with the new record, for notifications
        that need its id (idempotency keys); its rows commit with the rollout.
        `artifacts` (plan/diff/smoke/lint/risk) are stored with it. Raises
        StoreError if the id is taken; whatever `outbox_for` raises rolls
        everything back and propagates.
        """
        check_channel(channel)
        fields = checked_artifacts(artifacts)
        now = self._now()
        new_id = rollout_id if rollout_id is not None else self._new_id()
        with self._write() as session:
            row = RolloutRow(
                id=new_id,
                environment=environment,
                commit_sha=commit_sha,
                previous_sha=previous_sha,
                author=author,
                author_email=author_email,
                message=message,
                state=state,
                created_at=now,
                updated_at=now,
                **fields,
            )
            session.add(row)
            session.flush()
            self._event(
                session,
                "rollout.created",
                rollout_id=new_id,
                environment=environment,
                actor=actor,
                channel=channel,
                request_id=request_id,
                details={"state": state, "commit_sha": commit_sha, **(details or {})},
                at=now,
            )
            record = rollout_record(row)
            self._enqueue(session, outbox, new_id, now)
            if outbox_for is not None:
                self._enqueue(session, outbox_for(record), new_id, now)
            return record

    def get_rollout(self, rollout_id: str) -> RolloutRecord | None:
        with self._read() as session:
            row = session.get(RolloutRow, rollout_id)
            return rollout_record(row) if row is not None else None

    def list_rollouts(
        self,
        environment: str | None = None,
        states: Collection[str] | None = None,
        limit: int | None = 50,
        *,
        commit_sha: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[RolloutRecord]:
        """Newest first; at most `limit` (None: all) created in [`since`, `until`).

        Raises ValueError for a naive `since` or `until` (pass aware UTC).
        """
        query = select(RolloutRow)
        if environment is not None:
            query = query.where(RolloutRow.environment == environment)
        if states is not None:
            query = query.where(RolloutRow.state.in_(state_list(states)))
        if commit_sha is not None:
            query = query.where(RolloutRow.commit_sha == commit_sha)
        if since is not None:
            query = query.where(RolloutRow.created_at >= utc(since))
        if until is not None:
            query = query.where(RolloutRow.created_at < utc(until))
        query = query.order_by(RolloutRow.created_at.desc(), RolloutRow.id.desc()).limit(limit)
        with self._read() as session:
            return [rollout_record(row) for row in session.scalars(query)]

    def count_rollouts_by_state(self) -> dict[str, int]:
        """How many rollouts are in each state (states with none are absent)."""
        query = select(RolloutRow.state, func.count()).group_by(RolloutRow.state)
        with self._read() as session:
            return {state: int(count) for state, count in session.execute(query)}

    def transition(
        self,
        rollout_id: str,
        from_states: Collection[str],
        to_state: str,
        *,
        actor: str,
        channel: str,
        reason: str | None = None,
        details: Mapping[str, JsonValue] | None = None,
        request_id: str | None = None,
        environment: str | None = None,
        superseded_by: str | None = None,
        artifacts: Mapping[str, JsonValue] | None = None,
        outbox: Sequence[OutboxItem] = (),
    ) -> RolloutRecord | None:
        """Compare-and-set the rollout's state; return the new record, or None if it lost.

        None means the rollout's current state is not in `from_states` (someone
        else moved it first): nothing is written. On success the state,
        `reason` (replaced, None clears it), optionally `environment` (the
        rollout moved on), `superseded_by` and `artifacts` (plan/diff/smoke/
        lint/risk), one `state.changed` event and the outbox rows commit in one
        transaction. Raises StoreError if the rollout does not exist.
        """
        check_channel(channel)
        move = Move(
            from_states=tuple(state_list(from_states)),
            to_state=to_state,
            actor=actor,
            channel=channel,
            reason=reason,
            details=dict(details or {}),
            request_id=request_id,
            environment=environment,
            superseded_by=superseded_by,
            artifacts=dict(artifacts or {}),
            outbox=tuple(outbox),
        )
        with self._write() as session:
            return self._compare_and_set(session, rollout_id, move, self._now())

    def set_artifacts(self, rollout_id: str, artifacts: Mapping[str, JsonValue]) -> RolloutRecord:
        """Store plan/diff/smoke/lint/risk JSON without a state change."""
        fields = checked_artifacts(artifacts)
        now = self._now()
        with self._write() as session:
            row = session.get(RolloutRow, rollout_id, with_for_update=True)
            if row is None:
                raise StoreError(f"no rollout {rollout_id!r} in the state store")
            for name, value in fields.items():
                setattr(row, name, value)
            row.updated_at = now
            session.flush()
            return rollout_record(row)

    def set_blocked(self, rollout_id: str, reason: str | None) -> RolloutRecord | None:
        """Say why a rollout cannot take its next step (`blocked: ...`), or clear it.

        Only the `reason` column changes (the state stays); a new reason also
        appends one `rollout.blocked` event, so a step retried every few
        seconds writes the audit log once. None when the rollout is unknown.
        """
        text = f"blocked: {reason}" if reason else None
        now = self._now()
        with self._write() as session:
            row = session.get(RolloutRow, rollout_id, with_for_update=True)
            if row is None:
                return None
            was_blocked = bool(row.reason and row.reason.startswith("blocked: "))
            if row.reason == text or (text is None and not was_blocked):
                return rollout_record(row)
            row.reason = text
            row.updated_at = now
            if text is not None:
                self._event(
                    session,
                    "rollout.blocked",
                    rollout_id=rollout_id,
                    environment=row.environment,
                    actor="netpol-rollout",
                    channel="system",
                    request_id=None,
                    details={"reason": reason, "state": row.state},
                    at=now,
                )
            session.flush()
            return rollout_record(row)

    # --- audit log ------------------------------------------------------------

    def record_event(
        self,
        kind: str,
        *,
        actor: str,
        channel: str,
        rollout_id: str | None = None,
        environment: str | None = None,
        request_id: str | None = None,
        details: Mapping[str, JsonValue] | None = None,
        outbox: Sequence[OutboxItem] = (),
    ) -> StageEvent:
        """Append one audit event (and its outbox rows) that is not a state change."""
        check_channel(channel)
        now = self._now()
        with self._write() as session:
            row = self._event(
                session,
                kind,
                rollout_id=rollout_id,
                environment=environment,
                actor=actor,
                channel=channel,
                request_id=request_id,
                details=dict(details or {}),
                at=now,
            )
            self._enqueue(session, outbox, rollout_id, now)
            return event_record(row)

    def events(
        self,
        *,
        rollout_id: str | None = None,
        environment: str | None = None,
        kinds: Collection[str] | None = None,
        limit: int | None = 200,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[StageEvent]:
        """Oldest first (the order things happened): the newest `limit` (None: all).

        `since` and `until` keep the events recorded in [`since`, `until`);
        ValueError for a naive one (pass aware UTC).
        """
        query = select(StageEventRow)
        if rollout_id is not None:
            query = query.where(StageEventRow.rollout_id == rollout_id)
        if environment is not None:
            query = query.where(StageEventRow.environment == environment)
        if kinds is not None:
            query = query.where(StageEventRow.kind.in_(list(kinds)))
        if since is not None:
            query = query.where(StageEventRow.at >= utc(since))
        if until is not None:
            query = query.where(StageEventRow.at < utc(until))
        query = query.order_by(StageEventRow.id.desc()).limit(limit)
        with self._read() as session:
            return [event_record(row) for row in reversed(list(session.scalars(query)))]
