"""transition() moves a rollout only from the states the caller expects."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest

from rollout.errors import StoreError
from rollout.store import Store

from .conftest import FakeClock, new_rollout, run_at_once

# Real database files and servers (see conftest.py).
pytestmark = pytest.mark.integration


def test_transition_from_expected_state_writes_state_and_event(
    store: Store, clock: FakeClock
) -> None:
    rollout_id = new_rollout(store)
    clock.advance(minutes=5)

    moved = store.transition(
        rollout_id,
        ["pending"],
        "awaiting_approval",
        actor="ada",
        channel="slack",
        reason="needs 2 approvals",
        request_id="req-1",
        environment="production",
        artifacts={"plan": {"apply": ["frontend/allow-web"]}, "risk": {"level": "high"}},
    )

    assert moved is not None
    assert moved.state == "awaiting_approval"
    assert moved.environment == "production"
    assert moved.reason == "needs 2 approvals"
    assert moved.plan == {"apply": ["frontend/allow-web"]}
    assert moved.updated_at == clock.now
    assert store.get_rollout(rollout_id) == moved
    changed = store.events(rollout_id=rollout_id, kinds=["state.changed"])
    assert [
        (e.details["from"], e.details["to"], e.actor, e.channel, e.request_id) for e in changed
    ] == [("pending", "awaiting_approval", "ada", "slack", "req-1")]
    assert changed[0].environment == "production"


def test_transition_from_another_state_returns_none_and_writes_nothing(store: Store) -> None:
    rollout_id = new_rollout(store, state="applied")
    before = store.events(rollout_id=rollout_id)

    assert store.transition(rollout_id, ["pending"], "applying", actor="x", channel="cli") is None

    record = store.get_rollout(rollout_id)
    assert record is not None and record.state == "applied"
    assert store.events(rollout_id=rollout_id) == before


def test_a_bare_string_is_one_state_not_its_letters(store: Store) -> None:
    rollout_id = new_rollout(store, state="p")
    assert store.transition(rollout_id, "pending", "applying", actor="x", channel="cli") is None


def test_transition_of_unknown_rollout_is_a_store_error(store: Store) -> None:
    with pytest.raises(StoreError, match="no rollout 'r-0000000000'"):
        store.transition("r-0000000000", ["pending"], "applying", actor="x", channel="cli")


def test_unknown_channel_and_artifact_are_programming_errors(store: Store) -> None:
    rollout_id = new_rollout(store)
    with pytest.raises(ValueError, match="channel must be one of"):
        store.transition(rollout_id, ["pending"], "applying", actor="x", channel="email")
    with pytest.raises(ValueError, match="unknown rollout artifacts"):
        store.transition(
            rollout_id, ["pending"], "applying", actor="x", channel="cli", artifacts={"plans": 1}
        )


def test_two_racing_transitions_have_exactly_one_winner(
    open_test_store: Callable[..., Store],
) -> None:
    # Two Store objects = two engines and connection pools, like two processes.
    stores = [open_test_store(), open_test_store()]
    for _round in range(5):
        rollout_id = new_rollout(stores[0])

        results = run_at_once(
            [
                partial(
                    store.transition,
                    rollout_id,
                    ["pending"],
                    f"won-by-{index}",
                    actor=f"worker-{index}",
                    channel="system",
                )
                for index, store in enumerate(stores)
            ]
        )

        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        final = stores[0].get_rollout(rollout_id)
        assert final is not None and final.state == winners[0].state
        assert len(stores[0].events(rollout_id=rollout_id, kinds=["state.changed"])) == 1


def test_list_rollouts_filters_and_orders_newest_first(store: Store, clock: FakeClock) -> None:
    first = new_rollout(store, state="applied")
    clock.advance(seconds=1)
    second = new_rollout(store, state="pending")
    clock.advance(seconds=1)
    third = new_rollout(store, state="pending", environment="production")

    assert [r.id for r in store.list_rollouts()] == [third, second, first]
    assert [r.id for r in store.list_rollouts(environment="staging")] == [second, first]
    assert [r.id for r in store.list_rollouts(states=["pending"])] == [third, second]
    assert [r.id for r in store.list_rollouts(limit=1)] == [third]


def test_rollout_ids_come_from_the_injected_factory(open_test_store: Callable[..., Store]) -> None:
    ids = iter(["r-000000000a", "r-000000000b"])
    store = open_test_store(id_factory=lambda: next(ids))
    assert new_rollout(store) == "r-000000000a"
    assert new_rollout(store) == "r-000000000b"


def test_default_ids_are_r_dash_ten_hex(store: Store) -> None:
    rollout_id = new_rollout(store)
    assert rollout_id.startswith("r-") and len(rollout_id) == 12
    int(rollout_id[2:], 16)
