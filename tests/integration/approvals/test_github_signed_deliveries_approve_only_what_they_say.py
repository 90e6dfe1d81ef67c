"""Signed GitHub deliveries that would approve the wrong thing, against the real server.

A signature proves GitHub sent a body; it does not say when, how often, for
which repository, or that the body is well formed. Each test here is an
attack that worked once: a comment approving a commit its author never saw,
a captured body re-sent under a new delivery id, another repository's
delivery acted on with the bot token, malformed bodies giving 500.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.integration.approvals.conftest import REPOSITORY, START, Service, secret_file
from tests.integration.approvals.test_github_comments_and_reviews_approve import (
    comment,
    review,
)
from tests.standins.github_api import GitHubStandIn

pytestmark = pytest.mark.integration

OLD, NEW = "c" * 40, "d" * 40
PULL = 7


@pytest.fixture
def github_api() -> Iterator[GitHubStandIn]:
    standin = GitHubStandIn(repo=REPOSITORY)
    standin.start()
    yield standin
    standin.stop()
    assert standin.violations == []


@pytest.fixture
def notifications(github_api: GitHubStandIn, tmp_path: Path) -> dict[str, Any]:
    return {
        "github": {
            "repository": REPOSITORY,
            "token": secret_file(tmp_path, "github-token", github_api.token),
            "api_url": github_api.api_url,
        }
    }


@pytest.fixture
def max_body_bytes() -> int:
    return 1 << 20  # room for deeply nested bodies


def approvers(service: Service, rollout_id: str) -> list[str]:
    return [a.member for a in service.store.approvals_for(rollout_id, "production")]


def wait_for_replies(github_api: GitHubStandIn, count: int) -> list[str]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(github_api.comments_on(PULL)) < count:
        time.sleep(0.02)
    return [c.body for c in github_api.comments_on(PULL)]


# --- a comment approves the commit that was head when it was written -------------------


def test_comment_written_before_a_newer_commit_does_not_approve_it(
    service: Service, github_api: GitHubStandIn
) -> None:
    old = service.rollout(OLD)
    service.clock.advance(hours=2)
    new = service.rollout(NEW)  # detected two hours later: the comment never saw it
    service.pull_heads[PULL] = NEW
    written = START + timedelta(hours=1)
    response = service.post_github(
        "issue_comment", comment("alice-gh", "/rollout approve", written=written), delivery="a-1"
    )
    assert response.json()["ok"] is False
    assert "written before" in response.json()["result"]
    assert approvers(service, new.id) == [] and approvers(service, old.id) == []
    (reply,) = wait_for_replies(github_api, 1)
    assert f"/rollout approve {NEW[:12]}" in reply
    refused = service.store.events(kinds=["approval.refused"])
    assert [(e.actor, e.channel) for e in refused] == [("alice", "github")]


def test_comment_naming_the_head_commit_approves_it(service: Service) -> None:
    service.rollout(OLD)
    service.clock.advance(hours=2)
    new = service.rollout(NEW)
    service.pull_heads[PULL] = NEW
    written = START + timedelta(hours=1)
    body = comment("alice-gh", f"/rollout approve {NEW[:10]}", written=written)
    response = service.post_github("issue_comment", body, delivery="a-2")
    assert response.json()["ok"] is True, response.text
    assert approvers(service, new.id) == ["alice"]


def test_comment_naming_another_commit_is_refused(service: Service) -> None:
    new = service.rollout(NEW)
    service.pull_heads[PULL] = NEW
    body = comment("alice-gh", f"/rollout approve {OLD[:12]}")
    response = service.post_github("issue_comment", body, delivery="a-3")
    assert response.json()["ok"] is False
    assert f"approves {OLD[:12]}" in response.json()["result"]
    assert approvers(service, new.id) == []


# --- one signed comment or review decides once ------------------------------------------


def test_captured_comment_resent_with_a_new_delivery_id_approves_nothing_more(
    service: Service,
) -> None:
    first, second = service.rollout(OLD), service.rollout(NEW)
    service.pull_heads[PULL] = OLD
    body = comment("alice-gh", "/rollout approve", comment_id=42)
    assert service.post_github("issue_comment", body, delivery="b-1").json()["ok"] is True
    service.pull_heads[PULL] = NEW  # the pull request moved on; the attacker re-sends
    again = service.post_github("issue_comment", body, delivery="b-2")
    assert again.status_code == 200
    assert again.json()["result"] == "comment:42 was already acted on; ignored"
    assert approvers(service, first.id) == ["alice"]
    assert approvers(service, second.id) == []


def test_captured_review_resent_with_a_new_delivery_id_is_ignored(service: Service) -> None:
    rollout = service.rollout(NEW)
    body = review("alice-gh", sha=NEW, review_id=77)
    assert service.post_github("pull_request_review", body, delivery="b-3").json()["ok"]
    service.clock.advance(hours=2)  # alice's approval has expired (expires_after: 1h)
    again = service.post_github("pull_request_review", body, delivery="b-4")
    assert again.json()["result"] == "review:77 was already acted on; ignored"
    (approval,) = service.store.approvals_for(rollout.id, "production")
    assert approval.request_id == "b-3"


# --- only the configured repository -----------------------------------------------------


@pytest.mark.parametrize("named", ["evil/policies", "acme/policies-fork", "ACME/policies", None])
def test_delivery_for_another_repository_is_audited_and_ignored(
    service: Service, github_api: GitHubStandIn, named: str | None
) -> None:
    rollout = service.rollout(NEW)
    service.pull_heads[PULL] = NEW
    payload = json.loads(comment("alice-gh", "/rollout approve"))
    if named is None:
        del payload["repository"]
    else:
        payload["repository"]["full_name"] = named
    response = service.post_github(
        "issue_comment", json.dumps(payload).encode(), delivery=f"e-{named}"
    )
    assert response.status_code == 202
    assert response.json()["result"] == "issue_comment ignored: not the configured repository"
    time.sleep(0.3)
    assert github_api.requests == []  # no API call, no comment with the bot token
    assert approvers(service, rollout.id) == []
    (event,) = service.store.events(kinds=["github.ignored"])
    assert event.request_id == f"e-{named}"
    assert event.details["repository"] == named
    assert event.details["expected"] == REPOSITORY


def test_push_for_another_repository_is_not_handed_to_the_watcher(service: Service) -> None:
    payload = {"ref": "refs/heads/main", "after": NEW, "repository": {"full_name": "evil/x"}}
    response = service.post_github("push", json.dumps(payload).encode(), delivery="e-push")
    assert response.status_code == 202
    assert service.pushes == []


# --- malformed but signed -> 400 with a short reason ------------------------------------


def _comment_with(**changes: Any) -> bytes:
    payload = json.loads(comment("alice-gh", "/rollout approve"))
    for dotted, value in changes.items():
        target = payload
        *path, last = dotted.split("__")
        for key in path:
            target = target[key]
        target[last] = value
    return json.dumps(payload).encode()


def _review_with(**changes: Any) -> bytes:
    payload = json.loads(review("alice-gh", sha=NEW))
    for dotted, value in changes.items():
        target = payload
        *path, last = dotted.split("__")
        for key in path:
            target = target[key]
        target[last] = value
    return json.dumps(payload).encode()


MALFORMED = [
    ("issue_comment", _comment_with(issue__number="7"), "issue.number"),
    ("issue_comment", _comment_with(issue__number=[7]), "issue.number"),
    ("issue_comment", _comment_with(issue=7), "issue"),
    ("issue_comment", _comment_with(comment="approve"), "comment"),
    ("issue_comment", _comment_with(comment__body=["/rollout approve"]), "comment.body"),
    ("issue_comment", _comment_with(comment__user__login=5), "comment.user.login"),
    ("issue_comment", _comment_with(repository="acme/policies"), "repository"),
    ("issue_comment", _comment_with(repository__full_name={"a": 1}), "repository.full_name"),
    ("commit_comment", _comment_with(comment__commit_id=123), "comment.commit_id"),
    ("pull_request_review", _review_with(review="approved"), "review"),
    ("pull_request_review", _review_with(review__commit_id=["x"]), "review.commit_id"),
    ("pull_request_review", _review_with(pull_request=7), "pull_request"),
    ("pull_request_review", _review_with(pull_request__number=None), "pull_request.number"),
    ("issue_comment", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ("issue_comment", b'{"action": NaN}', "action"),
    ("issue_comment", b'{"issue": {"number": 1e999}}', "issue"),
    ("issue_comment", b"[]", "object"),
]


@pytest.mark.parametrize(
    ("event", "body", "named"), MALFORMED, ids=[f"{e}-{n}" for e, _, n in MALFORMED]
)
def test_malformed_signed_delivery_gets_400_naming_the_field(
    service: Service,
    github_api: GitHubStandIn,
    event: str,
    body: bytes,
    named: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rollout = service.rollout(NEW)
    service.pull_heads[PULL] = NEW
    with caplog.at_level(logging.ERROR):
        response = service.post_github(event, body, delivery=f"m-{time.monotonic_ns()}")
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["ok"] is False
    assert named in answer["result"] and len(answer["result"]) < 200
    assert "sqlite" not in response.text and "Traceback" not in response.text
    assert not [r for r in caplog.records if r.exc_info]
    assert approvers(service, rollout.id) == []


def test_overlong_delivery_id_is_refused(service: Service) -> None:
    response = service.post_github("ping", b"{}", delivery="x" * 1000)
    assert response.status_code == 400


def test_a_store_failure_does_not_reveal_the_store(service: Service, settings: Any) -> None:
    engine = create_engine(settings.store.url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE seen_requests"))
    engine.dispose()
    response = service.post_github("pull_request_review", review("alice-gh"), delivery="s-1")
    assert response.status_code == 503
    assert response.json() == {"error": "the state store is unavailable; see the service's logs"}
