"""A fleet environment in the real service: SQLite store, the HTTP app served by
uvicorn, and helpers that record cluster progress as the wave engine does.

Fixtures:
  clock      a settable clock (store, windows and the app share it)
  settings   staging + a production fleet of four clusters in three waves; the
             `americas` wave has its own window (14:00-16:00 UTC)
  store      a migrated SQLite Store
  fleet      `FleetService`: the app's URL, a member token, a rollout in production
             and `move(...)` to record cluster states
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollout.config.schema import Settings
from rollout.core.waves import ClusterState, cluster_predecessors
from rollout.server.app import create_app
from rollout.server.auth import hash_token
from rollout.store import RolloutRecord, Store, open_store
from rollout.store.fleets import PlannedCluster
from tests.integration.approvals.conftest import Clock
from tests.support.serving import serving

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
NEW, OLD = "a" * 40, "b" * 40

FLEET_CONFIG: dict[str, Any] = {
    "repository": {"path": "/tmp/policies"},
    "environments": [
        {"name": "staging", "namespaces": ["shop"], "overlay": "overlays/staging"},
        {
            "name": "production",
            "namespaces": ["shop"],
            "overlay": "overlays/production",
            "clusters": [
                {"name": "eu-1", "context": "eu-1", "region": "europe"},
                {"name": "eu-2", "context": "eu-2", "region": "europe"},
                {"name": "us-1", "context": "us-1", "region": "americas"},
                {"name": "us-2", "context": "us-2", "region": "americas"},
            ],
            "waves": [
                {"name": "canary", "clusters": ["eu-1"]},
                {"name": "europe", "clusters": ["eu-2"], "soak": "30m"},
                {
                    "name": "americas",
                    "selector": {"region": "americas"},
                    "max_parallel": 2,
                    "windows": {
                        "explicit": [{"kind": "allow", "schedule": "0 14 * * *", "duration": "2h"}]
                    },
                },
            ],
        },
    ],
    "team": {
        "members": [
            {"name": "alice", "timezone": "Europe/Berlin", "groups": ["approvers"]},
        ]
    },
}


@dataclass
class FleetService:
    url: str
    store: Store
    clock: Clock
    settings: Settings

    def token(self, member: str = "alice") -> str:
        token = f"nrt_test_{member}_{time.monotonic_ns()}"
        self.store.create_token(member, hash_token(token))
        return token

    def rollout(self) -> RolloutRecord:
        record = self.store.create_rollout(
            environment="production",
            commit_sha=NEW,
            author="alice",
            author_email="alice@example.com",
            message="open web -> api",
            state="scheduled",
        )
        plan = self.settings.environment("production").wave_plan()
        self.store.start_fleet(
            record.id,
            "production",
            NEW,
            [
                PlannedCluster(cluster, wave.name, wave.index, position, OLD)
                for wave in plan.waves
                for position, cluster in enumerate(wave.clusters)
            ],
        )
        return record

    def move(self, rollout_id: str, cluster: str, *path: ClusterState, failure: str = "") -> None:
        """Walk `cluster` through `path` (each a legal next state), as the engine would."""
        for state in path:
            moved = self.store.move_fleet_cluster(
                rollout_id,
                "production",
                cluster,
                [str(s) for s in cluster_predecessors(state)],
                str(state),
                failure=failure or None,
            )
            assert moved is not None, (cluster, state)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    from rollout.config.loader import load_config

    data = {**FLEET_CONFIG, "store": {"url": f"sqlite:///{tmp_path / 'state.db'}"}}
    path = tmp_path / "rollout.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_config(path)


@pytest.fixture
def store(settings: Settings, clock: Clock) -> Iterator[Store]:
    store = open_store(settings.store.url, clock=clock)
    yield store
    store.close()


@pytest.fixture
def fleet(settings: Settings, store: Store, clock: Clock) -> Iterator[FleetService]:
    app = create_app(settings, store, clock=clock)
    with serving(app) as url:
        yield FleetService(url, store, clock, settings)
