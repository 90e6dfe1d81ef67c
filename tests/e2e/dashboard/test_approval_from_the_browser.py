"""A member approves in the browser: recorded on the dashboard channel, the rollout proceeds."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.dashboard.conftest import DIFF, Dashboard, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_approve_button_records_and_moves_the_rollout(page: Any, dash: Dashboard) -> None:
    rollout = dash.rollout(state="staging_verified")
    dash.move(rollout.id, "awaiting_approval", environment="production", artifacts={"diff": DIFF})
    sign_in(page, dash, "alice", f"/rollouts/{rollout.id}")
    assert dash.tokens["alice"] not in page.content()
    page.get_by_role("button", name=f"Approve {rollout.id}").click()
    expect(page.get_by_role("status").filter(has_text="approved")).to_contain_text(
        f"{rollout.id} is approved for production"
    )
    assert dash.state(rollout.id) == "approved"
    (approval,) = dash.store.approvals_for(rollout.id, "production")
    assert (approval.member, approval.channel, approval.decision) == (
        "alice",
        "dashboard",
        "approve",
    )
    moved = [
        e for e in dash.store.events(rollout_id=rollout.id) if e.details.get("to") == "approved"
    ]
    assert [(e.actor, e.channel) for e in moved] == [("alice", "dashboard")]
    expect(page.locator(".summary .stage")).to_have_attribute("data-state", "approved")
    expect(page.get_by_role("table", name="Approvals and rejections")).to_contain_text("dashboard")
    screenshot(page, "rollout-approved")


def test_refusal_is_shown_and_audited(page: Any, dash: Dashboard) -> None:
    rollout = dash.rollout(state="staging_verified")
    dash.move(rollout.id, "awaiting_approval", environment="production")
    sign_in(page, dash, "bob", f"/rollouts/{rollout.id}")
    dash.move(rollout.id, "rejected", reason="changed our mind")
    page.get_by_role("button", name=f"Approve {rollout.id}").click()
    expect(page.get_by_role("alert")).to_contain_text("is not awaiting approval")
    refused = dash.store.events(rollout_id=rollout.id, kinds=["approval.refused"])
    assert [(e.actor, e.channel) for e in refused] == [("bob", "dashboard")]
