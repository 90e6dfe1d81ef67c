"""The rollout page of a fleet shows a row per cluster under its wave (state, the
revision it runs, changing while applied), each wave's phase, why a cluster
failed and the next wave's own window, in the viewer's timezone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from rollout.core.waves import ClusterState as S
from rollout.core.waves import cluster_predecessors
from rollout.store.fleets import PlannedCluster
from tests.e2e.dashboard.conftest import SCREENSHOTS, Dashboard, screenshot, serve, sign_in
from tests.integration.fleet_view.conftest import FLEET_CONFIG

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

NEW, OLD = "c" * 40, "d" * 40


def _fleet_rollout(dash: Dashboard) -> str:
    rollout = dash.rollout(state="production_applied", environment="production", sha=NEW)
    plan = [("eu-1", "canary", 0, 0), ("eu-2", "europe", 1, 0)]
    plan += [("us-1", "americas", 2, 0), ("us-2", "americas", 2, 1)]
    dash.store.start_fleet(
        rollout.id, "production", NEW, [PlannedCluster(c, w, i, p, OLD) for c, w, i, p in plan]
    )

    def walk(cluster: str, *states: S, failure: str | None = None) -> None:
        for state in states:
            preds = [str(s) for s in cluster_predecessors(state)]
            moved = dash.store.move_fleet_cluster(
                rollout.id, "production", cluster, preds, str(state), failure=failure
            )
            assert moved is not None

    walk("eu-1", S.APPLYING, S.APPLIED, S.VERIFIED)
    walk("eu-2", S.APPLYING, S.APPLIED, S.VERIFIED)
    walk("us-1", S.APPLYING)
    return rollout.id


def _rows(page: Any) -> list[list[str]]:
    rows = page.locator("table.fleet-clusters tbody tr")
    return [
        [cell.strip() for cell in rows.nth(i).locator("td").all_inner_texts()]
        for i in range(rows.count())
    ]


def test_rollout_page_lists_each_cluster_under_its_wave(tmp_path: Path, page: Any) -> None:
    with serve(tmp_path, FLEET_CONFIG) as dash:
        rollout_id = _fleet_rollout(dash)
        sign_in(page, dash, next_path=f"/rollouts/{rollout_id}")
        page.goto(f"{dash.url}/rollouts/{rollout_id}")
        heading = page.get_by_role("heading", name="Clusters of production")
        assert heading.inner_text() == (
            "Clusters of production: wave 3/3 americas running: 0/2 cluster(s) verified"
        )
        assert _rows(page) == [
            ["canary", "done 1/1", "eu-1", "verified", "cccccccccc", ""],
            ["europe", "done 1/1", "eu-2", "verified", "cccccccccc", ""],
            ["americas", "running 0/2", "us-1", "applying", "changing → cccccccccc", ""],
            ["", "", "us-2", "pending", "dddddddddd", ""],
        ]
        # us-2 is in the running wave: no next wave is announced
        assert page.locator("p.next-wave").count() == 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("section.fleet").screenshot(path=str(SCREENSHOTS / "fleet-rollout-page.png"))


def test_the_environments_table_says_which_clusters_run_which_revision(
    tmp_path: Path, page: Any
) -> None:
    # Mid-rollout (or held between waves) the fleet runs two revisions: one
    # "deployed" revision for production would be untrue for half of it.
    with serve(tmp_path, FLEET_CONFIG) as dash:
        dash.store.record_deployment("production", OLD, "h0")
        rollout_id = _fleet_rollout(dash)
        sign_in(page, dash, next_path="/")
        page.goto(f"{dash.url}/")
        row = page.locator("table.envs tr", has_text="production")
        cells = [c.strip() for c in row.locator("td").all_inner_texts()]
        assert cells[1].splitlines() == [
            "cccccccccc on eu-1, eu-2",
            "changing on us-1",
            "dddddddddd on us-2",
        ]
        assert cells[2:4] == ["—", f"per cluster, as of {rollout_id}"]
        # What the rollout waits for is its waves, not one smoke run in production.
        active = page.locator("table.active tr", has_text=rollout_id)
        expect(active).to_contain_text(
            "the waves of production: wave 3/3 americas running: 0/2 cluster(s) verified"
        )
        expect(active).not_to_contain_text("smoke tests in production")
        screenshot(page, "fleet-environments-overview")


def test_a_halted_fleet_says_which_cluster_failed_and_why(tmp_path: Path, page: Any) -> None:
    with serve(tmp_path, FLEET_CONFIG) as dash:
        rollout = dash.rollout(state="production_applied", environment="production", sha=NEW)
        plan = [("eu-1", "canary", 0, 0), ("eu-2", "europe", 1, 0)]
        plan += [("us-1", "americas", 2, 0), ("us-2", "americas", 2, 1)]
        dash.store.start_fleet(
            rollout.id, "production", NEW, [PlannedCluster(c, w, i, p, OLD) for c, w, i, p in plan]
        )
        for state in (S.APPLYING, S.APPLIED, S.ROLLING_BACK, S.ROLLED_BACK):
            preds = [str(s) for s in cluster_predecessors(state)]
            dash.store.move_fleet_cluster(
                rollout.id,
                "production",
                "eu-1",
                preds,
                str(state),
                failure="smoke: shop/web -> shop/api:8080 <refused>",
            )
        sign_in(page, dash, next_path=f"/rollouts/{rollout.id}")
        page.goto(f"{dash.url}/rollouts/{rollout.id}")
        rows = _rows(page)
        assert rows[0] == [
            "canary",
            "halted 0/1",
            "eu-1",
            "rolled back",
            "dddddddddd",
            "smoke: shop/web -> shop/api:8080 <refused>",
        ]
        assert [r[1] for r in rows if r[1]] == ["halted 0/1", "skipped 0/1", "skipped 0/2"]
