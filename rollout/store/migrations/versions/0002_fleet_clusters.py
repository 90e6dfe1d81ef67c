"""Fleets: per-cluster progress of each rollout, and approvals per wave.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03

`fleet_clusters` holds one row per rollout, environment and cluster of a
fleet environment (docs/fleets.md). `approvals.environment` grows to 127
characters so that an approval before a wave can be keyed `env/wave`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "fleet_clusters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rollout_id", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(63), nullable=False),
        sa.Column("cluster", sa.String(63), nullable=False),
        sa.Column("wave", sa.String(63), nullable=False),
        sa.Column("wave_index", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("commit_sha", sa.String(64), nullable=False),
        sa.Column("previous_sha", sa.String(64), nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        _at("verified_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["rollout_id"], ["rollouts.id"], name=op.f("fk_fleet_clusters_rollout_id_rollouts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_clusters")),
        sa.UniqueConstraint(
            "rollout_id",
            "environment",
            "cluster",
            name=op.f("uq_fleet_clusters_rollout_id_environment_cluster"),
        ),
    )
    op.create_index(
        op.f("ix_fleet_clusters_environment_cluster_state"),
        "fleet_clusters",
        ["environment", "cluster", "state"],
    )
    with op.batch_alter_table("approvals") as batch:
        batch.alter_column(
            "environment", existing_type=sa.String(63), type_=sa.String(127), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.alter_column(
            "environment", existing_type=sa.String(127), type_=sa.String(63), nullable=False
        )
    op.drop_index(op.f("ix_fleet_clusters_environment_cluster_state"), "fleet_clusters")
    op.drop_table("fleet_clusters")
