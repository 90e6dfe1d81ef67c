"""`smoke.rollback_on_failure: false`: the rollout fails, the cluster keeps the revision."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rollout.config.schema import Settings
from tests.unit.engine.conftest import SETTINGS, World

A, B = "a" * 40, "b" * 40


@pytest.fixture
def no_rollback(world: World) -> World:
    raw: dict[str, Any] = copy.deepcopy(SETTINGS)
    for env in raw["environments"]:
        env["smoke"] = {"rollback_on_failure": False}
    world.settings = Settings.model_validate(raw)
    world.engine = world.rebuilt()
    return world


def _deploy_a(world: World) -> None:
    world.approvals.granted_ = True
    first = world.commit(A)
    world.engine.drive_all()
    assert world.state(first.id) == "done"


def _skipped(world: World, rollout_id: str) -> list[dict[str, object]]:
    events = world.store.events(rollout_id=rollout_id, kinds=["rollback.skipped"])
    return [dict(e.details, environment=e.environment) for e in events]


def test_failed_staging_smoke_leaves_staging_on_the_new_revision(no_rollback: World) -> None:
    world = no_rollback
    _deploy_a(world)
    world.ops.failing_smoke.add(("staging", B))
    bad = world.commit(B, A)
    world.engine.drive_all()
    assert world.state(bad.id) == "staging_failed"
    assert not [c for c in world.ops.calls if c[0] == "rollback"]
    assert world.ops.deployed == {"staging": B, "production": A}
    assert world.ops.applies("production") == [A]
    assert world.store.events(kinds=["rollback"]) == []
    (skipped,) = _skipped(world, bad.id)
    assert skipped["environment"] == "staging" and skipped["kept"] == B
    assert "rollback_on_failure: false" in str(skipped["why"])
    events = [i.event for i in world.store.outbox_items(rollout_id=bad.id)]
    assert events[-1] == "smoke.failed"
    assert "staging.rolled_back" not in events


def test_failed_production_smoke_still_fails_without_rolling_back(no_rollback: World) -> None:
    world = no_rollback
    _deploy_a(world)
    world.ops.failing_smoke.add(("production", B))
    rollout = world.commit(B, A)
    world.engine.drive_all()
    assert world.state(rollout.id) == "production_failed"
    assert world.ops.deployed["production"] == B
    assert not [c for c in world.ops.calls if c[0] == "rollback"]
    (skipped,) = _skipped(world, rollout.id)
    assert skipped["environment"] == "production"
    events = [i.event for i in world.store.outbox_items(rollout_id=rollout.id)]
    assert events[-1] == "production.failed"


def test_default_still_rolls_back(world: World) -> None:
    assert world.settings.environment("staging").smoke.rollback_on_failure
    world.ops.failing_smoke.add(("staging", A))
    rollout = world.commit(A)
    world.engine.drive_all()
    assert world.state(rollout.id) == "staging_failed"
    assert ("rollback", "staging", "None") in world.ops.calls
    assert _skipped(world, rollout.id) == []
