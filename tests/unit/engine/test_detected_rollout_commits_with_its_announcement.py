"""`detect` writes the rollout and its `rollout.detected` outbox row in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from rollout.engine import RolloutEngine
from rollout.ports import Commit
from rollout.store.records import OutboxItem, RolloutRecord
from tests.unit.engine.conftest import World

A = "a" * 40


def _engine(world: World, announce: Any) -> RolloutEngine:
    return RolloutEngine(
        world.settings,
        world.store,
        world.ops,
        world.gate,
        world.approvals,
        world.scheduler,
        announce,
        world.clock,
    )


def test_failing_announcement_leaves_no_rollout(world: World) -> None:
    def broken(rollout: RolloutRecord, event: str, details: Mapping[str, Any]) -> list[OutboxItem]:
        raise RuntimeError(f"cannot announce {event} for {rollout.id}")

    engine = _engine(world, broken)
    with pytest.raises(RuntimeError, match=r"cannot announce rollout\.detected"):
        engine.detect(Commit(A, "Bob", "bob@example.com", "change"), None)
    assert world.store.list_rollouts(commit_sha=A) == []
    assert world.store.outbox_items() == []
    assert world.store.events() == []


def test_the_announcement_sees_the_new_rollout_and_commits_with_it(world: World) -> None:
    rollout = world.commit(A)
    (item,) = world.store.outbox_items(rollout_id=rollout.id)
    assert (item.event, item.idempotency_key) == (
        "rollout.detected",
        f"{rollout.id}:staging:rollout.detected:slack",
    )
    assert item.payload == {"state": "detected", "environment": "staging"}
    # Detecting the same commit again neither creates nor announces anything.
    assert world.commit(A).id == rollout.id
    assert len(world.store.outbox_items()) == 1
