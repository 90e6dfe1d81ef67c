"""A session lasts 12 hours from sign-in (by the service's clock), however busy it was."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.dashboard.conftest import Dashboard, csrf_token, http_sign_in

pytestmark = [pytest.mark.e2e]


def _awaiting(dash: Dashboard) -> str:
    rollout = dash.rollout(state="staging_verified")
    dash.move(rollout.id, "awaiting_approval", environment="production")
    return rollout.id


def _post_approve(
    dash: Dashboard, rollout_id: str, cookies: dict[str, str], token: str
) -> requests.Response:
    return requests.post(
        f"{dash.url}/rollouts/{rollout_id}/approve",
        data={"csrf_token": token},
        cookies=cookies,
        headers={"Origin": dash.url},
        allow_redirects=False,
        timeout=5,
    )


def test_session_is_honoured_until_it_expires_then_sends_to_login(dash: Dashboard) -> None:
    rollout_id = _awaiting(dash)
    http = http_sign_in(dash)
    dash.clock.advance(hours=11, minutes=59)
    assert http.get(f"{dash.url}/rollouts/{rollout_id}", timeout=5).status_code == 200

    dash.clock.advance(minutes=2)
    page = http.get(f"{dash.url}/rollouts/{rollout_id}", allow_redirects=False, timeout=5)
    assert page.status_code == 303
    assert page.headers["location"] == f"/login?next=/rollouts/{rollout_id}"
    fragment = http.get(f"{dash.url}/ui/fragments/rollouts/{rollout_id}", timeout=5)
    assert fragment.status_code == 401


def test_expired_session_cannot_approve(dash: Dashboard) -> None:
    rollout_id = _awaiting(dash)
    http = http_sign_in(dash)
    token = csrf_token(http.get(f"{dash.url}/rollouts/{rollout_id}", timeout=5).text)
    expired = dict(http.cookies)
    dash.clock.advance(hours=12, seconds=1)
    answer = _post_approve(dash, rollout_id, expired, token)
    assert answer.status_code == 401, answer.text
    assert dash.state(rollout_id) == "awaiting_approval"
    assert dash.store.approvals_for(rollout_id, "production") == []


def test_acting_does_not_extend_the_session(dash: Dashboard) -> None:
    rollout_id = _awaiting(dash)
    http = http_sign_in(dash)
    dash.clock.advance(hours=11)
    token = csrf_token(http.get(f"{dash.url}/rollouts/{rollout_id}", timeout=5).text)
    approved = http.post(
        f"{dash.url}/rollouts/{rollout_id}/approve",
        data={"csrf_token": token},
        headers={"Origin": dash.url},
        timeout=5,
    )
    assert approved.status_code == 200  # the rollout page after the redirect, with the flash
    assert dash.state(rollout_id) == "approved"
    # The re-issued cookie (carrying the flash) keeps the sign-in's expiry.
    assert "Max-Age=3600" in approved.history[0].headers["set-cookie"]

    dash.clock.advance(hours=1, seconds=1)
    page = http.get(f"{dash.url}/", allow_redirects=False, timeout=5)
    assert (page.status_code, page.headers["location"]) == (303, "/login?next=/")
