"""The notification outbox: enqueue, due items, delivery outcomes, external references."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rollout.errors import StoreError
from rollout.store.base import StoreBase, utc
from rollout.store.convert import outbox_record
from rollout.store.records import OutboxItem, OutboxRecord
from rollout.store.tables import OutboxRow

MAX_ERROR_CHARS = 2000


class Outbox(StoreBase):
    """The `outbox` table; rows tied to a state change are written by that change."""

    def enqueue(self, items: Sequence[OutboxItem]) -> int:
        """Add notifications not tied to a state change; returns how many were new."""
        now = self._now()
        with self._write() as session:
            return self._enqueue(session, items, None, now)

    def due_outbox(self, now: datetime, limit: int = 50) -> list[OutboxRecord]:
        """Pending items whose next attempt is due, oldest due first."""
        query = (
            select(OutboxRow)
            .where(OutboxRow.status == "pending", OutboxRow.next_attempt_at <= utc(now))
            .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
            .limit(limit)
        )
        with self._read() as session:
            return [outbox_record(row) for row in session.scalars(query)]

    def mark_delivered(self, item_id: int, external_ref: str | None = None) -> OutboxRecord:
        with self._write() as session:
            row = _outbox_row(session, item_id)
            row.status = "delivered"
            row.attempts += 1
            row.delivered_at = self._now()
            row.last_error = None
            if external_ref is not None:
                row.external_ref = external_ref
            session.flush()
            return outbox_record(row)

    def mark_failed(
        self, item_id: int, error: str, next_attempt_at: datetime, dead: bool
    ) -> OutboxRecord:
        """Count a failed attempt; `dead` gives up. `error` is scrubbed of credentials."""
        with self._write() as session:
            row = _outbox_row(session, item_id)
            row.attempts += 1
            row.last_error = scrub_error(error)
            row.next_attempt_at = utc(next_attempt_at)
            row.status = "dead" if dead else "pending"
            session.flush()
            return outbox_record(row)

    def outbox_items(
        self, status: str | None = None, *, rollout_id: str | None = None
    ) -> list[OutboxRecord]:
        query = select(OutboxRow).order_by(OutboxRow.id)
        if status is not None:
            query = query.where(OutboxRow.status == status)
        if rollout_id is not None:
            query = query.where(OutboxRow.rollout_id == rollout_id)
        with self._read() as session:
            return [outbox_record(row) for row in session.scalars(query)]

    def count_outbox(self, status: str) -> int:
        """How many outbox items have `status` (pending, delivered, dead)."""
        query = select(func.count()).select_from(OutboxRow).where(OutboxRow.status == status)
        with self._read() as session:
            return int(session.scalar(query) or 0)

    def external_ref_for(self, rollout_id: str, channel: str) -> str | None:
        """The external reference (Slack ts, comment id) of the channel's latest delivery.

        Notifiers edit that message or comment in place instead of posting
        anew; when the original was gone and a new one was posted, the new
        one's reference is the latest, so later events update it.
        """
        query = (
            select(OutboxRow.external_ref)
            .where(
                OutboxRow.rollout_id == rollout_id,
                OutboxRow.channel == channel,
                OutboxRow.status == "delivered",
                OutboxRow.external_ref.is_not(None),
            )
            .order_by(OutboxRow.delivered_at.desc(), OutboxRow.id.desc())
            .limit(1)
        )
        with self._read() as session:
            return session.scalars(query).first()


def _outbox_row(session: Session, item_id: int) -> OutboxRow:
    row = session.get(OutboxRow, item_id, with_for_update=True)
    if row is None:
        raise StoreError(f"no outbox item {item_id} in the state store")
    return row


_SECRET_PATTERNS = (
    (re.compile(r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 ***"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]+"), "xox?-***"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"), "gh?_***"),
    (re.compile(r"(?i)([?&](?:token|key|sig|signature|secret|password)=)[^&\s]+"), r"\1***"),
    (re.compile(r"(://)[^/\s:@]+:[^/\s@]+@"), r"\1***@"),
)


def scrub_error(error: str) -> str:
    """A last line of defence: mask credential-shaped strings, cap the length.

    Notifiers must still build errors without secrets; this catches slips.
    """
    for pattern, replacement in _SECRET_PATTERNS:
        error = pattern.sub(replacement, error)
    if len(error) > MAX_ERROR_CHARS:
        error = error[: MAX_ERROR_CHARS - 1] + "…"
    return error
