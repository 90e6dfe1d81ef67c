"""Who may act and when: API tokens, replay protection and environment holds."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update

from rollout.store.base import StoreBase, check_channel, rowcount, utc
from rollout.store.convert import token_record
from rollout.store.records import HoldRecord, OutboxItem, TokenRecord
from rollout.store.tables import ApiTokenRow, HoldRow, SeenRequestRow


class Access(StoreBase):
    """The `holds`, `seen_requests` and `api_tokens` tables."""

    # --- holds ------------------------------------------------------------------

    def set_hold(
        self,
        environment: str,
        held: bool,
        actor: str,
        reason: str | None = None,
        *,
        channel: str = "cli",
        request_id: str | None = None,
        outbox: Sequence[OutboxItem] = (),
    ) -> HoldRecord:
        """Hold or release an environment, with a `hold` or `release` event."""
        check_channel(channel)
        now = self._now()
        values = {"held": held, "actor": actor, "reason": reason, "at": now}
        with self._write() as session:
            statement = self._dialect_insert(HoldRow).values(environment=environment, **values)
            session.connection().execute(
                statement.on_conflict_do_update(index_elements=["environment"], set_=values)
            )
            self._event(
                session,
                "hold" if held else "release",
                rollout_id=None,
                environment=environment,
                actor=actor,
                channel=channel,
                request_id=request_id,
                details={"reason": reason},
                at=now,
            )
            self._enqueue(session, outbox, None, now)
        return HoldRecord(environment=environment, held=held, actor=actor, reason=reason, at=now)

    def hold_of(self, environment: str) -> HoldRecord | None:
        with self._read() as session:
            row = session.get(HoldRow, environment)
            if row is None:
                return None
            return HoldRecord(row.environment, row.held, row.actor, row.reason, row.at)

    # --- replay protection -----------------------------------------------------

    def seen_request(self, source: str, request_id: str) -> bool:
        """Remember `request_id` from `source`; True if it is new, False if a replay."""
        with self._write() as session:
            return self._insert_new(
                session,
                SeenRequestRow,
                ("source", "request_id"),
                source=source,
                request_id=request_id,
                received_at=self._now(),
            )

    def forget_requests_before(
        self, cutoff: datetime, sources: tuple[str, ...] | None = None
    ) -> int:
        """Drop request ids older than `cutoff` (of `sources` only, when given); how many."""
        statement = delete(SeenRequestRow).where(SeenRequestRow.received_at < utc(cutoff))
        if sources is not None:
            statement = statement.where(SeenRequestRow.source.in_(list(sources)))
        with self._write() as session:
            result = session.execute(statement)
            return rowcount(result)

    # --- API tokens -------------------------------------------------------------

    def create_token(self, member: str, token_hash: str) -> TokenRecord:
        """Store a token's sha256 hex digest (never the token) for `member`."""
        if not re.fullmatch(r"[0-9a-f]{64}", token_hash):
            raise ValueError("token_hash must be a sha256 hex digest (64 lowercase hex digits)")
        with self._write() as session:
            row = ApiTokenRow(member=member, token_hash=token_hash, created_at=self._now())
            session.add(row)
            session.flush()
            return token_record(row)

    def revoke_token(self, token_id: int) -> bool:
        """Revoke one token; False if it does not exist or was already revoked."""
        with self._write() as session:
            result = session.execute(
                update(ApiTokenRow)
                .where(ApiTokenRow.id == token_id, ApiTokenRow.revoked_at.is_(None))
                .values(revoked_at=self._now())
            )
            return rowcount(result) == 1

    def tokens(self, member: str | None = None) -> list[TokenRecord]:
        query = select(ApiTokenRow).order_by(ApiTokenRow.id)
        if member is not None:
            query = query.where(ApiTokenRow.member == member)
        with self._read() as session:
            return [token_record(row) for row in session.scalars(query)]

    def member_for_token_hash(self, token_hash: str) -> str | None:
        """The member owning this (unrevoked) token hash, or None."""
        query = select(ApiTokenRow.member).where(
            ApiTokenRow.token_hash == token_hash, ApiTokenRow.revoked_at.is_(None)
        )
        with self._read() as session:
            return session.scalars(query).first()
