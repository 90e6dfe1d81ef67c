"""`Store`: the typed facade every other part of netpol-rollout calls.

Each method is one short transaction. A state change, its audit event and
its outbox rows commit together or not at all. Methods take and return
plain records (`rollout.store.records`), never ORM objects. Database
failures surface as `rollout.errors.StoreError`; passing nonsense (a naive
datetime, an unknown channel, a payload that is not JSON) is a programming
error (ValueError). Either way the whole transaction is rolled back.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from rollout.errors import StoreError
from rollout.store import database
from rollout.store.records import (
    ARTIFACTS,
    ApprovalRecord,
    DeploymentRecord,
    HoldRecord,
    JsonValue,
    OutboxItem,
    OutboxRecord,
    RolloutRecord,
    StageEvent,
    TokenRecord,
)
from rollout.store.tables import (
    ApiTokenRow,
    ApprovalRow,
    Base,
    DeploymentRow,
    HoldRow,
    OutboxRow,
    RolloutRow,
    SeenRequestRow,
    StageEventRow,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]

CHANNELS = frozenset({"slack", "github", "cli", "api", "dashboard", "system"})
DECISIONS = frozenset({"approve", "reject"})
DEPLOYMENT_STATUSES = frozenset({"applied", "rolled_back", "failed"})
MAX_ERROR_CHARS = 2000


def new_rollout_id() -> str:
    """`r-` and 10 hex characters: short enough to type in a chat command."""
    return "r-" + secrets.token_hex(5)


class Store:
    """The state store. Build it with `open_store(url, clock=...)`."""

    def __init__(self, engine: Engine, *, clock: Clock, id_factory: IdFactory = new_rollout_id):
        self._engine = engine
        # Reads need no write lock on SQLite; elsewhere the option is ignored.
        self._read_engine = engine.execution_options(sqlite_begin="DEFERRED")
        self._clock = clock
        self._new_id = id_factory
        self.url = database.display(engine.url)
        self.dialect = engine.dialect.name

    def close(self) -> None:
        self._engine.dispose()

    # --- rollouts -------------------------------------------------------------

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
    ) -> RolloutRecord:
        """Insert a rollout with a fresh id, its `rollout.created` event and outbox rows."""
        _check_channel(channel)
        now = self._now()
        rollout_id = self._new_id()
        with self._write() as session:
            row = RolloutRow(
                id=rollout_id,
                environment=environment,
                commit_sha=commit_sha,
                previous_sha=previous_sha,
                author=author,
                author_email=author_email,
                message=message,
                state=state,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            self._event(
                session,
                "rollout.created",
                rollout_id=rollout_id,
                environment=environment,
                actor=actor,
                channel=channel,
                request_id=request_id,
                details={"state": state, "commit_sha": commit_sha, **(details or {})},
                at=now,
            )
            self._enqueue(session, outbox, rollout_id, now)
            return _rollout(row)

    def get_rollout(self, rollout_id: str) -> RolloutRecord | None:
        with self._read() as session:
            row = session.get(RolloutRow, rollout_id)
            return _rollout(row) if row is not None else None

    def list_rollouts(
        self,
        environment: str | None = None,
        states: Collection[str] | None = None,
        limit: int = 50,
        *,
        commit_sha: str | None = None,
    ) -> list[RolloutRecord]:
        """Newest first."""
        query = select(RolloutRow)
        if environment is not None:
            query = query.where(RolloutRow.environment == environment)
        if states is not None:
            query = query.where(RolloutRow.state.in_(_states(states)))
        if commit_sha is not None:
            query = query.where(RolloutRow.commit_sha == commit_sha)
        query = query.order_by(RolloutRow.created_at.desc(), RolloutRow.id.desc()).limit(limit)
        with self._read() as session:
            return [_rollout(row) for row in session.scalars(query)]

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
        _check_channel(channel)
        allowed = _states(from_states)
        fields = _artifacts(artifacts)
        now = self._now()
        with self._write() as session:
            row = session.get(RolloutRow, rollout_id, with_for_update=True)
            if row is None:
                raise StoreError(f"no rollout {rollout_id!r} in the state store")
            if row.state not in allowed:
                log.debug("transition of %s lost: %s not in %s", rollout_id, row.state, allowed)
                return None
            previous = row.state
            # The WHERE repeats the check so the write is a true compare-and-set
            # even where SELECT ... FOR UPDATE is a no-op (SQLite).
            values: dict[str, Any] = {"state": to_state, "updated_at": now, "reason": reason}
            if environment is not None:
                values["environment"] = environment
            if superseded_by is not None:
                values["superseded_by"] = superseded_by
            values.update(fields)
            result = session.execute(
                update(RolloutRow)
                .where(RolloutRow.id == rollout_id, RolloutRow.state == previous)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(result) != 1:
                return None
            self._event(
                session,
                "state.changed",
                rollout_id=rollout_id,
                environment=environment or row.environment,
                actor=actor,
                channel=channel,
                request_id=request_id,
                details={"from": previous, "to": to_state, "reason": reason, **(details or {})},
                at=now,
            )
            self._enqueue(session, outbox, rollout_id, now)
            session.flush()
            session.refresh(row)
            return _rollout(row)

    def set_artifacts(self, rollout_id: str, artifacts: Mapping[str, JsonValue]) -> RolloutRecord:
        """Store plan/diff/smoke/lint/risk JSON without a state change."""
        fields = _artifacts(artifacts)
        now = self._now()
        with self._write() as session:
            row = session.get(RolloutRow, rollout_id, with_for_update=True)
            if row is None:
                raise StoreError(f"no rollout {rollout_id!r} in the state store")
            for name, value in fields.items():
                setattr(row, name, value)
            row.updated_at = now
            session.flush()
            return _rollout(row)

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
        _check_channel(channel)
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
            return _event(row)

    def events(
        self,
        *,
        rollout_id: str | None = None,
        environment: str | None = None,
        kinds: Collection[str] | None = None,
        limit: int = 200,
    ) -> list[StageEvent]:
        """Oldest first (the order things happened)."""
        query = select(StageEventRow)
        if rollout_id is not None:
            query = query.where(StageEventRow.rollout_id == rollout_id)
        if environment is not None:
            query = query.where(StageEventRow.environment == environment)
        if kinds is not None:
            query = query.where(StageEventRow.kind.in_(list(kinds)))
        query = query.order_by(StageEventRow.id.desc()).limit(limit)
        with self._read() as session:
            return [_event(row) for row in reversed(list(session.scalars(query)))]

    # --- approvals ------------------------------------------------------------

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
        """Record `member`'s decision once; False if they already decided for this stage.

        Writes an `approval.granted` or `approval.rejected` event with it.
        """
        _check_channel(channel)
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {sorted(DECISIONS)}, got {decision!r}")
        now = self._now()
        with self._write() as session:
            inserted = self._insert_new(
                session,
                ApprovalRow,
                ("rollout_id", "environment", "member"),
                rollout_id=rollout_id,
                environment=environment,
                commit_sha=commit_sha,
                member=member,
                channel=channel,
                request_id=request_id,
                decision=decision,
                reason=reason,
                at=now,
                expires_at=expires_at,
            )
            if not inserted:
                return False
            self._event(
                session,
                "approval.granted" if decision == "approve" else "approval.rejected",
                rollout_id=rollout_id,
                environment=environment,
                actor=member,
                channel=channel,
                request_id=request_id,
                details={"commit_sha": commit_sha, "reason": reason},
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
            return [_approval(row) for row in session.scalars(query)]

    # --- deployments ----------------------------------------------------------

    def record_deployment(
        self,
        environment: str,
        commit_sha: str,
        content_hash: str,
        *,
        rollout_id: str | None = None,
        status: str = "applied",
        applied_at: datetime | None = None,
    ) -> DeploymentRecord:
        if status not in DEPLOYMENT_STATUSES:
            raise ValueError(f"status must be one of {sorted(DEPLOYMENT_STATUSES)}, got {status!r}")
        with self._write() as session:
            row = DeploymentRow(
                environment=environment,
                commit_sha=commit_sha,
                content_hash=content_hash,
                rollout_id=rollout_id,
                applied_at=_utc(applied_at) if applied_at else self._now(),
                status=status,
            )
            session.add(row)
            session.flush()
            return _deployment(row)

    def set_deployment_status(self, deployment_id: int, status: str) -> DeploymentRecord:
        if status not in DEPLOYMENT_STATUSES:
            raise ValueError(f"status must be one of {sorted(DEPLOYMENT_STATUSES)}, got {status!r}")
        with self._write() as session:
            row = session.get(DeploymentRow, deployment_id)
            if row is None:
                raise StoreError(f"no deployment {deployment_id} in the state store")
            row.status = status
            session.flush()
            return _deployment(row)

    def last_deployment(self, environment: str, status: str = "applied") -> DeploymentRecord | None:
        query = (
            select(DeploymentRow)
            .where(DeploymentRow.environment == environment, DeploymentRow.status == status)
            .order_by(DeploymentRow.applied_at.desc(), DeploymentRow.id.desc())
            .limit(1)
        )
        with self._read() as session:
            row = session.scalars(query).first()
            return _deployment(row) if row is not None else None

    def deployments(self, environment: str, limit: int = 100) -> list[DeploymentRecord]:
        """Newest first."""
        query = (
            select(DeploymentRow)
            .where(DeploymentRow.environment == environment)
            .order_by(DeploymentRow.applied_at.desc(), DeploymentRow.id.desc())
            .limit(limit)
        )
        with self._read() as session:
            return [_deployment(row) for row in session.scalars(query)]

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
        _check_channel(channel)
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

    def forget_requests_before(self, cutoff: datetime) -> int:
        """Drop request ids older than `cutoff` (older requests fail the timestamp check)."""
        statement = delete(SeenRequestRow).where(SeenRequestRow.received_at < _utc(cutoff))
        with self._write() as session:
            result = session.execute(statement)
            return _rowcount(result)

    # --- API tokens -------------------------------------------------------------

    def create_token(self, member: str, token_hash: str) -> TokenRecord:
        """Store a token's sha256 hex digest (never the token) for `member`."""
        if not re.fullmatch(r"[0-9a-f]{64}", token_hash):
            raise ValueError("token_hash must be a sha256 hex digest (64 lowercase hex digits)")
        with self._write() as session:
            row = ApiTokenRow(member=member, token_hash=token_hash, created_at=self._now())
            session.add(row)
            session.flush()
            return _token(row)

    def revoke_token(self, token_id: int) -> bool:
        """Revoke one token; False if it does not exist or was already revoked."""
        with self._write() as session:
            result = session.execute(
                update(ApiTokenRow)
                .where(ApiTokenRow.id == token_id, ApiTokenRow.revoked_at.is_(None))
                .values(revoked_at=self._now())
            )
            return _rowcount(result) == 1

    def tokens(self, member: str | None = None) -> list[TokenRecord]:
        query = select(ApiTokenRow).order_by(ApiTokenRow.id)
        if member is not None:
            query = query.where(ApiTokenRow.member == member)
        with self._read() as session:
            return [_token(row) for row in session.scalars(query)]

    def member_for_token_hash(self, token_hash: str) -> str | None:
        """The member owning this (unrevoked) token hash, or None."""
        query = select(ApiTokenRow.member).where(
            ApiTokenRow.token_hash == token_hash, ApiTokenRow.revoked_at.is_(None)
        )
        with self._read() as session:
            return session.scalars(query).first()

    # --- outbox -------------------------------------------------------------------

    def enqueue(self, items: Sequence[OutboxItem]) -> int:
        """Add notifications not tied to a state change; returns how many were new."""
        now = self._now()
        with self._write() as session:
            return self._enqueue(session, items, None, now)

    def due_outbox(self, now: datetime, limit: int = 50) -> list[OutboxRecord]:
        """Pending items whose next attempt is due, oldest due first."""
        query = (
            select(OutboxRow)
            .where(OutboxRow.status == "pending", OutboxRow.next_attempt_at <= _utc(now))
            .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
            .limit(limit)
        )
        with self._read() as session:
            return [_outbox(row) for row in session.scalars(query)]

    def mark_delivered(self, item_id: int, external_ref: str | None = None) -> OutboxRecord:
        with self._write() as session:
            row = self._outbox_row(session, item_id)
            row.status = "delivered"
            row.attempts += 1
            row.delivered_at = self._now()
            row.last_error = None
            if external_ref is not None:
                row.external_ref = external_ref
            session.flush()
            return _outbox(row)

    def mark_failed(
        self, item_id: int, error: str, next_attempt_at: datetime, dead: bool
    ) -> OutboxRecord:
        """Count a failed attempt; `dead` gives up. `error` is scrubbed of credentials."""
        with self._write() as session:
            row = self._outbox_row(session, item_id)
            row.attempts += 1
            row.last_error = scrub_error(error)
            row.next_attempt_at = _utc(next_attempt_at)
            row.status = "dead" if dead else "pending"
            session.flush()
            return _outbox(row)

    def outbox_items(
        self, status: str | None = None, *, rollout_id: str | None = None
    ) -> list[OutboxRecord]:
        query = select(OutboxRow).order_by(OutboxRow.id)
        if status is not None:
            query = query.where(OutboxRow.status == status)
        if rollout_id is not None:
            query = query.where(OutboxRow.rollout_id == rollout_id)
        with self._read() as session:
            return [_outbox(row) for row in session.scalars(query)]

    def external_ref_for(self, rollout_id: str, channel: str) -> str | None:
        """The first external reference (Slack ts, comment id) a channel gave this rollout.

        Notifiers edit that message or comment in place instead of posting anew.
        """
        query = (
            select(OutboxRow.external_ref)
            .where(
                OutboxRow.rollout_id == rollout_id,
                OutboxRow.channel == channel,
                OutboxRow.external_ref.is_not(None),
            )
            .order_by(OutboxRow.id)
            .limit(1)
        )
        with self._read() as session:
            return session.scalars(query).first()

    # --- internals ----------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._session(self._engine) as session:
            yield session

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._session(self._read_engine) as session:
            yield session

    @contextmanager
    def _session(self, engine: Engine) -> Iterator[Session]:
        try:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(f"state store at {self.url}: {database.first_line(exc)}") from exc

    def _now(self) -> datetime:
        return _utc(self._clock())

    def _event(
        self,
        session: Session,
        kind: str,
        *,
        rollout_id: str | None,
        environment: str | None,
        actor: str,
        channel: str,
        request_id: str | None,
        details: Mapping[str, JsonValue],
        at: datetime,
    ) -> StageEventRow:
        row = StageEventRow(
            rollout_id=rollout_id,
            environment=environment,
            kind=kind,
            actor=actor,
            channel=channel,
            request_id=request_id,
            details=_json_checked(dict(details), f"details of event {kind!r}"),
            at=at,
        )
        session.add(row)
        session.flush()
        return row

    def _enqueue(
        self,
        session: Session,
        items: Sequence[OutboxItem],
        rollout_id: str | None,
        now: datetime,
    ) -> int:
        added = 0
        for item in items:
            payload = _json_checked(dict(item.payload), f"outbox item {item.idempotency_key!r}")
            added += self._insert_new(
                session,
                OutboxRow,
                ("idempotency_key",),
                rollout_id=item.rollout_id or rollout_id,
                channel=item.channel,
                event=item.event,
                idempotency_key=item.idempotency_key,
                payload=payload,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        return added

    def _insert_new(
        self, session: Session, entity: type[Base], unique: Sequence[str], **values: Any
    ) -> bool:
        """INSERT unless a row with the same `unique` columns exists; True if inserted.

        ON CONFLICT DO NOTHING keeps the transaction usable on PostgreSQL,
        where a failed INSERT would abort it. RETURNING tells whether a row
        went in (psycopg reports no rowcount for INSERT ... RETURNING).
        """
        table: Table = entity.__table__  # type: ignore[assignment]
        statement = self._dialect_insert(entity).values(**values)
        statement = statement.on_conflict_do_nothing(index_elements=list(unique))
        inserted = session.connection().execute(statement.returning(*table.primary_key.columns))
        return inserted.first() is not None

    def _dialect_insert(self, entity: type[Base]) -> Any:
        """INSERT with the backend's ON CONFLICT support (both dialects spell it alike)."""
        table: Table = entity.__table__  # type: ignore[assignment]
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    @staticmethod
    def _outbox_row(session: Session, item_id: int) -> OutboxRow:
        row = session.get(OutboxRow, item_id, with_for_update=True)
        if row is None:
            raise StoreError(f"no outbox item {item_id} in the state store")
        return row


# --- helpers ------------------------------------------------------------------------

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


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} given to the store; pass aware UTC")
    return value.astimezone(UTC)


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {sorted(CHANNELS)}, got {channel!r}")


