from __future__ import annotations

from datetime import timedelta

from tests.unit.engine.conftest import World


def test_commit_reaches_production_after_approval(world: World) -> None:
    rollout = world.commit("a" * 40)
    world.engine.drive_all()
    assert world.state(rollout.id) == "awaiting_approval"
    record = world.store.get_rollout(rollout.id)
    assert record is not None and record.environment == "production"
    assert world.ops.applies("staging") == ["a" * 40]
    assert world.ops.applies("production") == []

    world.approvals.granted_ = True
    world.engine.drive_all()
    assert world.state(rollout.id) == "done"
    assert world.ops.applies("production") == ["a" * 40]
    events = [i.event for i in world.store.outbox_items(rollout_id=rollout.id)]
    assert events == [
        "rollout.detected",
        "rollout.validated",
        "staging.applied",
        "smoke.passed",
        "approval.requested",
        "approval.granted",
        "production.applied",
        "smoke.passed",  # production's own: keys name the environment
    ]
    deployed = world.store.last_deployment("production")
    assert deployed is not None and deployed.commit_sha == "a" * 40


def test_approval_moved_by_the_approvals_service_is_picked_up(world: World) -> None:
    rollout = world.commit("a" * 40)
    world.engine.drive_all()
    moved = world.store.transition(
        rollout.id, ["awaiting_approval"], "approved", actor="alice", channel="slack"
    )
    assert moved is not None
    world.engine.drive_all()
    assert world.state(rollout.id) == "done"


def test_closed_window_schedules_and_applies_when_it_opens(world: World) -> None:
    world.approvals.granted_ = True
    world.gate.open_ = False
    world.gate.next_ = world.clock.now + timedelta(hours=3)
    rollout = world.commit("a" * 40)
    world.engine.drive_all()
    assert world.state(rollout.id) == "scheduled"
    assert world.scheduler.wakes[rollout.id] == world.gate.next_
    assert world.ops.applies("production") == []
    # Driving again while closed changes nothing and announces nothing new.
    world.engine.drive_all()
    items = world.store.outbox_items(rollout_id=rollout.id)
    scheduled = [i for i in items if i.event == "production.scheduled"]
    assert len(scheduled) == 1

    world.clock.advance(hours=3)
    world.gate.open_ = True
    world.engine.drive_all()
    assert world.state(rollout.id) == "done"
    assert rollout.id in world.scheduler.cancelled


def test_hold_keeps_an_approved_rollout_waiting(world: World) -> None:
    world.approvals.granted_ = True
    world.store.set_hold("production", True, "alice", "incident")
    rollout = world.commit("a" * 40)
    progress = world.engine.drive_all()
    assert world.state(rollout.id) == "approved"
    assert progress[-1].waiting_for == "production is on hold: incident"
    world.store.set_hold("production", False, "alice")
    world.engine.drive_all()
    assert world.state(rollout.id) == "done"
