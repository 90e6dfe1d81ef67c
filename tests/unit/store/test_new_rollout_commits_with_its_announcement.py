"""A new rollout, its artifacts and the notifications naming its id commit together."""

from __future__ import annotations

import pytest

from rollout.errors import StoreError
from rollout.store import OutboxItem, RolloutRecord, Store

# Real database files and servers (see conftest.py).
pytestmark = pytest.mark.integration


def _create(store: Store, **kwargs: object) -> RolloutRecord:
    return store.create_rollout(
        environment="staging",
        commit_sha="0123456789abcdef0123456789abcdef01234567",
        author="Ada",
        author_email="ada@example.com",
        message="allow frontend to backend on 8080",
        state="detected",
        **kwargs,  # type: ignore[arg-type]
    )


def _announce(rollout: RolloutRecord) -> list[OutboxItem]:
    key = f"{rollout.id}:rollout.detected:slack"
    return [OutboxItem("slack", "rollout.detected", key, {"state": rollout.state})]


def test_outbox_for_sees_the_new_rollout_and_commits_with_it(store: Store) -> None:
    seen: list[RolloutRecord] = []

    def announce(rollout: RolloutRecord) -> list[OutboxItem]:
        seen.append(rollout)
        return _announce(rollout)

    created = _create(store, outbox_for=announce, artifacts={"plan": {"authors": ["Ada", "Grace"]}})

    assert seen == [created]
    assert created.plan == {"authors": ["Ada", "Grace"]}
    (item,) = store.outbox_items()
    assert (item.rollout_id, item.idempotency_key, item.payload) == (
        created.id,
        f"{created.id}:rollout.detected:slack",
        {"state": "detected"},
    )
    assert store.get_rollout(created.id) == created


def test_given_rollout_id_is_used_and_cannot_be_taken_twice(store: Store) -> None:
    created = _create(store, rollout_id="r-chosen0001", outbox_for=_announce)
    assert created.id == "r-chosen0001"
    with pytest.raises(StoreError):
        _create(store, rollout_id="r-chosen0001", outbox_for=_announce)
    assert [i.idempotency_key for i in store.outbox_items()] == [
        "r-chosen0001:rollout.detected:slack"
    ]


def test_failing_announcement_leaves_no_rollout(store: Store) -> None:
    def broken(rollout: RolloutRecord) -> list[OutboxItem]:
        raise RuntimeError(f"cannot announce {rollout.id}")

    with pytest.raises(RuntimeError, match="cannot announce r-gone00001"):
        _create(store, rollout_id="r-gone00001", outbox_for=broken)
    assert store.get_rollout("r-gone00001") is None
    assert store.events() == []
    assert store.outbox_items() == []
