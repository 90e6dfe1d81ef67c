"""GitHub accounts named by signed push and pull-request deliveries recognise authors.

A member known to the roster only by their GitHub login commits with an
address the roster does not know (`Bob B <bb@corp.example>`). GitHub's push
delivery links that address to `bob-gh` (`commits[].author.username`), and a
pull request's delivery names who opened it (`user.login`). Either way, bob
may not approve his own change, whether the delivery arrives before or after
the rollout; and the approval request stops calling him an unknown author.
Before, only the git identity counted and bob's approval was taken.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
import requests

from tests.integration.approvals.conftest import REPOSITORY, Service

pytestmark = pytest.mark.integration

SHA = "c" * 40
_deliveries = itertools.count(1)


def deliver(service: Service, event: str, payload: dict[str, Any]) -> requests.Response:
    body = json.dumps({**payload, "repository": {"full_name": REPOSITORY}}).encode()
    response = service.post_github(event, body, delivery=f"acct-{next(_deliveries)}")
    assert response.status_code == 200, response.text
    return response


def push(author: dict[str, Any], committer: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "ref": "refs/heads/main",
        "after": SHA,
        "commits": [
            {"id": "d" * 40, "author": {"name": "Carol", "email": "carol@corp.example"}},
            {"id": SHA, "author": author, "committer": committer or author},
        ],
        "sender": {"login": "bob-gh"},
    }


def approve(service: Service, member: str, rollout_id: str) -> requests.Response:
    return requests.post(
        f"{service.url}/api/v1/rollouts/{rollout_id}/approve",
        headers={"Authorization": f"Bearer {service.token(member)}"},
        timeout=10,
    )


def approval_reasons(service: Service, rollout_id: str) -> list[str]:
    answer = requests.get(
        f"{service.url}/api/v1/rollouts/{rollout_id}",
        headers={"Authorization": f"Bearer {service.token('alice')}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["approval"]["reasons"])


@pytest.mark.parametrize("delivery_first", [True, False], ids=["push-first", "rollout-first"])
def test_push_delivery_links_the_commit_email_to_a_members_login(
    service: Service, delivery_first: bool
) -> None:
    author = {"name": "Bob B", "email": "bb@corp.example", "username": "bob-gh"}
    if delivery_first:
        deliver(service, "push", push(author))
    rollout = service.rollout(SHA, author="Bob B", email="bb@corp.example")
    if not delivery_first:
        assert any("Bob B <bb@corp.example>" in r for r in approval_reasons(service, rollout.id))
        deliver(service, "push", push(author))
    assert service.pushes, "the push still reaches the git watcher"

    refused = approve(service, "bob", rollout.id)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "bob authored this change and cannot approve it"
    assert not any("not on the roster" in r for r in approval_reasons(service, rollout.id))
    assert approve(service, "alice", rollout.id).status_code == 200


def test_a_committer_known_by_login_cannot_approve(service: Service) -> None:
    author = {"name": "Carol", "email": "carol@corp.example"}
    committer = {"name": "B", "email": "b@laptop.local", "username": "BOB-GH"}
    deliver(service, "push", push(author, committer))
    rollout = service.rollout(SHA, author="Carol", email="carol@corp.example")
    rollout = service.store.set_artifacts(
        rollout.id, {"plan": {"committers": ["B <b@laptop.local>"]}}
    )
    assert approve(service, "bob", rollout.id).status_code == 403


def test_pull_request_author_cannot_approve_the_merged_commit(service: Service) -> None:
    rollout = service.rollout(SHA, author="Someone", email="someone@corp.example")
    deliver(
        service,
        "pull_request",
        {
            "action": "closed",
            "pull_request": {
                "number": 7,
                "user": {"login": "alice-gh"},
                "head": {"sha": "e" * 40},
                "merge_commit_sha": SHA,
            },
            "sender": {"login": "bob-gh"},  # merged it; wrote nothing
        },
    )
    refused = approve(service, "alice", rollout.id)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "alice authored this change and cannot approve it"
    assert approve(service, "bob", rollout.id).status_code == 200


def test_accounts_of_another_repository_are_not_taken(service: Service) -> None:
    body = json.dumps(
        {
            **push({"name": "Bob B", "email": "bb@corp.example", "username": "bob-gh"}),
            "repository": {"full_name": "mallory/elsewhere"},
        }
    ).encode()
    assert service.post_github("push", body, delivery="acct-other").status_code == 202
    rollout = service.rollout(SHA, author="Bob B", email="bb@corp.example")
    assert approve(service, "bob", rollout.id).status_code == 200
