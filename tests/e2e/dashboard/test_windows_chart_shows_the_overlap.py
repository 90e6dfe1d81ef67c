"""The windows chart shows a fixed roster's overlap, freezes and deny windows in the viewer's
timezone."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.dashboard.conftest import CONFIG, Dashboard, screenshot, serve, sign_in

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


def test_deny_windows_are_drawn_listed_and_in_the_legend(
    tmp_path: Path, browser: Any, page: Any
) -> None:
    # Tuesday 15:00-16:00 Berlin is denied: it cuts Tuesday's 15:00-17:00 CET overlap.
    config = copy.deepcopy(CONFIG)
    production = config["environments"][1]
    production["windows"]["explicit"] = [
        {"kind": "deny", "schedule": "0 15 * * tue", "duration": "1h", "timezone": "Europe/Berlin"}
    ]
    with serve(tmp_path, config) as served:
        sign_in(page, served)
        page.goto(served.url + "/windows?env=production")
        chart = page.locator("svg.windows-chart")
        deny = chart.locator('rect[data-kind="deny"]')
        expect(deny).to_have_count(1)
        assert deny.get_attribute("data-start") == "2026-03-03T14:00:00+00:00"
        assert deny.get_attribute("data-end") == "2026-03-03T15:00:00+00:00"
        expect(page.locator(".legend .key-deny")).to_have_text("deny window")
        listed = page.get_by_role("table", name="Deny windows in these 7 days")
        expect(listed).to_contain_text("Tue 03 Mar 15:00 CET")
        expect(listed).to_contain_text("'0 15 * * tue' (Europe/Berlin)")
        usable = chart.locator('rect[data-kind="usable"]')
        assert usable.nth(1).get_attribute("data-start") == "2026-03-03T15:00:00+00:00"
        screenshot(page, "windows-with-deny")
