"""Remembered Slack signatures and GitHub delivery ids are pruned after their retention;
the comment and review ids a decision was taken on are kept far longer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rollout.housekeeping import SIGNED_ID_RETENTION, prune_seen_requests
from rollout.store import Store

from .conftest import FakeClock

pytestmark = pytest.mark.integration


def test_replay_ids_past_retention_are_forgotten_signed_ids_are_kept(
    store: Store, clock: FakeClock
) -> None:
    store.seen_request("slack", "v0=old-signature")
    store.seen_request("github", "old-delivery")
    store.seen_request("github-signed", "comment:1")
    clock.advance(days=8)
    store.seen_request("slack", "v0=new-signature")
    store.seen_request("github", "new-delivery")

    assert prune_seen_requests(store, clock.now, timedelta(days=7)) == 2

    assert store.seen_request("slack", "v0=old-signature") is True  # forgotten
    assert store.seen_request("github", "old-delivery") is True
    assert store.seen_request("slack", "v0=new-signature") is False  # still remembered
    assert store.seen_request("github", "new-delivery") is False
    assert store.seen_request("github-signed", "comment:1") is False


def test_signed_ids_are_forgotten_after_their_own_retention(store: Store, clock: FakeClock) -> None:
    store.seen_request("github-signed", "review:7")
    clock.advance(days=SIGNED_ID_RETENTION.days + 1)
    assert prune_seen_requests(store, clock.now, timedelta(days=7)) == 1
    assert store.seen_request("github-signed", "review:7") is True