def _states(states: Collection[str]) -> list[str]:
    # A bare string is a classic slip ("pending" iterating as letters).
    return [states] if isinstance(states, str) else list(states)


def _artifacts(artifacts: Mapping[str, JsonValue] | None) -> dict[str, JsonValue]:
    fields = dict(artifacts or {})
    unknown = set(fields) - set(ARTIFACTS)
    if unknown:
        raise ValueError(f"unknown rollout artifacts {sorted(unknown)}; known: {list(ARTIFACTS)}")
    return {name: _json_checked(value, f"artifact {name!r}") for name, value in fields.items()}


def _json_checked(value: JsonValue, what: str) -> Any:
    """The value itself, once known to serialize; the drivers would fail differently."""
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} is not JSON-serializable: {exc}") from exc
    return value


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


def _rollout(row: RolloutRow) -> RolloutRecord:
    return RolloutRecord(
        id=row.id,
        environment=row.environment,
        commit_sha=row.commit_sha,
        previous_sha=row.previous_sha,
        author=row.author,
        author_email=row.author_email,
        message=row.message,
        state=row.state,
        reason=row.reason,
        superseded_by=row.superseded_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        plan=row.plan,
        diff=row.diff,
        smoke=row.smoke,
        lint=row.lint,
        risk=row.risk,
    )


