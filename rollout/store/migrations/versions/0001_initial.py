"""The initial schema: rollouts, audit log, approvals, outbox, deployments, holds,
API tokens and replay protection.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Migrations are frozen history: they use plain SQLAlchemy types, never the
models in `rollout.store.tables`, so later model changes cannot rewrite them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ARTIFACTS = ("plan", "diff", "smoke", "lint", "risk")


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "rollouts",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(63), nullable=False),
        sa.Column("commit_sha", sa.String(64), nullable=False),
        sa.Column("previous_sha", sa.String(64), nullable=True),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("author_email", sa.String(255), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("superseded_by", sa.String(64), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        *(sa.Column(name, sa.JSON(none_as_null=True), nullable=True) for name in _ARTIFACTS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollouts")),
    )
    op.create_index(op.f("ix_rollouts_environment"), "rollouts", ["environment"])
    op.create_index(op.f("ix_rollouts_state"), "rollouts", ["state"])

    op.create_table(
        "stage_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rollout_id", sa.String(64), nullable=True),
        sa.Column("environment", sa.String(63), nullable=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(255), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        _at("at"),
        sa.ForeignKeyConstraint(
            ["rollout_id"], ["rollouts.id"], name=op.f("fk_stage_events_rollout_id_rollouts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_events")),
    )
    op.create_index(op.f("ix_stage_events_at"), "stage_events", ["at"])
    op.create_index(op.f("ix_stage_events_rollout_id"), "stage_events", ["rollout_id"])

    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rollout_id", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(63), nullable=False),
        sa.Column("commit_sha", sa.String(64), nullable=False),
        sa.Column("member", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(255), nullable=True),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        _at("at"),
        _at("expires_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["rollout_id"], ["rollouts.id"], name=op.f("fk_approvals_rollout_id_rollouts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint(
            "rollout_id",
            "environment",
            "member",
            name=op.f("uq_approvals_rollout_id_environment_member"),
        ),
    )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rollout_id", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(128), nullable=False),
        sa.Column("event", sa.String(128), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("next_attempt_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("external_ref", sa.String(255), nullable=True),
        _at("created_at"),
        _at("delivered_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["rollout_id"], ["rollouts.id"], name=op.f("fk_outbox_rollout_id_rollouts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index(op.f("ix_outbox_rollout_id"), "outbox", ["rollout_id"])
    op.create_index(
        op.f("ix_outbox_status_next_attempt_at"), "outbox", ["status", "next_attempt_at"]
    )

    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("environment", sa.String(63), nullable=False),
        sa.Column("commit_sha", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(128), nullable=False),
        sa.Column("rollout_id", sa.String(64), nullable=True),
        _at("applied_at"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["rollout_id"], ["rollouts.id"], name=op.f("fk_deployments_rollout_id_rollouts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
    )
    op.create_index(
        op.f("ix_deployments_environment_status_applied_at"),
        "deployments",
        ["environment", "status", "applied_at"],
    )

    op.create_table(
        "holds",
        sa.Column("environment", sa.String(63), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        _at("at"),
        sa.PrimaryKeyConstraint("environment", name=op.f("pk_holds")),
    )

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("member", sa.String(255), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _at("created_at"),
        _at("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_member"), "api_tokens", ["member"])

    op.create_table(
        "seen_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(255), nullable=False),
        _at("received_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seen_requests")),
        sa.UniqueConstraint(
            "source", "request_id", name=op.f("uq_seen_requests_source_request_id")
        ),
    )
    op.create_index(op.f("ix_seen_requests_received_at"), "seen_requests", ["received_at"])


def downgrade() -> None:
    for table in (
        "seen_requests",
        "api_tokens",
        "holds",
        "deployments",
        "outbox",
        "approvals",
        "stage_events",
        "rollouts",
    ):
        op.drop_table(table)
