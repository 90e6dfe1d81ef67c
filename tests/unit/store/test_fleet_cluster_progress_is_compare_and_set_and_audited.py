"""Per-cluster fleet progress: recorded once, moved by compare-and-set, each move audited."""

from __future__ import annotations

import pytest

from rollout.store import PlannedCluster, Store
from tests.unit.store.conftest import FakeClock, new_rollout, run_at_once

pytestmark = pytest.mark.integration

SHA = "0123456789abcdef0123456789abcdef01234567"
PLAN = [
    PlannedCluster("eu-1", "canary", 0, 0, "aaaa"),
    PlannedCluster("eu-2", "europe", 1, 0, "aaaa"),
    PlannedCluster("us-1", "americas", 2, 0, None),
]


def test_start_records_every_cluster_pending_once(store: Store) -> None:
    rollout = new_rollout(store, "approved", "production")
    first = store.start_fleet(rollout, "production", SHA, PLAN)
    again = store.start_fleet(rollout, "production", SHA, PLAN)

    assert [r.cluster for r in first] == ["eu-1", "eu-2", "us-1"]
    assert again == first
    assert {r.state for r in first} == {"pending"}
    assert [r.previous_sha for r in first] == ["aaaa", "aaaa", None]
    started = store.events(rollout_id=rollout, kinds=["fleet.started"])
    assert len(started) == 1
    assert started[0].details["clusters"] == ["eu-1", "eu-2", "us-1"]


def test_a_move_from_the_wrong_state_changes_nothing(store: Store) -> None:
    rollout = new_rollout(store, "approved", "production")
    store.start_fleet(rollout, "production", SHA, PLAN)

    assert store.move_fleet_cluster(rollout, "production", "eu-1", ["applied"], "verified") is None
    moved = store.move_fleet_cluster(rollout, "production", "eu-1", ["pending"], "applying")

    assert moved is not None and moved.state == "applying"
    assert store.move_fleet_cluster(rollout, "production", "nope", ["pending"], "applying") is None


def test_racing_moves_of_one_cluster_let_exactly_one_win(store: Store) -> None:
    rollout = new_rollout(store, "approved", "production")
    store.start_fleet(rollout, "production", SHA, PLAN)

    results = run_at_once(
        [
            lambda: store.move_fleet_cluster(rollout, "production", "eu-1", ["pending"], "applying")
            for _ in range(4)
        ]
    )

    assert sum(r is not None for r in results) == 1
    assert len(store.events(rollout_id=rollout, kinds=["fleet.cluster.applying"])) == 1


def test_each_move_is_an_audit_event_with_the_cluster_result(
    store: Store, clock: FakeClock
) -> None:
    rollout = new_rollout(store, "approved", "production")
    store.start_fleet(rollout, "production", SHA, PLAN)
    store.move_fleet_cluster(rollout, "production", "eu-1", ["pending"], "applying")
    store.move_fleet_cluster(
        rollout, "production", "eu-1", ["applying"], "applied", details={"summary": "applied"}
    )
    clock.advance(minutes=1)
    verified = store.move_fleet_cluster(
        rollout, "production", "eu-1", ["applied"], "verified", details={"smoke": "3 passed"}
    )
    store.move_fleet_cluster(rollout, "production", "eu-2", ["pending"], "applying")
    failed = store.move_fleet_cluster(
        rollout, "production", "eu-2", ["applying"], "rolling_back", failure="2 checks failed"
    )

    assert verified is not None and verified.verified_at == clock.now
    assert verified.details == {"summary": "applied", "smoke": "3 passed"}
    assert failed is not None and failed.failure == "2 checks failed"
    kinds = [e.kind for e in store.events(rollout_id=rollout) if e.kind.startswith("fleet.")]
    assert kinds == [
        "fleet.started",
        "fleet.cluster.applying",
        "fleet.cluster.applied",
        "fleet.cluster.verified",
        "fleet.cluster.applying",
        "fleet.cluster.rolling_back",
    ]
    last = store.events(rollout_id=rollout, kinds=["fleet.cluster.rolling_back"])[0]
    assert last.environment == "production"
    assert last.details["cluster"] == "eu-2"
    assert last.details["wave"] == "europe"
    assert last.details["failure"] == "2 checks failed"


def test_last_verified_sha_is_what_the_cluster_still_runs(store: Store) -> None:
    first = new_rollout(store, "approved", "production")
    store.start_fleet(first, "production", "1111", PLAN[:1])
    assert store.last_verified_sha("production", "eu-1") is None
    for a, b in (("pending", "applying"), ("applying", "applied"), ("applied", "verified")):
        store.move_fleet_cluster(first, "production", "eu-1", [a], b)
    assert store.last_verified_sha("production", "eu-1") == "1111"

    second = new_rollout(store, "approved", "production")
    store.start_fleet(second, "production", "2222", [PlannedCluster("eu-1", "c", 0, 0, "1111")])
    for a, b in (("pending", "applying"), ("applying", "rolling_back")):
        store.move_fleet_cluster(second, "production", "eu-1", [a], b, failure="smoke")
    store.move_fleet_cluster(second, "production", "eu-1", ["rolling_back"], "rolled_back")

    assert store.last_verified_sha("production", "eu-1") == "1111"
