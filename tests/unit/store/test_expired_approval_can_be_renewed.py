"""A member whose approval expired can approve again; an unexpired decision stands."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial

import pytest

from rollout.store import Store

from .conftest import FakeClock, new_rollout, run_at_once

# Real database files and servers (see conftest.py).
pytestmark = pytest.mark.integration

SHA = "0123456789abcdef0123456789abcdef01234567"


def _approve(store: Store, rollout_id: str, clock: FakeClock, channel: str = "slack") -> bool:
    return store.add_approval(
        rollout_id,
        "production",
        SHA,
        "ada",
        channel=channel,
        request_id=f"req-{channel}-{clock.now:%H%M%S}",
        expires_at=clock.now + timedelta(hours=1),
    )


def test_unexpired_approval_is_not_replaced(store: Store, clock: FakeClock) -> None:
    rollout_id = new_rollout(store, environment="production")
    assert _approve(store, rollout_id, clock)
    first = store.approvals_for(rollout_id, "production")

    clock.advance(minutes=59, seconds=59)
    assert not _approve(store, rollout_id, clock, channel="github")

    assert store.approvals_for(rollout_id, "production") == first
    kinds = [e.kind for e in store.events(rollout_id=rollout_id, kinds=["approval.granted"])]
    assert kinds == ["approval.granted"]


def test_expired_approval_is_renewed_and_the_renewal_audited(
    store: Store, clock: FakeClock
) -> None:
    rollout_id = new_rollout(store, environment="production")
    assert _approve(store, rollout_id, clock)
    (old,) = store.approvals_for(rollout_id, "production")

    clock.advance(hours=1)  # the instant of expiry already counts as expired
    assert _approve(store, rollout_id, clock, channel="github")

    (renewed,) = store.approvals_for(rollout_id, "production")
    assert (renewed.member, renewed.decision, renewed.channel) == ("ada", "approve", "github")
    assert renewed.at == clock.now and renewed.expires_at == clock.now + timedelta(hours=1)
    granted = store.events(rollout_id=rollout_id, kinds=["approval.granted"])
    assert [e.details.get("replaces") for e in granted] == [
        None,
        {
            "decision": "approve",
            "commit_sha": SHA,
            "channel": "slack",
            "at": old.at.isoformat(),
            "expires_at": old.expires_at.isoformat() if old.expires_at else None,
        },
    ]
    assert granted[1].channel == "github" and granted[1].request_id is not None


def test_expired_approval_may_be_replaced_by_a_rejection(store: Store, clock: FakeClock) -> None:
    rollout_id = new_rollout(store, environment="production")
    assert _approve(store, rollout_id, clock)
    clock.advance(hours=2)
    assert store.add_approval(
        rollout_id, "production", SHA, "ada", channel="cli", decision="reject", reason="no"
    )
    (record,) = store.approvals_for(rollout_id, "production")
    assert (record.decision, record.reason, record.expires_at) == ("reject", "no", None)


def test_decision_without_expiry_is_never_replaced(store: Store, clock: FakeClock) -> None:
    rollout_id = new_rollout(store, environment="production")
    assert store.add_approval(
        rollout_id, "production", SHA, "ada", channel="cli", decision="reject", reason="no"
    )
    clock.advance(days=365)
    assert not _approve(store, rollout_id, clock)
    (record,) = store.approvals_for(rollout_id, "production")
    assert record.decision == "reject"


def test_concurrent_renewals_replace_the_expired_approval_once(
    open_test_store: Callable[..., Store], clock: FakeClock
) -> None:
    stores = [open_test_store() for _ in range(4)]
    rollout_id = new_rollout(stores[0], environment="production")
    assert _approve(stores[0], rollout_id, clock)
    clock.advance(hours=2)

    results = run_at_once([partial(_approve, s, rollout_id, clock) for s in stores])

    assert sorted(results) == [False, False, False, True]
    granted = stores[0].events(rollout_id=rollout_id, kinds=["approval.granted"])
    assert len(granted) == 2
