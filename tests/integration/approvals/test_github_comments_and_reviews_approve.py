"""GitHub webhook against the real server: comments, reviews, signatures, redeliveries."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.integration.approvals.conftest import REPOSITORY, START, Service

pytestmark = pytest.mark.integration

SHA = "b" * 40
WRITTEN = START + timedelta(hours=1)
"""When test comments are written by default: after the test's rollouts were detected."""
_ids = itertools.count(1000)


def comment(
    login: str,
    body: str,
    *,
    number: int = 7,
    written: datetime = WRITTEN,
    comment_id: int | None = None,
    repository: str = REPOSITORY,
) -> bytes:
    payload: dict[str, Any] = {
        "action": "created",
        "issue": {"number": number, "pull_request": {"url": "https://api.github.com/x"}},
        "comment": {
            "id": next(_ids) if comment_id is None else comment_id,
            "body": body,
            "user": {"login": login},
            "created_at": written.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "repository": {"full_name": repository},
        "sender": {"login": login},
    }
    return json.dumps(payload).encode()


def commit_comment(login: str, body: str, sha: str = SHA) -> bytes:
    payload = {
        "action": "created",
        "comment": {"id": next(_ids), "body": body, "commit_id": sha, "user": {"login": login}},
        "repository": {"full_name": REPOSITORY},
    }
    return json.dumps(payload).encode()


def review(
    login: str,
    state: str = "approved",
    sha: str = SHA,
    reviewed: str | None = None,
    *,
    review_id: int | None = None,
) -> bytes:
    payload = {
        "action": "submitted",
        "review": {
            "id": next(_ids) if review_id is None else review_id,
            "state": state,
            "user": {"login": login},
            "commit_id": reviewed or sha,
        },
        "pull_request": {"number": 7, "head": {"sha": sha}},
        "repository": {"full_name": REPOSITORY},
        "sender": {"login": login},
    }
    return json.dumps(payload).encode()


def test_pull_request_comment_approves(service: Service) -> None:
    rollout = service.rollout(SHA)
    service.pull_heads[7] = SHA
    response = service.post_github(
        "issue_comment", comment("Alice-GH", "LGTM\n/rollout approve"), delivery="d-1"
    )
    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True
    (approval,) = service.store.approvals_for(rollout.id, "production")
    assert (approval.member, approval.channel, approval.request_id) == ("alice", "github", "d-1")


def test_approving_review_counts_and_two_reach_quorum(service: Service) -> None:
    rollout = service.rollout(SHA)
    assert service.post_github("pull_request_review", review("alice-gh"), delivery="r-1").ok
    assert service.post_github("pull_request_review", review("bob-gh"), delivery="r-2").ok
    assert service.state(rollout.id) == "approved"


def test_review_of_an_older_commit_does_not_approve_the_newer_one(service: Service) -> None:
    older = service.rollout("c" * 40)
    newer = service.rollout(SHA)
    response = service.post_github(
        "pull_request_review", review("alice-gh", reviewed="c" * 40), delivery="r-old"
    )
    assert response.json()["ok"] is True
    assert service.store.approvals_for(newer.id, "production") == []
    assert [a.member for a in service.store.approvals_for(older.id, "production")] == ["alice"]


def test_commented_review_does_not_approve(service: Service) -> None:
    rollout = service.rollout(SHA)
    response = service.post_github(
        "pull_request_review", review("alice-gh", "commented"), delivery="r-3"
    )
    assert response.json()["result"] == "pull_request_review ignored"
    assert service.store.approvals_for(rollout.id, "production") == []


def test_commit_comment_rejects_with_reason(service: Service) -> None:
    rollout = service.rollout(SHA)
    payload = commit_comment("bob-gh", "/rollout reject breaks the payment flow")
    response = service.post_github("commit_comment", payload, delivery="c-1")
    assert response.json()["ok"] is True
    record = service.store.get_rollout(rollout.id)
    assert record is not None
    assert (record.state, record.reason) == ("rejected", "breaks the payment flow")


def test_invalid_signature_is_refused(service: Service) -> None:
    rollout = service.rollout(SHA)
    service.pull_heads[7] = SHA
    response = service.post_github(
        "issue_comment",
        comment("alice-gh", "/rollout approve"),
        delivery="d-2",
        signature="sha256=" + "f" * 64,
    )
    assert response.status_code == 401
    assert service.store.approvals_for(rollout.id, "production") == []


def test_redelivery_is_acknowledged_and_ignored(service: Service) -> None:
    rollout = service.rollout(SHA)
    body = review("alice-gh")
    first = service.post_github("pull_request_review", body, delivery="r-9")
    assert first.json()["ok"] is True
    events_before = service.store.events(rollout_id=rollout.id)
    again = service.post_github("pull_request_review", body, delivery="r-9")
    assert again.status_code == 200
    assert again.json()["result"] == "duplicate delivery ignored"
    assert service.store.events(rollout_id=rollout.id) == events_before


def test_unknown_login_changes_nothing(service: Service) -> None:
    rollout = service.rollout(SHA)
    response = service.post_github("pull_request_review", review("mallory"), delivery="r-10")
    assert response.json() == {
        "ok": False,
        "result": "mallory is not on the team roster; nothing changed",
    }
    assert service.store.approvals_for(rollout.id, "production") == []


def test_push_is_handed_to_the_watcher_hook(service: Service) -> None:
    payload = {"ref": "refs/heads/main", "after": SHA, "repository": {"full_name": REPOSITORY}}
    response = service.post_github("push", json.dumps(payload).encode(), delivery="p-1")
    assert response.json()["result"] == "push accepted"
    assert service.pushes == [payload]
