"""The rollout page names who signed the commit, as git verified it at detection."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.dashboard.conftest import PROXY_HEADER, Dashboard

pytestmark = [pytest.mark.e2e]


def _page(dash: Dashboard, rollout_id: str) -> str:
    http = requests.Session()
    http.headers[PROXY_HEADER] = "alice"
    page = http.get(f"{dash.url}/rollouts/{rollout_id}", timeout=5)
    assert page.status_code == 200
    return page.text


def test_verified_signature_names_the_signer_and_key(proxied: Dashboard) -> None:
    rollout = proxied.rollout(state="validated")
    proxied.store.set_artifacts(
        rollout.id,
        {
            "plan": {
                "signature": {
                    "verified": True,
                    "signer": "Alice <alice@example.com>",
                    "key": "9A9502D8BCDD2BCB",
                    "kind": "openpgp",
                    "summary": "signed by Alice <alice@example.com>",
                }
            }
        },
    )
    text = _page(proxied, rollout.id)
    assert (
        "<dt>Signed by</dt><dd>Alice &lt;alice@example.com&gt; "
        "<small>(openpgp key 9A9502D8BCDD2BCB)</small></dd>"
    ) in text


def test_unverified_signature_says_why(proxied: Dashboard) -> None:
    rollout = proxied.rollout(state="validated")
    summary = "commit 0123456789ab is not signed"
    proxied.store.set_artifacts(
        rollout.id, {"plan": {"signature": {"verified": False, "summary": summary}}}
    )
    assert f'<dd class="bad">nobody trusted: {summary}</dd>' in _page(proxied, rollout.id)


def test_no_line_when_signatures_are_not_checked(proxied: Dashboard) -> None:
    rollout = proxied.rollout(state="validated")
    assert "Signed by" not in _page(proxied, rollout.id)
