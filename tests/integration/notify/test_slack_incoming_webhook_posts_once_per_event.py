"""Incoming-webhook mode: one post per event, no updates, no buttons."""

from __future__ import annotations

import json

import pytest

from rollout.config.schema import Notifications, SecretRef, SlackSettings
from rollout.store import Store
from tests.integration.notify.conftest import (
    FakeClock,
    enqueue,
    make_worker,
    new_rollout,
    rollout_events,
)
from tests.standins.slack_api import SlackStandIn

pytestmark = pytest.mark.integration


def test_each_event_is_one_post(
    monkeypatch: pytest.MonkeyPatch, store: Store, clock: FakeClock, slack: SlackStandIn
) -> None:
    monkeypatch.setenv("TEST_SLACK_HOOK", slack.webhook_url)
    settings = Notifications(slack=SlackSettings(webhook_url=SecretRef(env="TEST_SLACK_HOOK")))
    rollout_id = new_rollout(store)
    events = rollout_events(rollout_id, clock.now)[3:6]
    worker = make_worker(store, settings, clock)
    for event in events:
        enqueue(store, event, settings)
    assert [r.outcome for r in worker.run_once()] == ["delivered"] * 3

    assert len(slack.webhook_posts) == 3
    assert slack.calls("chat.update") == []
    assert "rollout_approve" not in json.dumps(slack.webhook_posts)
    assert "Approval requested" in slack.webhook_posts[1]["text"]
    assert slack.violations == []
