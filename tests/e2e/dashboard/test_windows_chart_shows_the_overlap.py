"""The windows chart shows a fixed roster's overlap in the viewer's timezone."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.dashboard.conftest import Dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_overlap_of_berlin_and_new_york_with_a_freeze(signed_in: Any, dash: Dashboard) -> None:
    # alice 09-17 Berlin (08-16 UTC), bob 09-17 New York (14-22 UTC until 8 March):
    # 14:00-16:00 UTC on weekdays, Wednesday frozen; the viewer is in Berlin.
    page = signed_in
    page.goto(dash.url + "/windows")
    chart = page.locator("svg.windows-chart")
    expect(chart).to_be_visible()
    usable = chart.locator('rect[data-kind="usable"]')
    expect(usable).to_have_count(4)
    starts = [usable.nth(i).get_attribute("data-start") for i in range(4)]
    assert starts == [
        "2026-03-02T14:00:00+00:00",
        "2026-03-03T14:00:00+00:00",
        "2026-03-05T14:00:00+00:00",
        "2026-03-06T14:00:00+00:00",
    ]
    expect(chart.locator('rect[data-kind="freeze"]')).to_have_count(1)
    expect(chart.locator('rect[data-kind="hours"][data-member="alice"]')).to_have_count(5)
    rows = page.locator("table.windows-table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("Mon 02 Mar 15:00 CET")
    expect(rows.first).to_contain_text("Mon 02 Mar 17:00 CET")
    expect(rows.first).to_contain_text("alice, bob")
    expect(page.locator("body")).to_have_attribute("data-tz", "Europe/Berlin")
    expect(page.locator(".gate")).to_contain_text("1 of the required 2 members online (alice)")
    screenshot(page, "windows")
