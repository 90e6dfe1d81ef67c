"""Edits in place go to the message a channel delivered last (a re-posted parent wins)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rollout.store import OutboxItem, Store

from .conftest import FakeClock, new_rollout

# Real database files and servers (see conftest.py).
pytestmark = pytest.mark.integration


def test_reposted_parent_replaces_the_deleted_one(store: Store, clock: FakeClock) -> None:
    rollout_id = new_rollout(store)
    events = ["rollout.detected", "staging.applied", "smoke.passed", "approval.requested"]
    store.enqueue(
        [OutboxItem("slack", e, f"{rollout_id}:{e}:slack", rollout_id=rollout_id) for e in events]
    )
    detected, applied, smoke, requested = store.outbox_items()

    store.mark_delivered(detected.id, "C1/100.1")
    clock.advance(seconds=5)
    store.mark_delivered(applied.id, "C1/100.1")  # edited in place
    assert store.external_ref_for(rollout_id, "slack") == "C1/100.1"

    clock.advance(seconds=5)
    store.mark_delivered(smoke.id, "C1/200.2")  # parent deleted: posted anew
    assert store.external_ref_for(rollout_id, "slack") == "C1/200.2"

    # A failed attempt, or a delivery without a reference, changes nothing.
    store.mark_failed(requested.id, "timeout", clock.now + timedelta(seconds=30), dead=False)
    assert store.external_ref_for(rollout_id, "slack") == "C1/200.2"
    clock.advance(minutes=1)
    store.mark_delivered(requested.id)
    assert store.external_ref_for(rollout_id, "slack") == "C1/200.2"
    assert store.external_ref_for(rollout_id, "github") is None
