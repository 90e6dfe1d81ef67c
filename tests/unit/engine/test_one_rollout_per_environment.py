from __future__ import annotations

from tests.unit.engine.conftest import World

A, B = "a" * 40, "b" * 40


def test_a_rollout_waits_while_an_older_one_verifies_in_production(world: World) -> None:
    world.approvals.granted_ = True
    first = world.commit(A)
    for _ in range(6):  # up to production_applied, smoke not run yet
        world.engine.advance(first.id)
    assert world.state(first.id) == "production_applied"
    second = world.commit(B, A)
    world.engine.advance(second.id)
    world.engine.advance(second.id)  # validated -> staging applied (staging is free)
    for _ in range(3):
        world.engine.advance(second.id)
    assert world.state(second.id) == "approved"
    progress = world.engine.advance(second.id)
    assert not progress.moved
    assert progress.waiting_for == f"waiting for {first.id} to finish in production"
    world.engine.drive_all()
    assert world.state(first.id) == "done" and world.state(second.id) == "done"
    assert world.ops.applies("production") == [A, B]
