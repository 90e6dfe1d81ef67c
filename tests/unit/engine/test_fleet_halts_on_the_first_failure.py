"""A fleet halts on its first failure: that cluster (and with `on_failure: wave` its
wave) is rolled back, later waves are never started, and the announcement says
which cluster runs which revision."""

from __future__ import annotations

from pathlib import Path

from tests.unit.engine.conftest import World
from tests.unit.engine.fleet_world import (
    applied_targets,
    approved,
    cluster_states,
    deployed_everywhere,
    fleet,
    fleet_settings,
    make_world,
)

__all__ = ["fleet"]


def test_smoke_failure_in_the_canary_never_reaches_the_second_wave(fleet: World) -> None:
    deployed_everywhere(fleet)
    fleet.ops.failing_smoke.add(("production/canary-1", "bad"))
    rollout = approved(fleet, "bad")
    fleet.engine.drive_all()

    record = fleet.store.get_rollout(rollout)
    assert record is not None and record.state == "production_failed"
    assert applied_targets(fleet) == ["production/canary-1"]
    assert ("rollback", "production/canary-1", "old") in fleet.ops.calls
    assert fleet.ops.deployed["production/canary-1"] == "old"
    assert cluster_states(fleet, rollout) == {
        "canary-1": "rolled_back",
        "eu-1": "skipped",
        "eu-2": "skipped",
        "us-1": "skipped",
    }
    assert record.reason == (
        "halted after canary-1: 1 of 3 checks failed. Now running: canary-1 old "
        "(rolled_back), eu-1 old (skipped), eu-2 old (skipped), us-1 old (skipped)"
    )
    failed = [
        i for i in fleet.store.outbox_items(rollout_id=rollout) if i.event == "production.failed"
    ]
    assert len(failed) == 1
    event = fleet.store.events(rollout_id=rollout, kinds=["state.changed"])[-1]
    assert event.details["failed"] == ["canary-1"]
    assert event.details["clusters"]["canary-1"] == {
        "wave": "canary",
        "state": "rolled_back",
        "revision": "old",
    }
    rolled = fleet.store.events(rollout_id=rollout, kinds=["fleet.cluster.rolled_back"])
    assert [e.details["cluster"] for e in rolled] == ["canary-1"]


def test_a_refused_apply_in_the_second_wave_rolls_back_that_cluster_only(
    fleet: World,
) -> None:
    deployed_everywhere(fleet)
    fleet.ops.failing_apply.add(("production/eu-2", "bad"))
    rollout = approved(fleet, "bad")
    fleet.engine.drive_all()
    fleet.clock.advance(minutes=5)
    fleet.engine.drive_all()

    assert fleet.state(rollout) == "production_failed"
    states = cluster_states(fleet, rollout)
    assert states == {
        "canary-1": "verified",
        "eu-1": "verified",
        "eu-2": "rolled_back",
        "us-1": "skipped",
    }
    assert "production/us-1" not in applied_targets(fleet)
    assert fleet.ops.deployed["production/eu-1"] == "bad"
    assert fleet.ops.deployed["production/eu-2"] == "old"


def test_on_failure_wave_rolls_back_the_whole_wave(tmp_path: Path) -> None:
    for world in make_world(tmp_path, fleet_settings(on_failure="wave")):
        deployed_everywhere(world)
        world.ops.failing_smoke.add(("production/eu-2", "bad"))
        rollout = approved(world, "bad")
        world.engine.drive_all()
        world.clock.advance(minutes=5)
        world.engine.drive_all()

        assert world.state(rollout) == "production_failed"
        assert cluster_states(world, rollout) == {
            "canary-1": "verified",
            "eu-1": "rolled_back",
            "eu-2": "rolled_back",
            "us-1": "skipped",
        }
        assert world.ops.deployed["production/eu-1"] == "old"
        assert world.ops.deployed["production/canary-1"] == "bad"
        rows = {r.cluster: r for r in world.store.fleet_clusters(rollout, "production")}
        assert rows["eu-2"].failure == "1 of 3 checks failed"
        assert rows["eu-1"].failure is None


def test_smoke_failure_without_rollback_keeps_the_cluster_and_halts(tmp_path: Path) -> None:
    settings = fleet_settings()
    production = settings.environments[1]
    kept = production.model_copy(
        update={"smoke": production.smoke.model_copy(update={"rollback_on_failure": False})}
    )
    settings = settings.model_copy(update={"environments": (settings.environments[0], kept)})
    for world in make_world(tmp_path, settings):
        world.ops.failing_smoke.add(("production/canary-1", "bad"))
        rollout = approved(world, "bad")
        world.engine.drive_all()

        assert world.state(rollout) == "production_failed"
        assert cluster_states(world, rollout)["canary-1"] == "failed"
        assert world.ops.deployed["production/canary-1"] == "bad"
        assert not [c for c in world.ops.calls if c[0] == "rollback"]
