"""Deployments: which revision was applied to (or rolled back from) each environment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from rollout.errors import StoreError
from rollout.store.base import StoreBase, utc
from rollout.store.convert import deployment_record
from rollout.store.records import DeploymentRecord
from rollout.store.tables import DeploymentRow

DEPLOYMENT_STATUSES = frozenset({"applied", "rolled_back", "failed"})


class Deployments(StoreBase):
    """The `deployments` table."""

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
        _check_status(status)
        with self._write() as session:
            row = DeploymentRow(
                environment=environment,
                commit_sha=commit_sha,
                content_hash=content_hash,
                rollout_id=rollout_id,
                applied_at=utc(applied_at) if applied_at else self._now(),
                status=status,
            )
            session.add(row)
            session.flush()
            return deployment_record(row)

    def set_deployment_status(self, deployment_id: int, status: str) -> DeploymentRecord:
        _check_status(status)
        with self._write() as session:
            row = session.get(DeploymentRow, deployment_id)
            if row is None:
                raise StoreError(f"no deployment {deployment_id} in the state store")
            row.status = status
            session.flush()
            return deployment_record(row)

    def last_deployment(self, environment: str, status: str = "applied") -> DeploymentRecord | None:
        query = (
            select(DeploymentRow)
            .where(DeploymentRow.environment == environment, DeploymentRow.status == status)
            .order_by(DeploymentRow.applied_at.desc(), DeploymentRow.id.desc())
            .limit(1)
        )
        with self._read() as session:
            row = session.scalars(query).first()
            return deployment_record(row) if row is not None else None

    def deployments(self, environment: str, limit: int = 100) -> list[DeploymentRecord]:
        """Newest first."""
        query = (
            select(DeploymentRow)
            .where(DeploymentRow.environment == environment)
            .order_by(DeploymentRow.applied_at.desc(), DeploymentRow.id.desc())
            .limit(limit)
        )
        with self._read() as session:
            return [deployment_record(row) for row in session.scalars(query)]


def _check_status(status: str) -> None:
    if status not in DEPLOYMENT_STATUSES:
        raise ValueError(f"status must be one of {sorted(DEPLOYMENT_STATUSES)}, got {status!r}")
