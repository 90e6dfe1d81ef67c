"""A later environment whose credentials do not load (or whose cluster does not
answer) blocks the rollout *visibly*: `blocked: reason` on the rollout (status,
API and dashboard read it), one audit event and one log line without a
traceback, while the step is retried; once the credentials load the rollout
moves on and the reason goes."""

from __future__ import annotations

import logging

import pytest

from rollout.errors import ConfigError
from tests.unit.engine.conftest import World

A = "a" * 40
BROKEN = "cannot load cluster credentials from /etc/prod/kubeconfig: no context 'prod'"


def _break_production(world: World) -> set[str]:
    """Production's credentials fail to load while the returned set is not empty."""
    broken = {"production"}
    original = world.ops.deployed_sha

    def deployed_sha(environment: str) -> str | None:
        if environment in broken:
            raise ConfigError(BROKEN)
        return original(environment)

    world.ops.deployed_sha = deployed_sha  # type: ignore[method-assign]
    return broken


def test_a_broken_later_environment_shows_blocked_with_its_reason(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    broken = _break_production(world)
    rollout = world.commit(A)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):  # three ticks of the driver
            world.engine.drive_all()
    record = world.store.get_rollout(rollout.id)
    assert record is not None
    assert record.state == "staging_verified"
    assert record.reason == f"blocked: {BROKEN}"
    blocked = [e for e in world.store.events(rollout_id=rollout.id) if e.kind == "rollout.blocked"]
    assert len(blocked) == 1
    assert [r.exc_info for r in caplog.records if "blocked" in r.getMessage()] == [None]

    broken.clear()  # the credentials load again
    world.clock.advance(minutes=1)  # past the step's retry time
    world.engine.drive_all()
    record = world.store.get_rollout(rollout.id)
    assert record is not None and record.state == "awaiting_approval"
    assert not (record.reason or "").startswith("blocked: ")
