"""The database schema as typed SQLAlchemy models.

Changing a model means adding an Alembic revision under `migrations/versions/`;
`tests/unit/store/test_migrations_match_models.py` fails until the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so later migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Tables other libraries own in the same database (APScheduler's SQLAlchemyJobStore);
# Alembic autogenerate must leave them be.
FOREIGN_TABLES = frozenset({"apscheduler_jobs"})

# Artifacts absent are SQL NULL, not the JSON literal null.
_NULLABLE_JSON = JSON(none_as_null=True)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; SQLite keeps no zone, so UTC is implied there."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; pass aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class RolloutRow(Base):
    __tablename__ = "rollouts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    environment: Mapped[str] = mapped_column(String(63), index=True)
    commit_sha: Mapped[str] = mapped_column(String(64))
    previous_sha: Mapped[str | None] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(255))
    author_email: Mapped[str] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(32), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    superseded_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    plan: Mapped[Any | None] = mapped_column(_NULLABLE_JSON)
    diff: Mapped[Any | None] = mapped_column(_NULLABLE_JSON)
    smoke: Mapped[Any | None] = mapped_column(_NULLABLE_JSON)
    lint: Mapped[Any | None] = mapped_column(_NULLABLE_JSON)
    risk: Mapped[Any | None] = mapped_column(_NULLABLE_JSON)


class StageEventRow(Base):
    __tablename__ = "stage_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rollout_id: Mapped[str | None] = mapped_column(ForeignKey("rollouts.id"), index=True)
    environment: Mapped[str | None] = mapped_column(String(63))
    kind: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[Any] = mapped_column(JSON, nullable=False)
    at: Mapped[datetime] = mapped_column(index=True)


class ApprovalRow(Base):
    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("rollout_id", "environment", "member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rollout_id: Mapped[str] = mapped_column(ForeignKey("rollouts.id"))
    # An environment, or `env/wave` for an approval needed before a fleet's wave.
    environment: Mapped[str] = mapped_column(String(127))
    commit_sha: Mapped[str] = mapped_column(String(64))
    member: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(255))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]
    expires_at: Mapped[datetime | None]


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index(None, "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rollout_id: Mapped[str | None] = mapped_column(ForeignKey("rollouts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(128))
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    payload: Mapped[Any] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    external_ref: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class DeploymentRow(Base):
    __tablename__ = "deployments"
    __table_args__ = (Index(None, "environment", "status", "applied_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    environment: Mapped[str] = mapped_column(String(63))
    commit_sha: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(128))
    rollout_id: Mapped[str | None] = mapped_column(ForeignKey("rollouts.id"))
    applied_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))


class FleetClusterRow(Base):
    """One cluster of a fleet environment in one rollout: where its apply stands."""

    __tablename__ = "fleet_clusters"
    __table_args__ = (
        UniqueConstraint("rollout_id", "environment", "cluster"),
        Index(None, "environment", "cluster", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rollout_id: Mapped[str] = mapped_column(ForeignKey("rollouts.id"))
    environment: Mapped[str] = mapped_column(String(63))
    cluster: Mapped[str] = mapped_column(String(63))
    wave: Mapped[str] = mapped_column(String(63))
    wave_index: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    commit_sha: Mapped[str] = mapped_column(String(64))
    previous_sha: Mapped[str | None] = mapped_column(String(64))
    failure: Mapped[str | None] = mapped_column(Text)
    details: Mapped[Any] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    verified_at: Mapped[datetime | None]


class HoldRow(Base):
    __tablename__ = "holds"

    environment: Mapped[str] = mapped_column(String(63), primary_key=True)
    held: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member: Mapped[str] = mapped_column(String(255), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class SeenRequestRow(Base):
    __tablename__ = "seen_requests"
    __table_args__ = (UniqueConstraint("source", "request_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(index=True)
