"""Fleets: each cluster's progress in each rollout (`fleet_clusters`), with its audit event.

A cluster's row is created `pending` when its environment's rollout starts
(all clusters at once, so none can be forgotten) and moved by
compare-and-set; every move writes a `fleet.cluster.<state>` audit event in
the same transaction, so status and notifications can show per-cluster
results and a restart resumes from exactly what was recorded.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update

from rollout.store.base import StoreBase, check_channel, json_checked, rowcount
from rollout.store.convert import fleet_cluster_record
from rollout.store.records import FleetClusterRecord, JsonValue
from rollout.store.tables import FleetClusterRow

FLEET_EVENT_PREFIX = "fleet.cluster."


@dataclass(frozen=True)
class PlannedCluster:
    """A cluster to record as pending: where it sits in the plan and what it ran before."""

    cluster: str
    wave: str
    wave_index: int
    position: int
    previous_sha: str | None


class Fleets(StoreBase):
    """The `fleet_clusters` table."""

    def start_fleet(
        self,
        rollout_id: str,
        environment: str,
        commit_sha: str,
        clusters: Sequence[PlannedCluster],
        *,
        actor: str = "system",
        channel: str = "system",
    ) -> list[FleetClusterRecord]:
        """Record every cluster `pending` (once: a repeat after a crash adds nothing).

        Returns the rollout's rows for `environment`, in plan order."""
        check_channel(channel)
        now = self._now()
        with self._write() as session:
            added = [
                c.cluster
                for c in clusters
                if self._insert_new(
                    session,
                    FleetClusterRow,
                    ("rollout_id", "environment", "cluster"),
                    rollout_id=rollout_id,
                    environment=environment,
                    cluster=c.cluster,
                    wave=c.wave,
                    wave_index=c.wave_index,
                    position=c.position,
                    state="pending",
                    commit_sha=commit_sha,
                    previous_sha=c.previous_sha,
                    failure=None,
                    details={},
                    created_at=now,
                    updated_at=now,
                    verified_at=None,
                )
            ]
            if added:
                self._event(
                    session,
                    "fleet.started",
                    rollout_id=rollout_id,
                    environment=environment,
                    actor=actor,
                    channel=channel,
                    request_id=None,
                    details={"clusters": added, "commit_sha": commit_sha},
                    at=now,
                )
        return self.fleet_clusters(rollout_id, environment)

    def fleet_clusters(
        self, rollout_id: str, environment: str | None = None
    ) -> list[FleetClusterRecord]:
        """A rollout's cluster rows (of one environment, or all), in plan order."""
        query = select(FleetClusterRow).where(FleetClusterRow.rollout_id == rollout_id)
        if environment is not None:
            query = query.where(FleetClusterRow.environment == environment)
        query = query.order_by(
            FleetClusterRow.environment, FleetClusterRow.wave_index, FleetClusterRow.position
        )
        with self._read() as session:
            return [fleet_cluster_record(row) for row in session.scalars(query)]

    def move_fleet_cluster(
        self,
        rollout_id: str,
        environment: str,
        cluster: str,
        from_states: Collection[str],
        to_state: str,
        *,
        failure: str | None = None,
        details: Mapping[str, JsonValue] | None = None,
        actor: str = "system",
        channel: str = "system",
    ) -> FleetClusterRecord | None:
        """Compare-and-set one cluster's state, with its `fleet.cluster.<state>` event.

        `failure` (why the cluster failed) is kept once set; `details` are
        merged into the row's. Returns the new row, or None if the cluster
        was not in one of `from_states` (someone else moved it, or no row).
        """
        check_channel(channel)
        now = self._now()
        with self._write() as session:
            row = session.scalars(
                select(FleetClusterRow)
                .where(
                    FleetClusterRow.rollout_id == rollout_id,
                    FleetClusterRow.environment == environment,
                    FleetClusterRow.cluster == cluster,
                )
                .with_for_update()
            ).first()
            if row is None or row.state not in from_states:
                return None
            previous = row.state
            merged = json_checked({**dict(row.details or {}), **dict(details or {})}, "details")
            values: dict[str, object] = {
                "state": to_state,
                "updated_at": now,
                "details": merged,
            }
            if failure is not None and row.failure is None:
                values["failure"] = failure
            if to_state == "verified":
                values["verified_at"] = now
            result = session.execute(
                update(FleetClusterRow)
                .where(FleetClusterRow.id == row.id, FleetClusterRow.state == previous)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if rowcount(result) != 1:
                return None
            self._event(
                session,
                FLEET_EVENT_PREFIX + to_state,
                rollout_id=rollout_id,
                environment=environment,
                actor=actor,
                channel=channel,
                request_id=None,
                details={
                    "cluster": cluster,
                    "wave": row.wave,
                    "from": previous,
                    "to": to_state,
                    "commit_sha": row.commit_sha,
                    "previous_sha": row.previous_sha,
                    **({"failure": failure} if failure else {}),
                    **dict(details or {}),
                },
                at=now,
            )
            session.flush()
            session.refresh(row)
            return fleet_cluster_record(row)

    def last_verified_sha(self, environment: str, cluster: str) -> str | None:
        """The revision `cluster` of `environment` last passed its smoke tests with
        and still runs (not rolled back since); None if it never did."""
        query = (
            select(FleetClusterRow)
            .where(
                FleetClusterRow.environment == environment,
                FleetClusterRow.cluster == cluster,
                FleetClusterRow.state.in_(["verified", "rolled_back", "failed"]),
            )
            .order_by(FleetClusterRow.updated_at.desc(), FleetClusterRow.id.desc())
        )
        with self._read() as session:
            for row in session.scalars(query):
                if row.state == "verified":
                    return row.commit_sha
                if row.state == "rolled_back" and row.previous_sha is not None:
                    return row.previous_sha
            return None

    def latest_fleet_rollout(self, environment: str) -> str | None:
        """The rollout that last started on `environment`'s clusters: its rows say what
        each cluster runs now (pending ones their previous revision); None if none did."""
        query = (
            select(FleetClusterRow.rollout_id)
            .where(FleetClusterRow.environment == environment)
            .order_by(FleetClusterRow.id.desc())
            .limit(1)
        )
        with self._read() as session:
            return session.scalars(query).first()
