"""Slack and GitHub stand-ins wired into a deployment's config, and the checks that
every notification reached them once and nothing in the store happened twice."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from rollout.store import Store
from tests.e2e.conftest import Deployment
from tests.e2e.support.world import configure
from tests.standins.github_api import GitHubStandIn
from tests.standins.slack_api import SlackStandIn

SIGNING_SECRET = "e2e-slack-signing-secret-0123456789"


@dataclass
class StandIns:
    slack: SlackStandIn
    github: GitHubStandIn

    def assert_clean(self) -> None:
        assert self.slack.violations == []
        assert self.github.violations == []


@contextlib.contextmanager
def stand_ins() -> Iterator[StandIns]:
    slack, github = SlackStandIn(), GitHubStandIn()
    slack.start()
    github.start()
    try:
        yield StandIns(slack, github)
    finally:
        slack.stop()
        github.stop()


def wire_notifications(
    deployment: Deployment, standins: StandIns, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack bot mode and GitHub statuses, both on the stand-ins; fast retries."""
    monkeypatch.setenv("E2E_SLACK_TOKEN", standins.slack.token)
    monkeypatch.setenv("E2E_SLACK_SIGNING", SIGNING_SECRET)
    monkeypatch.setenv("E2E_GITHUB_TOKEN", standins.github.token)

    def change(config: dict[str, Any]) -> None:
        config["notifications"] = {
            "slack": {
                "bot_token": {"env": "E2E_SLACK_TOKEN"},
                "channel": "#netpol",
                "signing_secret": {"env": "E2E_SLACK_SIGNING"},
                "api_url": standins.slack.api_url,
                # Answers to clicks go to the stand-in, never to the real Slack.
                "response_url_prefixes": [standins.slack.webhook_url],
            },
            "github": {
                "repository": standins.github.repo,
                "token": {"env": "E2E_GITHUB_TOKEN"},
                "api_url": standins.github.api_url,
            },
            "delivery": {"base_delay": "200ms", "max_delay": "1s"},
        }

    configure(deployment, change)


def all_delivered(store: Store, rollout_id: str) -> bool:
    items = store.outbox_items(rollout_id=rollout_id)
    return bool(items) and all(i.status == "delivered" for i in items)


def assert_nothing_twice(store: Store, rollout_id: str, sha: str) -> None:
    """One rollout, one deployment per environment, each transition and each
    notification once in the store."""
    assert [r.commit_sha for r in store.list_rollouts()] == [sha]
    for environment in ("staging", "production"):
        assert [d.commit_sha for d in store.deployments(environment)] == [sha], environment
    keys = Counter(i.idempotency_key for i in store.outbox_items(rollout_id=rollout_id))
    assert [k for k, n in keys.items() if n > 1] == []
    moves = Counter(
        (e.details["from"], e.details["to"])
        for e in store.events(rollout_id=rollout_id, kinds=["state.changed"])
    )
    assert [m for m, n in moves.items() if n > 1] == []


def undelivered(store: Store) -> Counter[str]:
    """Per channel, the notifications not marked delivered: after a kill -9 these are
    the only ones a restart may send again (the worker is at-least-once between the
    request and the mark, docs/notifications.md)."""
    return Counter(i.channel for i in store.outbox_items() if i.status != "delivered")


def assert_delivered_once(
    store: Store,
    rollout_id: str,
    standins: StandIns,
    sha: str,
    in_flight: Counter[str] | None = None,
) -> None:
    """Each Slack item is one chat.postMessage (parent or thread line); each GitHub
    item one commit status: a re-sent notification shows up as one more request.
    `in_flight` (from `undelivered` right after each kill) bounds the re-sends that
    the documented at-least-once window allows; everything else is exactly once."""
    allowed = in_flight or Counter()
    items = store.outbox_items(rollout_id=rollout_id)
    slack_items = [i for i in items if i.channel == "slack"]
    github_items = [i for i in items if i.channel == "github"]
    posts = standins.slack.calls("chat.postMessage")
    texts = [p.json.get("text") for p in posts]
    assert len(slack_items) <= len(posts) <= len(slack_items) + allowed["slack"], texts
    assert len(standins.slack.parents()) == 1
    statuses = [body for commit, body in standins.github.statuses if commit == sha]
    described = [s["description"] for s in statuses]
    assert len(github_items) <= len(statuses) <= len(github_items) + allowed["github"], described
