"""Revoking a member's API token ends the sessions signed in with it on their next request."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.dashboard.conftest import Dashboard, csrf_token, http_sign_in, screenshot

pytestmark = [pytest.mark.e2e]


def _revoke(dash: Dashboard, member: str) -> None:
    (token,) = dash.store.tokens(member)
    assert dash.store.revoke_token(token.id)


def test_revoked_token_session_is_sent_to_login_and_cannot_act(dash: Dashboard) -> None:
    rollout = dash.rollout(state="staging_verified")
    dash.move(rollout.id, "awaiting_approval", environment="production")
    alice, bob = http_sign_in(dash, "alice"), http_sign_in(dash, "bob")
    token = csrf_token(alice.get(f"{dash.url}/rollouts/{rollout.id}", timeout=5).text)
    cookies = dict(alice.cookies)

    _revoke(dash, "alice")
    approve = alice.post(
        f"{dash.url}/rollouts/{rollout.id}/approve",
        data={"csrf_token": token},
        cookies=cookies,
        headers={"Origin": dash.url},
        allow_redirects=False,
        timeout=5,
    )
    assert approve.status_code == 401, approve.text
    assert dash.state(rollout.id) == "awaiting_approval"
    assert dash.store.approvals_for(rollout.id, "production") == []
    page = alice.get(f"{dash.url}/", cookies=cookies, allow_redirects=False, timeout=5)
    assert (page.status_code, page.headers["location"]) == (303, "/login?next=/")
    fragment = alice.get(f"{dash.url}/ui/fragments/rollouts", cookies=cookies, timeout=5)
    assert fragment.status_code == 401
    # Only the revoked token's sessions end.
    assert bob.get(f"{dash.url}/", allow_redirects=False, timeout=5).status_code == 200


def test_revoked_token_cannot_sign_in_again(dash: Dashboard) -> None:
    _revoke(dash, "alice")
    http = requests.Session()
    form = http.get(f"{dash.url}/login", timeout=5)
    answer = http.post(
        f"{dash.url}/login",
        data={"csrf_token": csrf_token(form.text), "token": dash.tokens["alice"], "next": "/"},
        headers={"Origin": dash.url},
        timeout=5,
    )
    assert answer.url == f"{dash.url}/login?next=/"
    assert "unknown or revoked token" in answer.text
    assert http.get(f"{dash.url}/", allow_redirects=False, timeout=5).status_code == 303


@pytest.mark.browser
def test_open_page_says_signed_out_after_revocation(signed_in: Any, dash: Dashboard) -> None:
    page = signed_in
    expect(page.get_by_role("status")).to_contain_text("Updated")
    _revoke(dash, "alice")
    expect(page.get_by_role("status")).to_have_text("Signed out: reload to sign in again.")
    page.reload()
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    screenshot(page, "signed-out-after-revocation")
