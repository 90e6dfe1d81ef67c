"""A fleet step that keeps raising is parked like any step: the rollout ends
production_failed with the error, and every cluster it touched is rolled back
(never the bare environment: a fleet has no default cluster)."""

from __future__ import annotations

import pytest

from rollout.ports import StageResult
from tests.unit.engine.conftest import World
from tests.unit.engine.fleet_world import approved, cluster_states, fleet

__all__ = ["fleet"]


def test_a_step_raising_in_the_second_wave_parks_and_rolls_back(
    fleet: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_smoke = fleet.ops.smoke

    def smoke(environment: str, sha: str, rollout_id: str) -> StageResult:
        if environment == "production/eu-2":
            raise RuntimeError("probe image cannot be parsed")
        return real_smoke(environment, sha, rollout_id)

    monkeypatch.setattr(fleet.ops, "smoke", smoke)
    rollout = approved(fleet)
    fleet.engine.drive_all()
    for _ in range(12):
        fleet.clock.advance(minutes=11)
        fleet.engine.drive_all()

    record = fleet.store.get_rollout(rollout)
    assert record is not None and record.state == "production_failed"
    assert record.reason is not None
    assert "RuntimeError: probe image cannot be parsed" in record.reason
    assert cluster_states(fleet, rollout) == {
        "canary-1": "rolled_back",
        "eu-1": "rolled_back",
        "eu-2": "rolled_back",
        "us-1": "skipped",
    }
    assert all(fleet.ops.deployed[f"production/{c}"] is None for c in ("canary-1", "eu-1", "eu-2"))
    assert not [c for c in fleet.ops.calls if c[1] == "production"]
