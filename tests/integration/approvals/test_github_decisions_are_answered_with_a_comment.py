"""GitHub decisions against the real server get their outcome back as a comment.

`notifications.github` points at a stand-in for the GitHub REST API, which
checks the token, headers and body of every reply it receives.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rollout.core.approvals import OpenedConnection
from rollout.server.github_routes import parse_command
from tests.integration.approvals.conftest import Service, secret_file
from tests.integration.approvals.test_github_comments_and_reviews_approve import (
    comment,
    commit_comment,
    review,
)
from tests.standins.github_api import GitHubStandIn

pytestmark = pytest.mark.integration

SHA = "b" * 40
PULL = 7

SENSITIVE = OpenedConnection(
    from_namespace="shop",
    from_name="web",
    to_namespace="payments",
    to_name="ledger",
    to_namespace_labels={"data": "sensitive"},
    cross_namespace=True,
    port="5432",
    policies=("allow-web-to-ledger",),
)


@pytest.fixture
def github_api() -> Iterator[GitHubStandIn]:
    standin = GitHubStandIn()
    standin.start()
    yield standin
    standin.stop()
    assert standin.violations == []


@pytest.fixture
def notifications(github_api: GitHubStandIn, tmp_path: Path) -> dict[str, Any]:
    return {
        "github": {
            "repository": github_api.repo,
            "token": secret_file(tmp_path, "github-token", github_api.token),
            "api_url": github_api.api_url,
        }
    }


def replies_on(github_api: GitHubStandIn, issue: int, count: int = 1) -> list[str]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(github_api.comments_on(issue)) < count:
        time.sleep(0.02)
    return [c.body for c in github_api.comments_on(issue)]


def test_approve_comment_is_answered_with_the_outcome_and_what_is_still_needed(
    service: Service, github_api: GitHubStandIn
) -> None:
    rollout = service.rollout(SHA, opened=[SENSITIVE])
    service.pull_heads[PULL] = SHA
    response = service.post_github(
        "issue_comment", comment("alice-gh", "/rollout approve"), delivery="g-1"
    )
    assert response.json()["ok"] is True
    (reply,) = replies_on(github_api, PULL)
    assert reply.startswith("@alice-gh ")
    assert f"approved by alice (1/2) for `{rollout.id}` (production)" in reply
    assert reply.endswith("still needed: 1 from security")
    assert parse_command(reply) is None  # our reply never reads as a command
    (call,) = github_api.calls("POST", rf"/issues/{PULL}/comments$")
    assert call.header("Authorization") == f"Bearer {github_api.token}"


def test_review_reaching_quorum_is_answered_on_the_pull_request(
    service: Service, github_api: GitHubStandIn
) -> None:
    rollout = service.rollout(SHA)
    service.post_github("pull_request_review", review("alice-gh"), delivery="g-2")
    service.post_github("pull_request_review", review("bob-gh"), delivery="g-3")
    first, second = replies_on(github_api, PULL, 2)
    assert "approved by alice (1/2)" in first and "still needed: 1" in first
    assert second == f"@bob-gh `{rollout.id}` (production) is approved by alice, bob (2/2)"
    assert service.state(rollout.id) == "approved"


def test_commit_comment_reject_is_answered_on_the_commit(
    service: Service, github_api: GitHubStandIn
) -> None:
    rollout = service.rollout(SHA)
    payload = commit_comment("bob-gh", "/rollout reject breaks the payment flow")
    service.post_github("commit_comment", payload, delivery="g-4")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not github_api.commit_comments:
        time.sleep(0.02)
    assert github_api.commit_comments == [
        (SHA, f"@bob-gh bob rejected {rollout.id}: breaks the payment flow")
    ]
    assert service.state(rollout.id) == "rejected"


def test_refusals_are_answered_with_the_reason(service: Service, github_api: GitHubStandIn) -> None:
    rollout = service.rollout(SHA)  # dave authored it
    service.pull_heads[PULL] = SHA
    service.post_github("issue_comment", comment("dave-gh", "/rollout approve"), delivery="g-5")
    service.post_github("issue_comment", comment("mallory", "/rollout approve"), delivery="g-6")
    self_approval, stranger = replies_on(github_api, PULL, 2)
    assert self_approval == (
        "@dave-gh refused: dave authored this change and cannot approve it; nothing changed"
    )
    assert stranger == "@mallory refused: mallory is not on the team roster; nothing changed"
    assert service.store.approvals_for(rollout.id, "production") == []


def test_second_approval_after_quorum_is_answered_as_a_conflict(
    service: Service, github_api: GitHubStandIn
) -> None:
    rollout = service.rollout(SHA)
    service.pull_heads[PULL] = SHA
    for login, delivery in (("alice-gh", "g-7"), ("bob-gh", "g-8"), ("dave-gh", "g-9")):
        service.post_github("issue_comment", comment(login, "/rollout approve"), delivery=delivery)
    *_, late = replies_on(github_api, PULL, 3)
    assert late.startswith(f"@dave-gh refused: {rollout.id} is not awaiting approval")
    assert "already approved" in late


def test_ordinary_reviews_get_no_reply(service: Service, github_api: GitHubStandIn) -> None:
    service.post_github("pull_request_review", review("mallory"), delivery="g-10")
    service.post_github("pull_request_review", review("alice-gh"), delivery="g-11")  # no rollout
    time.sleep(0.3)
    assert github_api.comments_on(PULL) == []
    assert github_api.calls("POST", r"/comments$") == []


def test_the_answer_does_not_wait_for_the_reply(
    service: Service, github_api: GitHubStandIn
) -> None:
    rollout = service.rollout(SHA)
    service.pull_heads[PULL] = SHA
    github_api.delays[f"/issues/{PULL}/comments"] = 3.5
    started = time.monotonic()
    response = service.post_github(
        "issue_comment", comment("alice-gh", "/rollout approve"), delivery="g-12"
    )
    assert response.json()["ok"] is True
    assert time.monotonic() - started < 3
    assert [a.member for a in service.store.approvals_for(rollout.id, "production")] == ["alice"]
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and not github_api.comments_on(PULL):
        time.sleep(0.05)
    assert len(github_api.comments_on(PULL)) == 1


def test_a_failing_reply_changes_nothing_else(service: Service, github_api: GitHubStandIn) -> None:
    rollout = service.rollout(SHA)
    service.pull_heads[PULL] = SHA
    github_api.fail_next("POST", f"/issues/{PULL}/comments", 502)
    response = service.post_github(
        "issue_comment", comment("alice-gh", "/rollout approve"), delivery="g-13"
    )
    assert response.json()["ok"] is True
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not github_api.requests:
        time.sleep(0.02)
    assert [a.member for a in service.store.approvals_for(rollout.id, "production")] == ["alice"]
