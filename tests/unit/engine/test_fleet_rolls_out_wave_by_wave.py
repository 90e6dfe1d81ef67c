"""A fleet environment: a good commit reaches every cluster wave by wave, each wave
inside its own window and after the previous wave's soak, and a further approval
holds the wave that asks for one."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.unit.engine.conftest import World
from tests.unit.engine.fleet_world import (
    CLUSTERS,
    applied_targets,
    approved,
    cluster_states,
    fleet,
    fleet_settings,
    make_world,
)

__all__ = ["fleet"]


def test_a_good_commit_reaches_every_cluster_in_wave_order(fleet: World) -> None:
    rollout = approved(fleet)
    fleet.engine.drive_all()
    assert cluster_states(fleet, rollout)["us-1"] == "pending"
    assert "soaking" in (fleet.engine.advance(rollout).waiting_for or "")
    assert fleet.scheduler.wakes[rollout] == fleet.clock.now + timedelta(minutes=5)

    fleet.clock.advance(minutes=5)
    fleet.engine.drive_all()

    assert fleet.state(rollout) == "done"
    order = applied_targets(fleet)
    assert len(order) == 4  # each cluster once
    assert order[0] == "production/canary-1"
    assert set(order[1:3]) == {"production/eu-1", "production/eu-2"}
    assert order[3] == "production/us-1"
    assert all(fleet.ops.deployed[f"production/{c}"] == "good1" for c in CLUSTERS)
    assert set(cluster_states(fleet, rollout).values()) == {"verified"}
    deployment = fleet.store.last_deployment("production")
    assert deployment is not None and deployment.commit_sha == "good1"
    # The bare fleet name is never operated on: no default-context cluster.
    assert not [c for c in fleet.ops.calls if c[1] == "production"]


def test_each_cluster_is_validated_applied_and_smoke_tested_in_that_order(fleet: World) -> None:
    rollout = approved(fleet)
    fleet.engine.drive_all()
    fleet.clock.advance(minutes=5)
    fleet.engine.drive_all()
    assert fleet.state(rollout) == "done"
    for cluster in CLUSTERS:
        target = f"production/{cluster}"
        assert [c[0] for c in fleet.ops.calls if c[1] == target] == ["validate", "apply", "smoke"]
    kinds = [e.kind for e in fleet.store.events(rollout_id=rollout, limit=None)]
    assert kinds.count("fleet.cluster.verified") == 4
    verified = fleet.store.events(rollout_id=rollout, kinds=["fleet.cluster.verified"])
    assert verified[0].details["cluster"] == "canary-1"
    assert verified[0].details["summary"] == "3 checks passed"


def test_a_wave_waits_for_its_own_window(fleet: World) -> None:
    opens = fleet.clock.now + timedelta(hours=3)
    fleet.gate.closed_waves["americas"] = opens
    rollout = approved(fleet)
    fleet.engine.drive_all()
    fleet.clock.advance(minutes=5)
    progress = fleet.engine.advance(rollout)

    assert not progress.moved
    assert progress.waiting_for == f"wave americas waits for its window at {opens.isoformat()}"
    assert fleet.scheduler.wakes[rollout] == opens
    assert cluster_states(fleet, rollout)["us-1"] == "pending"
    assert ("production", "americas") in fleet.gate.asked

    fleet.clock.now = opens
    fleet.engine.drive_all()
    assert fleet.state(rollout) == "done"


def test_the_first_wave_window_schedules_the_whole_fleet(fleet: World) -> None:
    opens = fleet.clock.now + timedelta(hours=1)
    fleet.gate.closed_waves["canary"] = opens
    rollout = approved(fleet)
    fleet.engine.drive_all()

    assert fleet.state(rollout) == "scheduled"
    assert fleet.scheduler.wakes[rollout] == opens
    assert applied_targets(fleet) == []
    fleet.clock.now = opens
    fleet.engine.drive_all()
    assert applied_targets(fleet)[0] == "production/canary-1"


def test_a_further_approval_holds_its_wave(tmp_path: Path) -> None:
    for world in make_world(tmp_path, fleet_settings(wave_approval=True)):
        rollout = approved(world)
        world.engine.drive_all()
        world.clock.advance(minutes=5)
        progress = world.engine.advance(rollout)

        assert progress.waiting_for == (
            "wave americas needs a further approval: needs 1 more approval"
        )
        asked = world.store.events(rollout_id=rollout, kinds=["fleet.wave.approval_requested"])
        assert [e.details["wave"] for e in asked] == ["americas"]
        world.engine.drive_all()
        assert len(world.store.events(rollout_id=rollout, kinds=[asked[0].kind])) == 1

        world.approvals.stages["production/americas"] = True
        world.engine.drive_all()
        assert world.state(rollout) == "done"


def test_a_hold_stops_new_clusters_between_waves(fleet: World) -> None:
    rollout = approved(fleet)
    fleet.engine.drive_all()
    fleet.store.set_hold("production", True, actor="alice", reason="incident")
    fleet.clock.advance(minutes=5)
    progress = fleet.engine.advance(rollout)

    assert progress.waiting_for == "production is on hold: incident"
    assert cluster_states(fleet, rollout)["us-1"] == "pending"


def test_each_wave_that_passed_is_announced_once_in_order(fleet: World) -> None:
    rollout = approved(fleet)
    fleet.engine.drive_all()
    fleet.engine = fleet.rebuilt()  # a restart re-enqueues; the outbox keeps one per wave
    fleet.engine.drive_all()
    fleet.clock.advance(minutes=5)
    fleet.engine.drive_all()

    assert fleet.state(rollout) == "done"
    events = [i.event for i in fleet.store.outbox_items(rollout_id=rollout)]
    passed = [
        i.idempotency_key
        for i in fleet.store.outbox_items(rollout_id=rollout)
        if i.event == "wave.passed"
    ]
    assert passed == [
        f"{rollout}:production:wave.passed:{wave}:slack"
        for wave in ("canary", "europe", "americas")
    ]
    # Once every cluster runs the commit: production.applied (what subscribers of a
    # single cluster's apply get), then smoke.passed, after the last wave's.
    assert events[-3:] == ["wave.passed", "production.applied", "smoke.passed"]
    assert events.count("production.applied") == 1


def test_break_glass_opens_every_wave_window(fleet: World) -> None:
    fleet.gate.closed_waves["americas"] = fleet.clock.now + timedelta(days=3)
    rollout = approved(fleet)
    fleet.store.record_event("window.break_glass", actor="alice", channel="cli", rollout_id=rollout)
    fleet.engine.drive_all()
    fleet.clock.advance(minutes=5)
    fleet.engine.drive_all()

    assert fleet.state(rollout) == "done"
