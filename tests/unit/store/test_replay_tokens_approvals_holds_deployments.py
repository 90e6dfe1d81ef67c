"""Replay detection, API token lookup, approvals, holds and deployment history."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from rollout.store import Store

from .conftest import FakeClock, new_rollout, run_at_once

# Real database files and servers (see conftest.py).
pytestmark = pytest.mark.integration


def test_request_id_is_new_once_per_source(store: Store) -> None:
    assert store.seen_request("slack", "req-1") is True
    assert store.seen_request("slack", "req-1") is False
    assert store.seen_request("github", "req-1") is True


def test_concurrent_replays_are_detected_exactly_once(
    open_test_store: Callable[..., Store],
) -> None:
    stores = [open_test_store() for _ in range(4)]
    results = run_at_once([partial(s.seen_request, "slack", "same-delivery") for s in stores])
    assert sorted(results) == [False, False, False, True]


def test_old_request_ids_can_be_forgotten(store: Store, clock: FakeClock) -> None:
    store.seen_request("slack", "old")
    clock.advance(hours=1)
    store.seen_request("slack", "new")
    assert store.forget_requests_before(clock.now - timedelta(minutes=10)) == 1
    assert store.seen_request("slack", "old") is True
    assert store.seen_request("slack", "new") is False


def test_token_hash_finds_its_member_until_revoked(store: Store) -> None:
    token_hash = hashlib.sha256(b"nrt_example-token").hexdigest()
    token = store.create_token("ada", token_hash)

    assert store.member_for_token_hash(token_hash) == "ada"
    assert store.member_for_token_hash(hashlib.sha256(b"other").hexdigest()) is None
    assert store.revoke_token(token.id) is True
    assert store.revoke_token(token.id) is False
    assert store.member_for_token_hash(token_hash) is None
    assert [t.revoked_at is not None for t in store.tokens("ada")] == [True]


def test_token_must_be_stored_as_a_hash(store: Store) -> None:
    with pytest.raises(ValueError, match="sha256 hex digest"):
        store.create_token("ada", "nrt_plaintext-token")


def test_each_member_approves_a_stage_once(store: Store, clock: FakeClock) -> None:
    rollout_id = new_rollout(store, environment="production")
    expires = clock.now + timedelta(hours=24)

    assert store.add_approval(
        rollout_id, "production", "abc", "ada", channel="slack", expires_at=expires
    )
    assert not store.add_approval(rollout_id, "production", "abc", "ada", channel="github")
    assert store.add_approval(
        rollout_id,
        "production",
        "abc",
        "grace",
        channel="cli",
        decision="reject",
        reason="too wide",
    )
    assert store.add_approval(rollout_id, "staging", "abc", "ada", channel="slack")

    approvals = store.approvals_for(rollout_id, "production")
    assert [(a.member, a.decision, a.channel, a.expires_at) for a in approvals] == [
        ("ada", "approve", "slack", expires),
        ("grace", "reject", "cli", None),
    ]
    kinds = [e.kind for e in store.events(rollout_id=rollout_id, environment="production")]
    assert kinds == ["rollout.created", "approval.granted", "approval.rejected"]


def test_hold_is_set_and_released(store: Store) -> None:
    assert store.hold_of("production") is None
    store.set_hold("production", True, "grace", "incident 42")
    held = store.hold_of("production")
    assert held is not None and held.held and held.reason == "incident 42"
    store.set_hold("production", False, "ada")
    released = store.hold_of("production")
    assert released is not None and not released.held and released.actor == "ada"


def test_last_deployment_per_environment_and_status(store: Store, clock: FakeClock) -> None:
    rollout_id = new_rollout(store)
    first = store.record_deployment("staging", "aaa", "sha256:1", rollout_id=rollout_id)
    clock.advance(minutes=1)
    second = store.record_deployment("staging", "bbb", "sha256:2")
    clock.advance(minutes=1)
    store.record_deployment("staging", "ccc", "sha256:3", status="failed")
    store.record_deployment("production", "aaa", "sha256:1")

    last = store.last_deployment("staging")
    assert last == second
    assert store.last_deployment("staging", status="failed") is not None
    assert [d.commit_sha for d in store.deployments("staging")] == ["ccc", "bbb", "aaa"]

    store.set_deployment_status(second.id, "rolled_back")
    assert store.last_deployment("staging") == first


def test_times_come_back_aware_utc_and_naive_times_are_refused(store: Store) -> None:
    berlin_noon = datetime(2026, 3, 2, 12, 0, tzinfo=UTC).astimezone()
    deployment = store.record_deployment("staging", "a", "h", applied_at=berlin_noon)
    assert deployment.applied_at.tzinfo is UTC or deployment.applied_at.utcoffset() == timedelta(0)
    assert store.deployments("staging")[0].applied_at == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive datetime"):
        store.record_deployment("staging", "a", "h", applied_at=datetime(2026, 3, 2, 12, 0))