def _event(row: StageEventRow) -> StageEvent:
    return StageEvent(
        id=row.id,
        rollout_id=row.rollout_id,
        environment=row.environment,
        kind=row.kind,
        actor=row.actor,
        channel=row.channel,
        request_id=row.request_id,
        details=row.details,
        at=row.at,
    )


def _approval(row: ApprovalRow) -> ApprovalRecord:
    return ApprovalRecord(
        id=row.id,
        rollout_id=row.rollout_id,
        environment=row.environment,
        commit_sha=row.commit_sha,
        member=row.member,
        channel=row.channel,
        request_id=row.request_id,
        decision=row.decision,
        reason=row.reason,
        at=row.at,
        expires_at=row.expires_at,
    )


def _outbox(row: OutboxRow) -> OutboxRecord:
    return OutboxRecord(
        id=row.id,
        rollout_id=row.rollout_id,
        channel=row.channel,
        event=row.event,
        idempotency_key=row.idempotency_key,
        payload=row.payload,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        external_ref=row.external_ref,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


def _deployment(row: DeploymentRow) -> DeploymentRecord:
    return DeploymentRecord(
        id=row.id,
        environment=row.environment,
        commit_sha=row.commit_sha,
        content_hash=row.content_hash,
        rollout_id=row.rollout_id,
        applied_at=row.applied_at,
        status=row.status,
    )


def _token(row: ApiTokenRow) -> TokenRecord:
    return TokenRecord(
        id=row.id,
        member=row.member,
        token_hash=row.token_hash,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def open_store(url: str, *, clock: Clock, id_factory: IdFactory = new_rollout_id) -> Store:
    """Connect, create or upgrade the schema, and return the Store.

    Raises StoreError if the URL is not sqlite/postgresql, the database is
    unreachable, or its schema is newer than this netpol-rollout knows.
    """
    parsed = database.parse_url(url)
    engine = database.create(parsed)
    try:
        database.migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, clock=clock, id_factory=id_factory)
