from __future__ import annotations

from tests.unit.engine.conftest import World

A, B = "a" * 40, "b" * 40


def _deploy_a(world: World) -> None:
    world.approvals.granted_ = True
    first = world.commit(A)
    world.engine.drive_all()
    assert world.state(first.id) == "done"
    world.approvals.granted_ = False


def test_failed_smoke_in_staging_rolls_back_to_the_last_good_revision(world: World) -> None:
    _deploy_a(world)
    world.ops.failing_smoke.add(("staging", B))
    bad = world.commit(B, A)
    world.engine.drive_all()
    assert world.state(bad.id) == "staging_failed"
    assert ("rollback", "staging", A) in world.ops.calls
    assert world.ops.deployed["staging"] == A
    assert world.ops.applies("production") == [A]
    events = [i.event for i in world.store.outbox_items(rollout_id=bad.id)]
    assert events[-2:] == ["smoke.failed", "staging.rolled_back"]
    record = world.store.get_rollout(bad.id)
    assert record is not None and record.smoke["staging"]["ok"] is False


def test_refused_apply_fails_staging(world: World) -> None:
    world.ops.failing_apply.add(("staging", A))
    rollout = world.commit(A)
    world.engine.drive_all()
    assert world.state(rollout.id) == "staging_failed"
    assert ("rollback", "staging", "None") in world.ops.calls


def test_invalid_commit_never_touches_a_cluster(world: World) -> None:
    world.ops.invalid.add(A)
    rollout = world.commit(A)
    world.engine.drive_all()
    assert world.state(rollout.id) == "invalid"
    assert world.ops.applies("staging") == []


def test_failed_production_smoke_rolls_production_back(world: World) -> None:
    _deploy_a(world)
    world.approvals.granted_ = True
    world.ops.failing_smoke.add(("production", B))
    rollout = world.commit(B, A)
    world.engine.drive_all()
    assert world.state(rollout.id) == "production_failed"
    assert world.ops.deployed["production"] == A
    assert world.ops.deployed["staging"] == B
