"""`rollout reject` (the API, so Slack, GitHub and the CLI alike) while a fleet's
waves run: the rollout is not "past rejecting"; the stop is recorded once, for the
engine to halt it and roll back what it reached. Only those who may reject may stop."""

from __future__ import annotations

import pytest
import requests

from rollout.core.waves import STOP_REQUESTED
from rollout.core.waves import ClusterState as S
from tests.integration.fleet_view.conftest import FleetService

pytestmark = pytest.mark.integration


def _reject(fleet: FleetService, rollout_id: str, token: str, reason: str) -> requests.Response:
    return requests.post(
        f"{fleet.url}/api/v1/rollouts/{rollout_id}/reject",
        headers={"Authorization": f"Bearer {token}"},
        json={"reason": reason},
        timeout=10,
    )


def test_a_rejection_while_the_waves_run_stops_them_once(fleet: FleetService) -> None:
    rollout = fleet.rollout()
    moved = fleet.store.transition(
        rollout.id, ["scheduled"], "production_applied", actor="system", channel="system"
    )
    assert moved is not None
    fleet.move(rollout.id, "eu-1", S.APPLYING, S.APPLIED, S.VERIFIED)
    token = fleet.token()

    answer = _reject(fleet, rollout.id, token, "latency doubled in europe")

    assert answer.status_code == 200, answer.text
    assert answer.json()["message"] == (
        f"alice stopped {rollout.id}: no further cluster of production starts, and those "
        "it reached are rolled back (latency doubled in europe)"
    )
    (stop,) = fleet.store.events(rollout_id=rollout.id, kinds=[STOP_REQUESTED])
    assert (stop.actor, stop.details["reason"]) == ("alice", "latency doubled in europe")
    record = fleet.store.get_rollout(rollout.id)
    assert record is not None and record.state == "production_applied"  # the engine halts it

    again = _reject(fleet, rollout.id, token, "again")
    assert again.status_code == 200, again.text
    assert "already being stopped (alice: latency doubled in europe)" in again.json()["message"]
    assert len(fleet.store.events(rollout_id=rollout.id, kinds=[STOP_REQUESTED])) == 1


def test_someone_off_the_roster_cannot_stop_a_fleet(fleet: FleetService) -> None:
    rollout = fleet.rollout()
    fleet.store.transition(
        rollout.id, ["scheduled"], "production_applied", actor="system", channel="system"
    )
    answer = _reject(fleet, rollout.id, fleet.token("mallory"), "no")
    assert answer.status_code in (401, 403), answer.text
    assert fleet.store.events(rollout_id=rollout.id, kinds=[STOP_REQUESTED]) == []
