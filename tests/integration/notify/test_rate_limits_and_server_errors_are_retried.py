"""A 429 is retried no earlier than its Retry-After; a 500 is retried with
backoff and then succeeds; neither produces a second Slack message."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rollout.config.schema import Notifications
from rollout.store import Store
from tests.integration.notify.conftest import (
    FakeClock,
    WebhookReceiver,
    enqueue,
    make_worker,
    new_rollout,
    rollout_events,
)
from tests.standins.github_api import GitHubStandIn
from tests.standins.slack_api import SlackStandIn

pytestmark = pytest.mark.integration


def test_slack_429_waits_for_retry_after_then_posts_once(
    store: Store, clock: FakeClock, notifications: Notifications, slack: SlackStandIn
) -> None:
    rollout_id = new_rollout(store)
    detected, validated = rollout_events(rollout_id, clock.now)[:2]
    enqueue(store, detected, notifications, ["slack"])
    enqueue(store, validated, notifications, ["slack"])
    slack.fail_next(
        "POST", "/chat.postMessage", 429, retry_after=30, body=b'{"ok":false,"error":"ratelimited"}'
    )
    worker = make_worker(store, notifications, clock)

    [result] = worker.run_once()  # the later item waits behind the first
    assert result.outcome == "retry"
    assert result.next_attempt_at == clock.now + timedelta(seconds=30)
    assert "429" in (result.error or "")

    clock.advance(seconds=29)
    assert worker.run_once() == []
    clock.advance(seconds=1)
    assert [r.outcome for r in worker.run_once()] == ["delivered", "delivered"]

    assert len(slack.parents()) == 1
    assert len(slack.calls("chat.postMessage")) == 3  # 429, parent, thread reply
    assert len(slack.calls("chat.update")) == 1
    [first, _] = store.outbox_items()
    assert first.attempts == 2 and first.status == "delivered"
    assert slack.violations == []


def test_server_error_then_success_with_backoff(
    store: Store,
    clock: FakeClock,
    notifications: Notifications,
    slack: SlackStandIn,
    github: GitHubStandIn,
    receiver: WebhookReceiver,
) -> None:
    rollout_id = new_rollout(store)
    [detected] = rollout_events(rollout_id, clock.now)[:1]
    enqueue(store, detected, notifications)
    slack.fail_next("POST", "/chat.postMessage", 500, body=b"oops")
    github.fail_next("POST", f"/statuses/{detected.commit.sha}", 502)  # type: ignore[union-attr]
    receiver.fail_next("POST", "/hook", 503)
    worker = make_worker(store, notifications, clock)  # random() == 0.5

    first = worker.run_once()
    assert sorted(r.outcome for r in first) == ["retry", "retry", "retry"]
    # Full jitter: uniform(0, base_delay * 2**0) = 0.5 * 2s.
    assert {r.next_attempt_at for r in first} == {clock.now + timedelta(seconds=1)}

    clock.advance(seconds=1)
    assert sorted(r.outcome for r in worker.run_once()) == ["delivered"] * 3
    assert len(slack.parents()) == 1
    assert len(receiver.deliveries()) == 2
    assert len({r.header("X-Netpol-Rollout-Delivery") for r in receiver.deliveries()}) == 1
    assert [s["state"] for _, s in github.statuses] == ["pending"]
    assert all(item.status == "delivered" and item.attempts == 2 for item in store.outbox_items())
