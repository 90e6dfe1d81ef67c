"""`GET /api/v1/rollouts/ID` and `rollout status ID` show a fleet: each cluster's
revision (changing while applied), each wave's phase, the next wave and its own
window, the soak, and the clusters that failed."""

from __future__ import annotations

import pytest
import requests
from click.testing import CliRunner

from rollout.cli.main import cli
from rollout.core.waves import ClusterState as S
from tests.integration.fleet_view.conftest import NEW, OLD, FleetService

pytestmark = pytest.mark.integration


def _get(fleet: FleetService, rollout_id: str, token: str) -> dict[str, object]:
    answer = requests.get(
        f"{fleet.url}/api/v1/rollouts/{rollout_id}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_api_shows_clusters_waves_and_the_next_waves_own_window(fleet: FleetService) -> None:
    rollout = fleet.rollout()
    token = fleet.token()
    fleet.move(rollout.id, "eu-1", S.APPLYING, S.APPLIED, S.VERIFIED)
    fleet.move(rollout.id, "eu-2", S.APPLYING)

    (production,) = _get(fleet, rollout.id, token)["fleets"]  # type: ignore[misc]
    assert production["progress"] == "wave 2/3 europe running: 0/1 cluster(s) verified"
    assert [
        (c["cluster"], c["wave"], c["state"], c["revision"], c["changing"])
        for c in production["clusters"]
    ] == [
        ("eu-1", "canary", "verified", NEW, False),
        ("eu-2", "europe", "applying", None, True),
        ("us-1", "americas", "pending", OLD, False),
        ("us-2", "americas", "pending", OLD, False),
    ]
    assert [(w["name"], w["phase"], w["verified"]) for w in production["waves"]] == [
        ("canary", "done", 1),
        ("europe", "running", 0),
        ("americas", "pending", 0),
    ]
    assert production["revisions"] == {NEW: ["eu-1"], "changing": ["eu-2"], OLD: ["us-1", "us-2"]}
    # americas has its own window rule (14:00-16:00 UTC), not the environment's (always open)
    assert production["next_wave"] == "americas"
    assert production["next_window"] == {
        "start": "2026-03-02T14:00:00Z",
        "end": "2026-03-02T16:00:00Z",
    }

    # europe passed: americas waits for europe's 30 minute soak
    fleet.move(rollout.id, "eu-2", S.APPLIED, S.VERIFIED)
    fleet.clock.advance(minutes=5)
    (production,) = _get(fleet, rollout.id, token)["fleets"]  # type: ignore[misc]
    assert [w["phase"] for w in production["waves"]] == ["done", "done", "soaking"]
    assert production["soak_until"] == "2026-03-02T10:30:00Z"


def test_status_prints_a_row_per_cluster_and_the_failure(fleet: FleetService) -> None:
    rollout = fleet.rollout()
    fleet.move(rollout.id, "eu-1", S.APPLYING, S.APPLIED, S.VERIFIED)
    fleet.move(rollout.id, "eu-2", S.APPLYING, S.APPLIED)
    fleet.move(
        rollout.id, "eu-2", S.ROLLING_BACK, S.ROLLED_BACK, failure="smoke: web -> db refused"
    )
    for cluster in ("us-1", "us-2"):
        fleet.move(rollout.id, cluster, S.SKIPPED)

    result = CliRunner().invoke(
        cli,
        ["status", rollout.id, "--server", fleet.url, "--token", fleet.token()],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    fleet_lines = result.stdout.split("  events:")[0].splitlines()
    start = next(i for i, line in enumerate(fleet_lines) if line.startswith("  fleet"))
    assert fleet_lines[start:] == [
        "  fleet        production: wave 2/3 europe halted: 0/1 cluster(s) verified; failed: eu-2",
        "    WAVE      PHASE    CLUSTER  STATE        REVISION",
        "    canary    done     eu-1     verified     aaaaaaaa",
        "    europe    halted   eu-2     rolled_back  bbbbbbbb",
        "    americas  skipped  us-1     skipped      bbbbbbbb",
        "                       us-2     skipped      bbbbbbbb",
        "    eu-2 failed: smoke: web -> db refused",
    ]
