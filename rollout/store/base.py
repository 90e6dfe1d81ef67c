"""What every part of the `Store` shares: sessions, the clock, audit and outbox rows.

`StoreBase` owns the engine and the transaction helpers; the mixins in
`rollouts`, `deployments`, `approvals`, `outbox` and `access` add the public
methods on top of it and `rollout.store.facade.Store` composes them. SQL
errors become `StoreError` here, in one place, and roll the transaction back.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from rollout.errors import StoreError
from rollout.store import database
from rollout.store.convert import rollout_record
from rollout.store.records import ARTIFACTS, JsonValue, Move, OutboxItem, RolloutRecord
from rollout.store.tables import Base, OutboxRow, RolloutRow, StageEventRow

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]
log = logging.getLogger("rollout.store.rollouts")


CHANNELS = frozenset({"slack", "github", "cli", "api", "dashboard", "system"})


def new_rollout_id() -> str:
    """`r-` and 10 hex characters: short enough to type in a chat command."""
    return "r-" + secrets.token_hex(5)


class StoreBase:
    """The engine, the clock and the transaction helpers (no public queries)."""

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
        return utc(self._clock())

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
            details=json_checked(dict(details), f"details of event {kind!r}"),
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
            payload = json_checked(dict(item.payload), f"outbox item {item.idempotency_key!r}")
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

    def _compare_and_set(
        self, session: Session, rollout_id: str, move: Move, now: datetime
    ) -> RolloutRecord | None:
        """`move` inside `session`: the new record, or None if the state was not a from-state.

        The rollout's row is locked first (SELECT ... FOR UPDATE), so movers of
        one rollout take turns. Raises StoreError if the rollout does not exist.
        """
        check_channel(move.channel)
        fields = checked_artifacts(move.artifacts or None)
        row = session.get(RolloutRow, rollout_id, with_for_update=True)
        if row is None:
            raise StoreError(f"no rollout {rollout_id!r} in the state store")
        if row.state not in move.from_states:
            log.debug(
                "transition of %s lost: %s not in %s", rollout_id, row.state, move.from_states
            )
            return None
        previous = row.state
        # The WHERE repeats the check so the write is a true compare-and-set
        # even where SELECT ... FOR UPDATE is a no-op (SQLite).
        values: dict[str, Any] = {"state": move.to_state, "updated_at": now, "reason": move.reason}
        if move.environment is not None:
            values["environment"] = move.environment
        if move.superseded_by is not None:
            values["superseded_by"] = move.superseded_by
        values.update(fields)
        result = session.execute(
            update(RolloutRow)
            .where(RolloutRow.id == rollout_id, RolloutRow.state == previous)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) != 1:
            return None
        self._event(
            session,
            "state.changed",
            rollout_id=rollout_id,
            environment=move.environment or row.environment,
            actor=move.actor,
            channel=move.channel,
            request_id=move.request_id,
            details={
                "from": previous,
                "to": move.to_state,
                "reason": move.reason,
                **move.details,
            },
            at=now,
        )
        self._enqueue(session, move.outbox, rollout_id, now)
        session.flush()
        session.refresh(row)
        return rollout_record(row)

    def _dialect_insert(self, entity: type[Base]) -> Any:
        """INSERT with the backend's ON CONFLICT support (both dialects spell it alike)."""
        table: Table = entity.__table__  # type: ignore[assignment]
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)


# --- argument checks ------------------------------------------------------------------


def utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} given to the store; pass aware UTC")
    return value.astimezone(UTC)


def check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {sorted(CHANNELS)}, got {channel!r}")


def state_list(states: Collection[str]) -> list[str]:
    # A bare string is a classic slip ("pending" iterating as letters).
    return [states] if isinstance(states, str) else list(states)


def checked_artifacts(artifacts: Mapping[str, JsonValue] | None) -> dict[str, JsonValue]:
    fields = dict(artifacts or {})
    unknown = set(fields) - set(ARTIFACTS)
    if unknown:
        raise ValueError(f"unknown rollout artifacts {sorted(unknown)}; known: {list(ARTIFACTS)}")
    return {name: json_checked(value, f"artifact {name!r}") for name, value in fields.items()}


def json_checked(value: JsonValue, what: str) -> Any:
    """The value itself, once known to serialize; the drivers would fail differently."""
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} is not JSON-serializable: {exc}") from exc
    return value


def rowcount(result: Any) -> int:
    return int(result.rowcount)
