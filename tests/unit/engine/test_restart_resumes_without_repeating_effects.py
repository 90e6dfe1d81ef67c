"""A restarted engine (same store, same clusters) converges without duplicates."""

from __future__ import annotations

from tests.unit.engine.conftest import World

A = "a" * 40


def test_restart_while_awaiting_approval_keeps_the_approval(world: World) -> None:
    rollout = world.commit(A)
    world.engine.drive_all()
    world.store.transition(
        rollout.id, ["awaiting_approval"], "approved", actor="alice", channel="slack"
    )
    restarted = world.rebuilt()
    restarted.drive_all()
    assert world.state(rollout.id) == "done"
    assert world.ops.applies("production") == [A]


def test_apply_done_before_a_crash_is_recorded_not_repeated(world: World) -> None:
    world.approvals.granted_ = True
    world.gate.open_ = False
    world.gate.next_ = world.clock.now
    rollout = world.commit(A)
    world.engine.drive_all()
    assert world.state(rollout.id) == "scheduled"
    # The process applied production, then died before recording it.
    world.ops.deployed["production"] = A
    world.rebuilt().drive_all()
    assert world.state(rollout.id) == "done"
    assert world.ops.applies("production") == []


def test_repeated_announcements_and_deployments_are_not_duplicated(world: World) -> None:
    rollout = world.commit(A)
    engine = world.rebuilt()
    engine.drive_all()
    engine.drive_all()
    keys = [i.idempotency_key for i in world.store.outbox_items(rollout_id=rollout.id)]
    assert len(keys) == len(set(keys))
    assert len(world.store.deployments("staging")) == 1


def test_smoke_failure_recorded_before_a_crash_is_not_retested(world: World) -> None:
    world.ops.failing_smoke.add(("staging", A))
    rollout = world.commit(A)
    world.engine.advance(rollout.id)  # validated
    world.engine.advance(rollout.id)  # staging applied
    # Simulate: smoke verdict stored, then the process died before the rollback finished.
    world.store.set_artifacts(
        rollout.id, {"smoke": {"staging": {"ok": False, "summary": "1 failed", "report": {}}}}
    )
    world.ops.failing_smoke.clear()
    world.rebuilt().drive_all()
    assert world.state(rollout.id) == "staging_failed"
    assert not [c for c in world.ops.calls if c[0] == "smoke"]
