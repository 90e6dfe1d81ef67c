"""`rollout reject` while a fleet's waves run stops it: no further cluster starts,
every cluster it reached goes back to what it ran, and the end says who stopped it."""

from __future__ import annotations

from rollout.core.waves import STOP_REQUESTED
from tests.unit.engine.conftest import World
from tests.unit.engine.fleet_world import (
    CLUSTERS,
    approved,
    cluster_states,
    deployed_everywhere,
    fleet,
)

__all__ = ["fleet"]


def test_a_stop_between_waves_rolls_back_what_it_reached_and_skips_the_rest(
    fleet: World,
) -> None:
    deployed_everywhere(fleet, "old")
    rollout = approved(fleet, "new1")
    fleet.engine.drive_all()  # canary and europe verified; americas after a 5 min soak
    assert cluster_states(fleet, rollout)["eu-2"] == "verified"
    fleet.store.record_event(
        STOP_REQUESTED,
        actor="alice",
        channel="api",
        rollout_id=rollout,
        environment="production",
        details={"reason": "latency doubled in europe"},
    )
    fleet.engine.drive_all()

    record = fleet.store.get_rollout(rollout)
    assert record is not None and record.state == "production_failed"
    assert cluster_states(fleet, rollout) == {
        "canary-1": "rolled_back",
        "eu-1": "rolled_back",
        "eu-2": "rolled_back",
        "us-1": "skipped",
    }
    assert all(fleet.ops.deployed[f"production/{c}"] == "old" for c in CLUSTERS)
    assert not [c for c in fleet.ops.calls if c[0] == "apply" and c[1] == "production/us-1"]
    assert record.reason is not None
    assert record.reason.startswith(
        "stopped by alice: latency doubled in europe; rolled back where it reached."
    )
    events = [i.event for i in fleet.store.outbox_items(rollout_id=rollout)]
    assert events[-1] == "production.failed"
