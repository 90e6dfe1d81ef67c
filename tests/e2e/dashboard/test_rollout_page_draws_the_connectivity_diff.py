"""The rollout page draws the stored diff: opened edges green, closed red, ports on edges."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.dashboard.conftest import DIFF, Dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_graph_has_one_edge_per_changed_pair(signed_in: Any, dash: Dashboard) -> None:
    page = signed_in
    rollout = dash.rollout(state="staging_verified")
    dash.move(
        rollout.id,
        "awaiting_approval",
        environment="production",
        artifacts={
            "diff": DIFF,
            "lint": {
                "findings": [
                    {
                        "id": "NP009",
                        "severity": "warning",
                        "object": "NetworkPolicy/payments/egress",
                        "message": "egress to 0.0.0.0/0 without excepting private ranges",
                        "path": "",
                        "origin": "payments/egress.yaml:12",
                    }
                ]
            },
            "smoke": {
                "staging": {
                    "ok": True,
                    "summary": "5 passed",
                    "report": {
                        "results": [
                            {
                                "name": "web-to-api",
                                "outcome": "passed",
                                "source": "shop/web",
                                "target": "shop/api",
                                "port": 8080,
                                "protocol": "TCP",
                                "expect": "connected",
                                "observed": "connected",
                                "message": "ok",
                            }
                        ]
                    },
                }
            },
        },
    )
    page.goto(f"{dash.url}/rollouts/{rollout.id}")
    graph = page.locator("svg.diff-graph")
    expect(graph).to_be_visible()
    expect(graph.locator('g.edge[data-kind="opened"]')).to_have_count(3)
    expect(graph.locator('g.edge[data-kind="closed"]')).to_have_count(2)
    merged = graph.locator('g.edge[data-from="shop/web"][data-to="shop/api"]')
    expect(merged).to_have_attribute("data-ports", "8080/TCP 9090/TCP")
    expect(merged.locator("text")).to_have_text("8080/TCP, 9090/TCP")
    expect(graph.locator("g.namespace")).to_have_count(4)  # monitoring, payments, shop, external
    opened_colour = merged.locator("path").evaluate("p => getComputedStyle(p).stroke")
    closed_colour = graph.locator('g.edge[data-kind="closed"] path').first.evaluate(
        "p => getComputedStyle(p).stroke"
    )
    assert opened_colour == "rgb(26, 127, 55)"  # green
    assert closed_colour == "rgb(207, 34, 46)"  # red
    expect(page.locator("table.diff-table tbody tr")).to_have_count(6)
    expect(page.get_by_role("table", name="Lint findings")).to_contain_text("NP009")
    expect(page.get_by_role("table", name="Smoke checks in staging")).to_contain_text("web-to-api")
    expect(page.locator(".timeline li")).to_have_count(2)
    screenshot(page, "rollout")
