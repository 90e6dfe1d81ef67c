"""The rollouts page updates itself while a rollout moves through its stages."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.dashboard.conftest import DIFF, Dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_stage_changes_appear_without_a_reload(signed_in: Any, dash: Dashboard) -> None:
    page = signed_in
    page.goto(dash.url + "/")
    page.evaluate("window.__notReloaded = true")
    rollout = dash.rollout()
    stage = page.locator(f'.active .stage[data-rollout="{rollout.id}"]')
    expect(stage).to_have_attribute("data-state", "detected")

    for state in ("validated", "staging_applied", "staging_verified"):
        dash.move(rollout.id, state)
        expect(stage).to_have_attribute("data-state", state)
    dash.move(
        rollout.id,
        "awaiting_approval",
        environment="production",
        artifacts={"diff": DIFF},
    )
    expect(stage).to_have_attribute("data-state", "awaiting_approval")
    row = page.locator(".active tr", has=page.locator(f'.stage[data-rollout="{rollout.id}"]'))
    expect(row).to_contain_text("waiting for 1 more approval")
    expect(row).to_contain_text("can approve: alice, bob")
    expect(row).to_contain_text("next window Mon 02 Mar 15:00 CET")
    assert page.evaluate("window.__notReloaded") is True
    screenshot(page, "rollouts")


def test_failures_and_rollbacks_show_in_history(signed_in: Any, dash: Dashboard) -> None:
    page = signed_in
    failed = dash.rollout(sha="b" * 40, message="Tighten egress")
    dash.move(failed.id, "validated")
    dash.move(failed.id, "staging_applied")
    dash.store.record_event(
        "rollback",
        actor="netpol-rollout",
        channel="system",
        rollout_id=failed.id,
        environment="staging",
        details={"to": "c" * 40, "ok": True, "summary": "restored"},
    )
    dash.move(failed.id, "staging_failed", reason="2 of 5 smoke checks failed")
    page.goto(dash.url + "/")
    history = page.locator("table.history")
    expect(history).to_contain_text(failed.id)
    expect(history).to_contain_text("2 of 5 smoke checks failed")
    expect(page.get_by_role("table", name="Rollbacks")).to_contain_text("restored")
