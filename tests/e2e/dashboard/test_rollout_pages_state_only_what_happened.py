"""The rollout pages say only what happened: chips for states the rollout was in, what an
active rollout waits for and since when, how a finished one ended, and which rollout put
the revision an environment runs there (a rollback names the rollout that failed)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.dashboard.conftest import Dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def through_production_without_a_schedule(dash: Dashboard, sha: str) -> str:
    rollout = dash.rollout(sha=sha)
    for state in ("validated", "staging_applied", "staging_verified"):
        dash.move(rollout.id, state)
    dash.move(rollout.id, "awaiting_approval", environment="production")
    for state in ("approved", "production_applied", "production_verified", "done"):
        dash.move(rollout.id, state)
    return rollout.id


def test_a_chip_is_done_only_for_a_state_the_rollout_was_in(
    signed_in: Any, dash: Dashboard
) -> None:
    page = signed_in
    rollout_id = through_production_without_a_schedule(dash, "a" * 40)
    page.goto(f"{dash.url}/rollouts/{rollout_id}")
    stages = page.get_by_role("list", name="Stages")
    expect(stages.locator(".step-done")).to_have_count(8)
    expect(stages.locator(".step-skipped")).to_have_text(["scheduled (skipped)"])
    expect(stages.locator('[aria-current="step"]')).to_have_text("done")


def test_an_active_rollout_says_what_it_waits_for_and_since_when(
    signed_in: Any, dash: Dashboard
) -> None:
    page = signed_in
    rollout = dash.rollout()
    dash.move(rollout.id, "validated")
    dash.move(rollout.id, "staging_applied")
    dash.clock.advance(hours=2, minutes=13)
    page.goto(f"{dash.url}/rollouts/{rollout.id}")
    summary = page.get_by_role("region", name="Summary")
    expect(summary.locator("dt").nth(5)).to_have_text("Waiting for")
    waiting = summary.locator("dd").nth(5)
    expect(waiting).to_contain_text("smoke tests in staging")
    expect(waiting).to_contain_text("in this state since Mon 02 Mar 11:00 CET (2 h 13 min)")
    queued = dash.rollout(sha="d" * 40, message="Next one")
    dash.move(queued.id, "validated")
    page.goto(f"{dash.url}/rollouts/{queued.id}")
    summary = page.get_by_role("region", name="Summary")
    expect(summary).to_contain_text("the apply to staging")
    expect(summary).to_contain_text(f"queued behind {rollout.id} in staging")


def test_a_finished_rollout_says_how_it_ended_not_what_it_waits_for(
    signed_in: Any, dash: Dashboard
) -> None:
    page = signed_in
    failed = dash.rollout(sha="b" * 40)
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
    dash.move(failed.id, "staging_failed", reason="smoke tests FAILED in staging: 1 of 8")
    page.goto(f"{dash.url}/rollouts/{failed.id}")
    summary = page.get_by_role("region", name="Summary")
    expect(summary).not_to_contain_text("Waiting for")
    expect(summary.locator("dt").nth(5)).to_have_text("Outcome")
    outcome = summary.locator("dd").nth(5)
    expect(outcome).to_contain_text("ended staging failed: smoke tests FAILED in staging: 1 of 8")
    expect(outcome).to_contain_text("staging rolled back to cccccccccc")
    screenshot(page, "rollout-failed")


def test_after_a_rollback_production_names_the_rollout_that_deployed_the_revision(
    signed_in: Any, dash: Dashboard
) -> None:
    page = signed_in
    good_id = through_production_without_a_schedule(dash, "a" * 40)
    dash.store.record_deployment("production", "a" * 40, "h1", rollout_id=good_id)
    bad = dash.rollout(sha="b" * 40, message="Broken")
    bad_deployment = dash.store.record_deployment("production", "b" * 40, "h2", rollout_id=bad.id)
    # What the engine records when production smoke tests fail and it rolls back.
    dash.store.set_deployment_status(bad_deployment.id, "rolled_back")
    dash.store.record_deployment("production", "a" * 40, "h1", rollout_id=bad.id)
    page.goto(dash.url + "/")
    row = page.locator("table.envs tr", has_text="production")
    expect(row).to_contain_text("aaaaaaaaaa")
    expect(row).to_contain_text(
        f"restored by the rollback of {bad.id}, which failed; first deployed by {good_id}"
    )
    screenshot(page, "rollouts-after-rollback")
