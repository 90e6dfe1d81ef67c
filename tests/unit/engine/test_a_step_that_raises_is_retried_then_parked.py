"""A step that raises is retried with backoff, then the rollout is parked in the
failure state of that step with the error as its reason, and announced; an
infrastructure outage is retried for as long as it lasts. Before: the exception
escaped `advance` on every tick, the rollout stayed where it was, and nobody was
told."""

from __future__ import annotations

import logging

import pytest

from rollout.errors import ClusterError
from rollout.ports import StageResult
from tests.unit.engine.conftest import World

A, B = "a" * 40, "b" * 40
PARK_AFTER = 5  # rollout.engine.retries.PARK_AFTER, as documented


class Boom:
    """Replaces one ops method: raises `exc` on every call, counting them."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc
        self.calls = 0

    def __call__(self, *args: object) -> StageResult:
        self.calls += 1
        raise self.exc


def _tick_until_settled(world: World, rounds: int = 12) -> None:
    for _ in range(rounds):
        world.engine.drive_all()
        world.clock.advance(minutes=11)  # past the longest backoff


def test_validate_raising_ends_invalid_with_the_reason_and_is_announced(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    boom = Boom(ValueError("day is out of range for month"))
    monkeypatch.setattr(world.ops, "validate", boom)
    rollout = world.commit(A)

    with caplog.at_level(logging.WARNING, logger="rollout.engine"):
        _tick_until_settled(world)

    assert world.state(rollout.id) == "invalid"
    assert boom.calls == PARK_AFTER
    record = world.store.get_rollout(rollout.id)
    assert record is not None and record.reason is not None
    assert record.reason.startswith(f"parked after {PARK_AFTER} failed attempts of the detected")
    assert "ValueError: day is out of range for month" in record.reason
    events = [i.event for i in world.store.outbox_items(rollout_id=rollout.id)]
    assert events[-1] == "rollout.validated"
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1  # the first failure; later ones are one line each


def test_retries_wait_for_the_backoff(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    boom = Boom(RuntimeError("bug"))
    monkeypatch.setattr(world.ops, "validate", boom)
    rollout = world.commit(A)
    for _ in range(5):
        progress = world.engine.advance(rollout.id)
    assert boom.calls == 1
    assert progress.waiting_for is not None and "after RuntimeError: bug" in progress.waiting_for
    world.clock.advance(seconds=11)
    world.engine.advance(rollout.id)
    assert boom.calls == 2
    world.clock.advance(seconds=11)  # the second delay is 20 s
    world.engine.advance(rollout.id)
    assert boom.calls == 2


def test_one_raising_rollout_does_not_stop_the_others(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_validate = world.ops.validate

    def validate(environment: str, sha: str) -> StageResult:
        if sha == A:
            raise RuntimeError("bug")
        return real_validate(environment, sha)

    monkeypatch.setattr(world.ops, "validate", validate)
    first = world.commit(A)
    world.engine.drive_all()  # raised before: the driver stopped here
    assert world.state(first.id) == "detected"
    world.clock.advance(seconds=1)
    second = world.commit(B, A)
    world.engine.drive_all()
    assert world.state(second.id) == "awaiting_approval"


def test_an_outage_is_retried_and_never_parked(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    boom = Boom(ClusterError("staging: apiserver unreachable after 4 attempts"))
    monkeypatch.setattr(world.ops, "apply", boom)
    rollout = world.commit(A)
    _tick_until_settled(world, rounds=PARK_AFTER * 3)
    assert world.state(rollout.id) == "validated"
    assert boom.calls == PARK_AFTER * 3
    monkeypatch.undo()
    world.clock.advance(minutes=11)
    world.engine.drive_all()
    assert world.state(rollout.id) == "awaiting_approval"


def test_production_apply_raising_rolls_back_and_fails_production(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.approvals.granted_ = True
    real_apply = world.ops.apply

    def apply(environment: str, sha: str, rollout_id: str) -> StageResult:
        if environment == "production":
            raise KeyError("spec")
        return real_apply(environment, sha, rollout_id)

    monkeypatch.setattr(world.ops, "apply", apply)
    rollout = world.commit(A)
    _tick_until_settled(world)
    assert world.state(rollout.id) == "production_failed"
    assert ("rollback", "production", "None") in world.ops.calls
    events = [i.event for i in world.store.outbox_items(rollout_id=rollout.id)]
    assert events[-1] == "production.failed"
