"""A worker stopped mid-way leaves the rest pending; a new worker on the same
database delivers exactly those, once, and re-sends nothing delivered."""

from __future__ import annotations

import time
from collections import Counter
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


def test_restart_with_pending_deliveries_delivers_each_once(
    tmp_path: Path,
    notifications: Notifications,
    slack: SlackStandIn,
    receiver: WebhookReceiver,
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    first_store = open_store(url, clock=_now)
    rollout_id = new_rollout(first_store)
    events = rollout_events(rollout_id, _now())
    keys = [
        k
        for e in events
        for k in enqueue(first_store, e, notifications, ["slack", "webhook:audit"])
    ]
    slack.delays = {"/chat.postMessage": 0.15}
    receiver.delays = {"/hook": 0.15}

    worker = make_worker(first_store, notifications, _now, poll_interval=0.05)
    worker.start()
    deadline = time.monotonic() + 10
    while len(receiver.deliveries()) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    worker.stop()
    first_store.close()

    pending_after_stop = {
        i.idempotency_key for i in open_store(url, clock=_now).outbox_items("pending")
    }
    assert pending_after_stop, "the first worker should have been stopped mid-way"
    assert len(pending_after_stop) < len(keys)

    second_store = open_store(url, clock=_now)
    results = make_worker(second_store, notifications, _now).run_once()
    assert {r.outcome for r in results} == {"delivered"}
    assert len(results) == len(pending_after_stop)
    assert {i.status for i in second_store.outbox_items()} == {"delivered"}
    second_store.close()

    hook_keys = Counter(r.header("X-Netpol-Rollout-Delivery") for r in receiver.deliveries())
    assert set(hook_keys.values()) == {1}
    assert len(hook_keys) == len(events)
    assert len(slack.parents()) == 1
    [parent] = slack.parents()
    assert len(slack.replies(parent.ts)) == len(events) - 1
    assert len(parent.history) == len(events) - 1
    assert slack.violations == [] and receiver.violations == []
