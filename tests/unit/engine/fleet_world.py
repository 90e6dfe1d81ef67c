"""A fleet of four clusters in three waves over the engine test world (see conftest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rollout.config.schema import Settings
from rollout.engine import RolloutEngine
from rollout.store import open_store
from tests.unit.engine.conftest import (
    Approvals,
    FakeClock,
    Gate,
    RecordingOps,
    RecordingScheduler,
    World,
    announce,
)

CLUSTERS = ["canary-1", "eu-1", "eu-2", "us-1"]


def fleet_settings(*, on_failure: str = "cluster", wave_approval: bool = False) -> Settings:
    last_wave: dict[str, object] = {"name": "americas", "clusters": ["us-1"]}
    if wave_approval:
        last_wave["approvals"] = {"required": 1}
    return Settings.model_validate(
        {
            "repository": {"path": "/tmp/policies"},
            "team": {"members": [{"name": "alice", "timezone": "UTC"}]},
            "environments": [
                {"name": "staging", "namespaces": ["apps"], "overlay": "staging"},
                {
                    "name": "production",
                    "namespaces": ["apps"],
                    "overlay": "production",
                    "approvals": {"required": 1},
                    "clusters": [
                        {"name": "canary-1", "labels": {"tier": "canary"}},
                        {"name": "eu-1", "region": "europe"},
                        {"name": "eu-2", "region": "europe"},
                        {"name": "us-1", "region": "americas"},
                    ],
                    "waves": [
                        {"name": "canary", "selector": {"tier": "canary"}},
                        {
                            "name": "europe",
                            "selector": {"region": "europe"},
                            "max_parallel": 2,
                            "soak": "5m",
                            "on_failure": on_failure,
                        },
                        last_wave,
                    ],
                },
            ],
        }
    )


def make_world(tmp_path: Path, settings: Settings) -> Iterator[World]:
    clock = FakeClock()
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", clock=clock)
    ops, gate, approvals, scheduler = RecordingOps(), Gate(), Approvals(), RecordingScheduler()
    engine = RolloutEngine(settings, store, ops, gate, approvals, scheduler, announce, clock)
    try:
        yield World(engine, store, ops, gate, approvals, scheduler, clock, settings)
    finally:
        store.close()


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path, fleet_settings())


def approved(world: World, sha: str = "good1") -> str:
    """A commit through staging, approved for production; returns its rollout id."""
    rollout = world.commit(sha)
    world.engine.drive_all()
    assert world.state(rollout.id) == "awaiting_approval"
    world.approvals.granted_ = True
    return rollout.id


def deployed_everywhere(world: World, sha: str = "old") -> None:
    """Every cluster already runs `sha` from an earlier rollout; calls and approval reset."""
    rollout = approved(world, sha)
    world.engine.drive_all()
    world.clock.advance(minutes=5)
    world.engine.drive_all()
    assert world.state(rollout) == "done"
    world.ops.calls.clear()
    world.approvals.granted_ = False


def applied_targets(world: World) -> list[str]:
    return [c[1] for c in world.ops.calls if c[0] == "apply" and "/" in c[1]]


def cluster_states(world: World, rollout_id: str) -> dict[str, str]:
    return {r.cluster: r.state for r in world.store.fleet_clusters(rollout_id, "production")}
