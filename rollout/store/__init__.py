"""The state store: rollouts, audit log, approvals, outbox, deployments, holds,
tokens, replay protection and per-cluster fleet progress, in SQLite (default) or PostgreSQL.

    store = open_store("sqlite:///netpol-rollout.db", clock=lambda: datetime.now(UTC))

`open_store` creates or upgrades the schema (Alembic migrations shipped in
`migrations/`) and refuses a database whose schema is newer than this code.
All methods are short transactions returning frozen records; see
:class:`rollout.store.facade.Store`. This is the only module that imports
SQLAlchemy, Alembic and psycopg.
"""

from rollout.store.base import Clock, IdFactory, new_rollout_id
from rollout.store.facade import Store, open_store
from rollout.store.fleets import PlannedCluster
from rollout.store.outbox import scrub_error
from rollout.store.records import (
    ARTIFACTS,
    ApprovalRecord,
    DeploymentRecord,
    FleetClusterRecord,
    HoldRecord,
    OutboxItem,
    OutboxRecord,
    RolloutRecord,
    StageEvent,
    TokenRecord,
)

__all__ = [
    "ARTIFACTS",
    "ApprovalRecord",
    "Clock",
    "DeploymentRecord",
    "FleetClusterRecord",
    "HoldRecord",
    "IdFactory",
    "OutboxItem",
    "OutboxRecord",
    "PlannedCluster",
    "RolloutRecord",
    "StageEvent",
    "Store",
    "TokenRecord",
    "new_rollout_id",
    "open_store",
    "scrub_error",
]
