from __future__ import annotations

from tests.unit.engine.conftest import World

A, B, C = "a" * 40, "b" * 40, "c" * 40


def test_newer_commit_supersedes_one_awaiting_approval(world: World) -> None:
    old = world.commit(A)
    world.engine.drive_all()
    assert world.state(old.id) == "awaiting_approval"
    new = world.commit(B, A)
    old_now = world.store.get_rollout(old.id)
    assert old_now is not None
    assert (old_now.state, old_now.superseded_by) == ("superseded", new.id)
    assert old.id in world.scheduler.cancelled


def test_quick_commits_leave_only_the_newest_running(world: World) -> None:
    rollouts = [world.commit(A), world.commit(B, A), world.commit(C, B)]
    world.engine.drive_all()
    assert [world.state(r.id) for r in rollouts] == [
        "superseded",
        "superseded",
        "awaiting_approval",
    ]
    assert world.ops.applies("staging") == [C]


def test_detecting_the_same_commit_twice_returns_the_same_rollout(world: World) -> None:
    first = world.commit(A)
    again = world.commit(A)
    assert again.id == first.id
    assert len(world.store.list_rollouts()) == 1


def test_rollout_in_production_is_not_superseded(world: World) -> None:
    world.approvals.granted_ = True
    old = world.commit(A)
    world.engine.drive_all()
    assert world.state(old.id) == "done"
    new = world.commit(B, A)
    assert world.state(new.id) == "detected"
    assert world.state(old.id) == "done"
