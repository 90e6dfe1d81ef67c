"""Outbox rows are written in the same transaction as the change they announce."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rollout.errors import StoreError
from rollout.store import OutboxItem, Store

from .conftest import FakeClock, new_rollout

# Real database files and servers (see conftest.py).
pytestmark = pytest.mark.integration


def _items(rollout_id: str) -> list[OutboxItem]:
    return [
        OutboxItem(
            "slack",
            "staging.applied",
            f"{rollout_id}:applied:slack",
            {"text": "applied"},
            rollout_id,
        ),
        OutboxItem(
            "webhook:ops", "staging.applied", f"{rollout_id}:applied:ops", {"k": 1}, rollout_id
        ),
    ]


def test_transition_enqueues_its_notifications(store: Store, clock: FakeClock) -> None:
    rollout_id = new_rollout(store)
    store.transition(
        rollout_id,
        ["pending"],
        "applied",
        actor="system",
        channel="system",
        outbox=_items(rollout_id),
    )

    pending = store.outbox_items(status="pending")
    assert [(i.channel, i.rollout_id, i.attempts, i.next_attempt_at) for i in pending] == [
        ("slack", rollout_id, 0, clock.now),
        ("webhook:ops", rollout_id, 0, clock.now),
    ]
    assert store.due_outbox(clock.now) == pending


def test_failing_outbox_row_rolls_back_the_transition(store: Store) -> None:
    rollout_id = new_rollout(store)
    events_before = store.events(rollout_id=rollout_id)
    poisoned = [*_items(rollout_id), OutboxItem("slack", "x", "poison", {"not json": object()})]

    # The poisoned row comes last: the update, the event and two rows are already written.
    with pytest.raises(ValueError, match="outbox item 'poison' is not JSON-serializable"):
        store.transition(
            rollout_id, ["pending"], "applied", actor="system", channel="system", outbox=poisoned
        )

    record = store.get_rollout(rollout_id)
    assert record is not None and record.state == "pending"
    assert store.events(rollout_id=rollout_id) == events_before
    assert store.outbox_items() == []


def test_database_failure_after_the_update_rolls_back_everything(store: Store) -> None:
    rollout_id = new_rollout(store)
    # A foreign key violation raised by the database itself, after the state update.
    with pytest.raises(StoreError):
        store.transition(
            rollout_id,
            ["pending"],
            "applied",
            actor="system",
            channel="system",
            outbox=[*_items(rollout_id), OutboxItem("slack", "x", "fk", rollout_id="r-missing")],
        )
    record = store.get_rollout(rollout_id)
    assert record is not None and record.state == "pending"
    assert store.outbox_items() == []
    assert len(store.events(rollout_id=rollout_id)) == 1


def test_artifacts_that_are_not_json_write_nothing(store: Store) -> None:
    rollout_id = new_rollout(store)
    with pytest.raises(ValueError, match="artifact 'plan' is not JSON-serializable"):
        store.transition(
            rollout_id,
            ["pending"],
            "applied",
            actor="system",
            channel="system",
            artifacts={"plan": {"bad": object()}},
            outbox=_items(rollout_id),
        )
    assert store.outbox_items() == []


def test_same_idempotency_key_is_enqueued_once(store: Store) -> None:
    rollout_id = new_rollout(store)
    assert store.enqueue(_items(rollout_id)) == 2
    assert store.enqueue(_items(rollout_id)) == 0
    assert len(store.outbox_items()) == 2


def test_delivery_bookkeeping_and_external_refs(store: Store, clock: FakeClock) -> None:
    rollout_id = new_rollout(store)
    store.enqueue(_items(rollout_id))
    slack, hook = store.outbox_items()

    delivered = store.mark_delivered(slack.id, external_ref="1712345678.000100")
    later = clock.now + timedelta(seconds=30)
    failed = store.mark_failed(
        hook.id,
        "POST https://ops.example.com/hook?token=s3cr3tvalue failed: "
        "Authorization: Bearer abcdefghijkl",
        later,
        dead=False,
    )

    assert delivered.status == "delivered" and delivered.delivered_at == clock.now
    assert failed.status == "pending" and failed.attempts == 1 and failed.next_attempt_at == later
    assert failed.last_error is not None
    assert "s3cr3tvalue" not in failed.last_error and "abcdefghijkl" not in failed.last_error
    assert store.due_outbox(clock.now) == []
    assert [i.id for i in store.due_outbox(later)] == [hook.id]
    assert store.external_ref_for(rollout_id, "slack") == "1712345678.000100"
    assert store.external_ref_for(rollout_id, "github") is None

    dead = store.mark_failed(hook.id, "gave up", later, dead=True)
    assert dead.status == "dead" and dead.attempts == 2
    assert store.due_outbox(later + timedelta(days=1)) == []
    assert [i.id for i in store.outbox_items(status="dead")] == [hook.id]


def test_events_and_holds_carry_their_outbox_rows(store: Store) -> None:
    store.set_hold(
        "production",
        True,
        "grace",
        "incident 42",
        channel="slack",
        outbox=[OutboxItem("slack", "production.held", "hold-1")],
    )
    store.record_event(
        "break_glass",
        actor="grace",
        channel="cli",
        environment="production",
        details={"reason": "outage"},
        outbox=[OutboxItem("webhook:ops", "production.break_glass", "bg-1")],
    )
    assert [i.idempotency_key for i in store.outbox_items()] == ["hold-1", "bg-1"]
    assert [e.kind for e in store.events(environment="production")] == ["hold", "break_glass"]
