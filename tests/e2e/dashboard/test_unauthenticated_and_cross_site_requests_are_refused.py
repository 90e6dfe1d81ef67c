"""No action without a session; no action from another origin or without the CSRF token."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.dashboard.conftest import Dashboard, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def _awaiting(dash: Dashboard) -> str:
    rollout = dash.rollout(state="staging_verified")
    dash.move(rollout.id, "awaiting_approval", environment="production")
    return rollout.id


def test_pages_and_posts_need_a_session(page: Any, dash: Dashboard) -> None:
    rollout_id = _awaiting(dash)
    page.goto(f"{dash.url}/rollouts/{rollout_id}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    answer = requests.post(
        f"{dash.url}/rollouts/{rollout_id}/approve",
        data={"csrf_token": "guess"},
        headers={"Origin": dash.url},
        timeout=5,
    )
    assert answer.status_code == 401
    assert requests.get(f"{dash.url}/ui/fragments/rollouts", timeout=5).status_code == 401
    assert dash.state(rollout_id) == "awaiting_approval"
    screenshot(page, "login")


def test_cross_origin_form_is_refused(page: Any, dash: Dashboard) -> None:
    rollout_id = _awaiting(dash)
    sign_in(page, dash)
    # Another origin on the same site (same host, another port): the SameSite cookie is
    # sent, so only the Origin check and the CSRF token stand in the way.
    evil = dash.url.rsplit(":", 1)[0] + ":1/evil"
    html = (
        f'<form id="f" method="post" action="{dash.url}/rollouts/{rollout_id}/approve">'
        '<input name="csrf_token" value="stolen?"></form><script>f.submit()</script>'
    )
    page.route(evil, lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    with page.expect_response(re.compile(r"/approve$")) as answer:
        page.goto(evil)
    assert answer.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text("refused")
    assert dash.state(rollout_id) == "awaiting_approval"
    screenshot(page, "refused")


def test_missing_or_wrong_csrf_token_is_refused(page: Any, dash: Dashboard) -> None:
    rollout_id = _awaiting(dash)
    sign_in(page, dash)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    for data in ({}, {"csrf_token": "wrong"}):
        answer = requests.post(
            f"{dash.url}/rollouts/{rollout_id}/approve",
            data=data,
            cookies=cookies,
            headers={"Origin": dash.url},
            timeout=5,
        )
        assert answer.status_code == 403, answer.text
        assert "CSRF token" in answer.text
    foreign = requests.post(
        f"{dash.url}/rollouts/{rollout_id}/approve",
        data={},
        cookies=cookies,
        headers={"Origin": "https://evil.example"},
        timeout=5,
    )
    assert foreign.status_code == 403
    assert dash.state(rollout_id) == "awaiting_approval"
