"""Metrics read counts from the store, not every row."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rollout.store import OutboxItem, Store

from .conftest import FakeClock, new_rollout

# Real database files and servers (see conftest.py).
pytestmark = pytest.mark.integration


def test_rollouts_are_counted_by_state(store: Store) -> None:
    assert store.count_rollouts_by_state() == {}
    for state in ["detected", "detected", "awaiting_approval", "done", "done", "done"]:
        new_rollout(store, state=state)
    assert store.count_rollouts_by_state() == {"detected": 2, "awaiting_approval": 1, "done": 3}


def test_outbox_items_are_counted_by_status(store: Store, clock: FakeClock) -> None:
    store.enqueue([OutboxItem("slack", "drift.detected", f"k{i}") for i in range(4)])
    first, second, _, _ = store.outbox_items()
    store.mark_delivered(first.id)
    store.mark_failed(second.id, "gone", clock.now + timedelta(minutes=1), dead=True)

    assert store.count_outbox("pending") == 2
    assert store.count_outbox("delivered") == 1
    assert store.count_outbox("dead") == 1
    assert store.count_outbox("unknown") == 0
