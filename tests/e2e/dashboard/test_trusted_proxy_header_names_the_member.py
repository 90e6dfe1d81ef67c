"""Behind an authenticating proxy: the header names the member, CSRF still applies, no /login."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.dashboard.conftest import PROXY_HEADER, Dashboard, csrf_token, screenshot

pytestmark = [pytest.mark.e2e]


def _awaiting(dash: Dashboard) -> str:
    rollout = dash.rollout(state="staging_verified")
    dash.move(rollout.id, "awaiting_approval", environment="production")
    return rollout.id


def _as(claimed: str) -> requests.Session:
    """A client whose every request carries the proxy's header, as the proxy would set it."""
    http = requests.Session()
    http.headers[PROXY_HEADER] = claimed
    return http


@pytest.mark.parametrize("claimed", ["alice", "Alice@Example.com"])
def test_member_named_by_name_or_email_approves_on_the_dashboard_channel(
    proxied: Dashboard, claimed: str
) -> None:
    rollout_id = _awaiting(proxied)
    http = _as(claimed)
    page = http.get(f"{proxied.url}/rollouts/{rollout_id}", timeout=5)
    assert page.status_code == 200
    assert "Signed in as <strong>alice</strong>" in page.text
    answer = http.post(
        f"{proxied.url}/rollouts/{rollout_id}/approve",
        data={"csrf_token": csrf_token(page.text)},
        headers={"Origin": proxied.url},
        allow_redirects=False,
        timeout=5,
    )
    assert (answer.status_code, answer.headers["location"]) == (303, f"/rollouts/{rollout_id}")
    assert proxied.state(rollout_id) == "approved"
    (approval,) = proxied.store.approvals_for(rollout_id, "production")
    assert (approval.member, approval.channel, approval.decision) == (
        "alice",
        "dashboard",
        "approve",
    )
    moved = [
        e for e in proxied.store.events(rollout_id=rollout_id) if e.details.get("to") == "approved"
    ]
    assert [(e.actor, e.channel) for e in moved] == [("alice", "dashboard")]


def test_csrf_is_still_enforced_for_a_proxied_member(proxied: Dashboard) -> None:
    rollout_id = _awaiting(proxied)
    http = _as("alice@example.com")
    token = csrf_token(http.get(f"{proxied.url}/rollouts/{rollout_id}", timeout=5).text)
    url = f"{proxied.url}/rollouts/{rollout_id}/approve"
    for data, origin in (
        ({}, proxied.url),
        ({"csrf_token": "wrong"}, proxied.url),
        ({"csrf_token": token}, "https://evil.example"),
    ):
        answer = http.post(url, data=data, headers={"Origin": origin}, timeout=5)
        assert answer.status_code == 403, answer.text
    # The header alone is not enough: a request without the session cookie has no nonce.
    bare = requests.post(
        url,
        data={"csrf_token": token},
        headers={PROXY_HEADER: "alice", "Origin": proxied.url},
        timeout=5,
    )
    assert bare.status_code == 403
    assert proxied.state(rollout_id) == "awaiting_approval"
    assert proxied.store.approvals_for(rollout_id, "production") == []


@pytest.mark.parametrize("claimed", [None, "", "mallory@example.com", "carol"])
def test_header_naming_no_member_is_refused(proxied: Dashboard, claimed: str | None) -> None:
    rollout_id = _awaiting(proxied)
    member = _as("alice")  # a real member's nonce and cookie, replayed under another name
    token = csrf_token(member.get(f"{proxied.url}/rollouts/{rollout_id}", timeout=5).text)
    headers = {} if claimed is None else {PROXY_HEADER: claimed}
    cookies = dict(member.cookies)
    page = requests.get(
        f"{proxied.url}/rollouts/{rollout_id}",
        headers=headers,
        cookies=cookies,
        allow_redirects=False,
        timeout=5,
    )
    assert page.status_code == 401  # not a redirect to a sign-in form the proxy mode lacks
    assert "did not name a member of the team roster" in page.text
    assert 'href="/login"' not in page.text
    fragment = requests.get(
        f"{proxied.url}/ui/fragments/rollouts", headers=headers, cookies=cookies, timeout=5
    )
    assert fragment.status_code == 401
    answer = requests.post(
        f"{proxied.url}/rollouts/{rollout_id}/approve",
        data={"csrf_token": token},
        headers={**headers, "Origin": proxied.url},
        cookies=cookies,
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 401
    assert proxied.state(rollout_id) == "awaiting_approval"


def test_login_is_disabled(proxied: Dashboard) -> None:
    http = requests.Session()
    form = http.get(f"{proxied.url}/login", timeout=5)
    assert form.status_code == 200
    assert "handled by the authenticating proxy" in form.text
    assert 'name="token"' not in form.text
    # Even with a good nonce (from a proxied page) and a valid API token, nobody signs in.
    rollout_id = _awaiting(proxied)
    bobs = http.get(
        f"{proxied.url}/rollouts/{rollout_id}", headers={PROXY_HEADER: "bob"}, timeout=5
    )
    assert "Sign out" not in bobs.text  # the proxy signs people out, not this page
    answer = http.post(
        f"{proxied.url}/login",
        data={"csrf_token": csrf_token(bobs.text), "token": proxied.tokens["alice"]},
        headers={"Origin": proxied.url},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 403
    assert "sign-in is handled by the proxy" in answer.text
    # A valid API token signed nobody in: without the header there is still no member.
    assert http.get(f"{proxied.url}/", allow_redirects=False, timeout=5).status_code == 401


@pytest.mark.browser
def test_proxied_member_approves_in_the_browser(browser: Any, proxied: Dashboard) -> None:
    rollout_id = _awaiting(proxied)
    context = browser.new_context(extra_http_headers={PROXY_HEADER: "bob@example.com"})
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto(f"{proxied.url}/rollouts/{rollout_id}")
        expect(page.get_by_role("banner")).to_contain_text("Signed in as bob")
        expect(page.get_by_role("link", name="Sign in")).to_have_count(0)
        page.get_by_role("button", name=f"Approve {rollout_id}").click()
        expect(page.get_by_role("status").filter(has_text="approved")).to_contain_text(
            f"{rollout_id} is approved for production"
        )
        (approval,) = proxied.store.approvals_for(rollout_id, "production")
        assert (approval.member, approval.channel) == ("bob", "dashboard")
        screenshot(page, "rollout-approved-behind-proxy")
    finally:
        context.close()
