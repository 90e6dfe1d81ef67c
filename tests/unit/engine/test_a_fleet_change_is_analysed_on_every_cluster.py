"""A fleet's approval request: reviewers read the canary's diff, but risk rules see
what the change opens on every cluster (a cluster with its own overlay can open
traffic the canary does not), and the request says which clusters differ."""

from __future__ import annotations

from typing import Any

from rollout.engine.fleet_analysis import fleet_analysis, fleet_analysis_text
from rollout.ports import ChangeAnalysis
from tests.unit.engine.conftest import RecordingOps, World
from tests.unit.engine.fleet_world import CLUSTERS, fleet

__all__ = ["fleet"]

WEB = {"from": "shop/web", "to": "shop/api", "ports": "TCP 80"}
METRICS = {"from": "0.0.0.0/0", "to": "shop/api", "ports": "TCP 9100"}


def _analysis(opened: list[dict[str, Any]], riskiest: list[str]) -> ChangeAnalysis:
    return ChangeAnalysis(
        {"opened": opened, "closed": [], "riskiest": riskiest},
        {"findings": []},
        {"opened": opened},
    )


def test_risk_sees_every_clusters_openings_and_the_request_names_the_odd_one() -> None:
    canary = _analysis([WEB], ["+ shop/web -> shop/api TCP 80"])
    us = _analysis([WEB, METRICS], ["+ 0.0.0.0/0 -> shop/api TCP 9100"])

    merged = fleet_analysis([("canary-1", canary), ("eu-1", canary), ("us-1", us)])

    assert merged.risk["opened"] == [WEB, METRICS]  # once each, in order
    assert merged.diff["opened"] == [WEB]  # the canary's diff is what reviewers read
    assert merged.diff["riskiest"] == [
        "+ shop/web -> shop/api TCP 80",
        "+ 0.0.0.0/0 -> shop/api TCP 9100 (on us-1)",
    ]
    assert merged.diff["fleet"] == {
        "analysed": ["canary-1", "eu-1", "us-1"],
        "shown": "canary-1",
        "differ": {"us-1": {"opened": 1, "closed": 0}},
    }
    assert fleet_analysis_text(merged.diff) == (
        "analysed on 3 cluster(s) (diff of canary-1 shown); us-1 differs: +1 opened, -0 closed"
    )


def test_identical_clusters_say_so_and_a_failed_analysis_is_named() -> None:
    same = _analysis([WEB], [])
    failed = ChangeAnalysis({"error": "cannot connect"}, {"findings": []}, {"opened": []})

    merged = fleet_analysis([("a", same), ("b", same), ("c", failed)])

    assert merged.risk["opened"] == [WEB]
    assert fleet_analysis_text(merged.diff) == (
        "analysed on 3 cluster(s) (diff of a shown); c not analysed: cannot connect"
    )
    assert fleet_analysis_text(fleet_analysis([("a", same), ("b", same)]).diff) == (
        "analysed on 2 cluster(s) (diff of a shown); the others change the same"
    )


class _PerClusterOps(RecordingOps):
    def analyse(self, environment: str, old_sha: str | None, new_sha: str) -> ChangeAnalysis:
        self.calls.append(("analyse", environment, new_sha))
        if environment == "production/us-1":
            return _analysis([WEB, METRICS], ["+ 0.0.0.0/0 -> shop/api TCP 9100"])
        return _analysis([WEB], ["+ shop/web -> shop/api TCP 80"])


def test_the_approval_request_carries_every_clusters_openings(fleet: World) -> None:
    fleet.ops = _PerClusterOps()
    fleet.engine = fleet.rebuilt()
    rollout = fleet.commit("good1")
    fleet.engine.drive_all()

    record = fleet.store.get_rollout(rollout.id)
    assert record is not None and record.state == "awaiting_approval"
    analysed = [c[1] for c in fleet.ops.calls if c[0] == "analyse"]
    assert sorted(analysed) == sorted(f"production/{c}" for c in CLUSTERS)
    assert "production" not in analysed  # never the bare fleet name
    assert isinstance(record.risk, dict) and record.risk["opened"] == [WEB, METRICS]
    assert isinstance(record.diff, dict)
    assert record.diff["fleet"]["differ"] == {"us-1": {"opened": 1, "closed": 0}}
