"""Events and rollouts can be read for a time range [since, until), filtered in SQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rollout.store import Store

from .conftest import FakeClock, new_rollout

# Real database files and servers (see conftest.py).
pytestmark = pytest.mark.integration


def _events_at(
    store: Store, clock: FakeClock, start: datetime, hours: list[int], kind: str = "note"
) -> None:
    """One `kind` event at each of `hours` after `start` (the store's clock is moved)."""
    for hour in hours:
        clock.now = start + timedelta(hours=hour)
        store.record_event(kind, actor="system", channel="system", details={"hour": hour})


def test_events_since_and_until_are_a_half_open_range(store: Store, clock: FakeClock) -> None:
    start = clock.now
    _events_at(store, clock, start, [0, 1, 2, 3])

    def hours(since: datetime | None = None, until: datetime | None = None) -> list[object]:
        return [e.details["hour"] for e in store.events(kinds=["note"], since=since, until=until)]

    assert hours(since=start + timedelta(hours=1)) == [1, 2, 3]
    assert hours(until=start + timedelta(hours=2)) == [0, 1]
    assert hours(since=start + timedelta(hours=1), until=start + timedelta(hours=3)) == [1, 2]
    assert hours(since=start + timedelta(minutes=61)) == [2, 3]
    assert hours(since=start + timedelta(hours=4)) == []


def test_events_since_combine_with_kinds_and_limit(store: Store, clock: FakeClock) -> None:
    start = clock.now
    _events_at(store, clock, start, [0, 1, 2, 3])
    _events_at(store, clock, start, [1, 2], kind="other")
    since = start + timedelta(hours=1)

    found = store.events(kinds=["note"], since=since)
    assert [(e.kind, e.details["hour"]) for e in found] == [("note", 1), ("note", 2), ("note", 3)]
    # The newest `limit` of the range, oldest first as always; None reads them all.
    assert [e.details["hour"] for e in store.events(kinds=["note"], since=since, limit=1)] == [3]
    assert len(store.events(since=since, limit=None)) == 5


def test_other_time_zones_are_compared_as_utc(store: Store, clock: FakeClock) -> None:
    start = clock.now
    _events_at(store, clock, start, [0, 1, 2])
    berlin = start.astimezone(ZoneInfo("Europe/Berlin"))  # the same instant, UTC+1

    assert [e.details["hour"] for e in store.events(since=berlin + timedelta(hours=1))] == [1, 2]


def test_rollouts_since_and_until_follow_their_creation(store: Store, clock: FakeClock) -> None:
    start = clock.now
    created = []
    for hour in range(4):
        clock.now = start + timedelta(hours=hour)
        created.append(new_rollout(store, state="done" if hour % 2 else "pending"))

    def ids(**kwargs: object) -> list[str]:
        return [r.id for r in store.list_rollouts(**kwargs)]  # type: ignore[arg-type]

    assert ids(since=start + timedelta(hours=1)) == created[:0:-1]  # newest first
    assert ids(until=start + timedelta(hours=2)) == [created[1], created[0]]
    assert ids(since=start + timedelta(hours=1), until=start + timedelta(hours=3)) == [
        created[2],
        created[1],
    ]
    assert ids(since=start + timedelta(hours=1), states=["done"]) == [created[3], created[1]]
    assert ids(since=start, limit=None) == created[::-1]
    assert ids(since=start + timedelta(hours=1), limit=1) == [created[3]]


def test_naive_times_are_refused(store: Store) -> None:
    naive = datetime(2026, 3, 2, 9, 0)
    for read in (
        lambda: store.events(since=naive),
        lambda: store.events(until=naive),
        lambda: store.list_rollouts(since=naive),
        lambda: store.list_rollouts(until=naive),
    ):
        with pytest.raises(ValueError, match="naive datetime"):
            read()
