"""The diff graph's layout leaves nothing clipped or hidden, at a wide and a phone-sized
viewport: every label, node and edge inside the drawing, labels never overlapping each
other or a node, every name and port fully inside its box."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.dashboard.conftest import DIFF, Dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def conn(src: str, dst: str, port: int, kind_policy: str = "shop/allow") -> dict[str, Any]:
    return {
        "from": src,
        "to": dst,
        "port": port,
        "end_port": port,
        "ports": str(port),
        "protocol": "TCP",
        "policies": [kind_policy],
        "from_external": False,
        "to_external": False,
    }


# Everything inside one namespace, as in the report: edges between neighbours, across
# the box, a workload talking to itself, a long name, many ports on one edge.
ONE_NAMESPACE = {
    "opened": [
        conn("shop/web", "shop/api", 443),
        conn("shop/api", "shop/web", 443),
        conn("shop/web", "shop/cache", 6379),
        conn("shop/api", "shop/api", 8080),
        conn("shop/checkout-service-with-a-rather-long-name", "shop/api", 443),
        *(conn("shop/api", "shop/db", port) for port in (5432, 5433, 5434, 5435, 5436)),
        conn("shop/cache", "shop/web", 9090),
    ],
    "closed": [conn("shop/db", "shop/web", 443), conn("shop/web", "shop/db", 5432)],
}

MEASURE = """svg => {
  const box = b => ({x: b.x, y: b.y, w: b.width, h: b.height});
  const view = svg.viewBox.baseVal;
  const out = {view: {w: view.width, h: view.height}, shown: svg.getBoundingClientRect().width,
               elements: [], labels: [], nodes: [], fits: []};
  for (const el of svg.querySelectorAll('g.namespace > rect, g.node rect, g.node text, '
                                         + 'g.namespace > text, g.edge path, g.edge text')) {
    out.elements.push(box(el.getBBox()));
  }
  for (const g of svg.querySelectorAll('g.edge')) {
    const text = g.querySelector('text'), bg = g.querySelector('rect.label-bg') || text;
    out.labels.push({...box(bg.getBBox()), text: text.textContent});
    out.fits.push([text.getComputedTextLength(), bg.getBBox().width, text.textContent]);
  }
  for (const g of svg.querySelectorAll('g.namespace')) {
    const rect = g.querySelector(':scope > rect'), text = g.querySelector(':scope > text');
    const room = rect.getBBox().x + rect.getBBox().width - text.getBBox().x;
    out.fits.push([text.getComputedTextLength(), room, text.textContent]);
  }
  for (const g of svg.querySelectorAll('g.node')) {
    const rect = g.querySelector('rect'), text = g.querySelector('text');
    out.nodes.push(box(rect.getBBox()));
    out.fits.push([text.getComputedTextLength(), rect.getBBox().width - 10, text.textContent]);
  }
  return out;
}"""


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and (a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])
    )


@pytest.mark.parametrize("width", [1366, 400])
@pytest.mark.parametrize("diff", [ONE_NAMESPACE, DIFF], ids=["one-namespace", "four-namespaces"])
def test_no_label_or_edge_is_clipped_or_covered(
    signed_in: Any, dash: Dashboard, width: int, diff: dict[str, Any]
) -> None:
    page = signed_in
    page.set_viewport_size({"width": width, "height": 900})
    rollout = dash.rollout(state="staging_verified")
    dash.move(rollout.id, "awaiting_approval", environment="production", artifacts={"diff": diff})
    page.goto(f"{dash.url}/rollouts/{rollout.id}")
    graph = page.locator("svg.diff-graph")
    expect(graph).to_be_visible()
    got = graph.evaluate(MEASURE)
    view = got["view"]
    assert got["shown"] == pytest.approx(view["w"], abs=1)  # drawn at full size, never squeezed
    for element in got["elements"]:
        assert element["x"] >= 0 and element["y"] >= 0, element
        assert element["x"] + element["w"] <= view["w"], (element, view)
        assert element["y"] + element["h"] <= view["h"], (element, view)
    labels = got["labels"]
    for i, label in enumerate(labels):
        for other in labels[i + 1 :]:
            assert not overlap(label, other), (label, other)
        for node in got["nodes"]:
            assert not overlap(label, node), (label, node)
    for length, room, text in got["fits"]:
        assert length <= room, f"{text!r} is {length:.0f}px wide in a {room:.0f}px box"
    if diff is ONE_NAMESPACE:
        expect(graph.locator("g.edge text")).to_contain_text(["443/TCP"])
        scroller = page.get_by_role("region", name="Connectivity graph")
        scrolls = scroller.evaluate("e => e.scrollWidth >= e.firstElementChild.clientWidth")
        assert scrolls
    screenshot(page, f"diff-graph-{'one-ns' if diff is ONE_NAMESPACE else 'four-ns'}-{width}")


# Two pods of one Deployment (mid-rollout: two ReplicaSets) opening the same port: the PR
# comment lists one workload pair, and so do the graph, the heading and the table.
BY_WORKLOAD = {
    "opened": [
        conn("shop/web-7d4b9-abcde", "shop/api-0", 443),
        conn("shop/web-5f6c8-fghij", "shop/api-0", 443),
    ],
    "closed": [],
    "workloads": {
        "opened": [
            {
                "from": "shop/web[Deployment]",
                "to": "shop/api[StatefulSet]",
                "ports": "TCP 443",
                "port_ranges": [{"protocol": "TCP", "first": 443, "last": 443}],
                "policies": ["shop/allow"],
                "pod_pairs": 2,
            }
        ],
        "closed": [],
    },
}


def test_the_graph_names_and_counts_workloads_as_the_pr_comment_does(
    signed_in: Any, dash: Dashboard
) -> None:
    page = signed_in
    rollout = dash.rollout(state="staging_verified")
    dash.move(
        rollout.id, "awaiting_approval", environment="production", artifacts={"diff": BY_WORKLOAD}
    )
    page.goto(f"{dash.url}/rollouts/{rollout.id}")
    expect(page.locator("#h-diff")).to_have_text(
        "Connectivity diff: 1 opened, 0 closed between workloads (2 opened, 0 closed pod-level)"
    )
    graph = page.locator("svg.diff-graph")
    edge = graph.locator("g.edge")
    expect(edge).to_have_count(1)
    expect(edge).to_have_attribute("data-from", "shop/web[Deployment]")
    expect(edge.locator("text")).to_have_text("TCP 443")
    expect(graph.locator("g.node")).to_have_count(2)
    rows = page.get_by_role("table", name="Workload connections opened and closed")
    expect(rows.locator("tbody tr")).to_have_count(1)
    expect(rows).to_contain_text("shop/api[StatefulSet]")
    screenshot(page, "diff-graph-by-workload")
