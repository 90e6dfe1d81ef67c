"""A channel that hangs until its timeout delays neither other channels nor
the rollout itself (which only writes outbox rows)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rollout.config.schema import Notifications
from rollout.store import open_store
from tests.integration.notify.conftest import (
    WebhookReceiver,
    enqueue,
    make_worker,
    new_rollout,
    rollout_events,
)
from tests.standins.slack_api import SlackStandIn

pytestmark = pytest.mark.integration


def _now() -> datetime:
    return datetime.now(UTC)


def test_webhooks_flow_while_slack_hangs(
    tmp_path: Path, notifications: Notifications, slack: SlackStandIn, receiver: WebhookReceiver
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", clock=_now)
    slack.delays = {"/chat.postMessage": 3.0}
    worker = make_worker(store, notifications, _now, poll_interval=0.05)
    worker.start()
    try:
        rollout_id = new_rollout(store)
        started = time.monotonic()
        for event in rollout_events(rollout_id, _now())[:4]:
            enqueue(store, event, notifications, ["slack", "webhook:audit"])
            worker.wake()
        enqueued = time.monotonic() - started
        deadline = time.monotonic() + 2.5
        while len(receiver.deliveries()) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(receiver.deliveries()) == 4
        assert time.monotonic() - started < 2.5
        assert enqueued < 1.0
        assert not slack.parents()  # still hanging on the first post
    finally:
        worker.stop()
        store.close()
