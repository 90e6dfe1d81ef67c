"""The interval computation agrees, minute by minute, with a brute-force oracle.

Randomized rosters (hypothesis) and fixed rosters around every 2026 DST change
in the US, Europe and Australia, with half-hour, 45-minute and +14 zones,
30-minute DST (Lord Howe) and hours crossing midnight.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from windows_oracle import minutes_of, usable_minutes

from rollout.core.cron import parse_cron
from rollout.core.windows import (
    CronWindow,
    FreezePeriod,
    GateRules,
    OverlapRequirement,
    Person,
    Shift,
    usable_windows,
)

ZONES = [
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Kiritimati",
    "Pacific/Chatham",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "UTC",
]
# 2026 DST changes: US Mar 8 / Nov 1, Europe Mar 29 / Oct 25, Australia Apr 5 / Oct 4.
DST_DAYS = [
    date(2026, 3, 8),
    date(2026, 11, 1),
    date(2026, 3, 29),
    date(2026, 10, 25),
    date(2026, 4, 5),
    date(2026, 10, 4),
]
SCHEDULES = [
    "0 9 * * 1-5",
    "30 2 * * *",
    "*/45 1-3 * * *",
    "0 0 * * 0",
    "15 22 * * fri",
    "0 2 1-7 * sun",
]


def check(rules: GateRules, start: datetime, end: datetime) -> None:
    windows = usable_windows(rules, start, end)
    got = minutes_of([(w.start, w.end) for w in windows])
    assert got == usable_minutes(rules, start, end)
    # Maximal, ordered, non-touching windows, each at least min_duration unless cut at `end`.
    for before, after in pairwise(windows):
        assert before.end < after.start
    for w in windows:
        assert w.end - w.start >= rules.min_duration or w.end == end


def at(hh: int, mm: int = 0) -> time:
    return time(hh, mm)


def daily(*shifts: Shift) -> dict[int, tuple[Shift, ...]]:
    return {d: shifts for d in range(7)}


def weekdays(*shifts: Shift) -> dict[int, tuple[Shift, ...]]:
    return {d: shifts for d in range(5)}


def fixed_roster() -> tuple[Person, ...]:
    def p(name: str, zone: str, hours: dict[int, tuple[Shift, ...]], *groups: str) -> Person:
        return Person(name, ZoneInfo(zone), hours, groups=frozenset(groups))

    return (
        p("anna", "America/New_York", daily(Shift(at(1, 30), at(3)), Shift(at(9), at(17)))),
        p("bert", "Europe/Berlin", weekdays(Shift(at(8), at(16, 30))), "approvers"),
        p("carl", "Europe/Berlin", daily(Shift(at(22), at(3, 30), True)), "oncall"),
        p("dina", "Australia/Sydney", daily(Shift(at(2, 15), at(11))), "approvers"),
        p("eshan", "Asia/Kolkata", weekdays(Shift(at(10), at(19))), "oncall"),
        p("gita", "Asia/Kathmandu", daily(Shift(at(13, 15), at(1, 45), True))),
        p("kai", "Pacific/Kiritimati", weekdays(Shift(at(6), at(14)))),
        p(
            "lou",
            "Australia/Lord_Howe",
            daily(Shift(at(1, 45), at(2, 15)), Shift(at(7), at(0), True)),
        ),
    )


@pytest.mark.parametrize("dst_day", DST_DAYS, ids=str)
@pytest.mark.parametrize(
    "overlap",
    [OverlapRequirement(2), OverlapRequirement(3, {"approvers": 1, "oncall": 1})],
    ids=["two-online", "three-with-groups"],
)
def test_fixed_roster_around_dst_changes(dst_day: date, overlap: OverlapRequirement) -> None:
    start = datetime.combine(dst_day - timedelta(days=10), time(), UTC)
    rules = GateRules(
        roster=fixed_roster(),
        overlap=overlap,
        explicit=(
            CronWindow(
                "deny", parse_cron("30 2 * * *"), timedelta(hours=1), ZoneInfo("Europe/Berlin")
            ),
            CronWindow(
                "allow", parse_cron("0 2 * * *"), timedelta(hours=2), ZoneInfo("America/New_York")
            ),
            CronWindow(
                "deny",
                parse_cron("45 2 * * *"),
                timedelta(minutes=20),
                ZoneInfo("Australia/Sydney"),
            ),
        ),
        freezes=(
            FreezePeriod(start + timedelta(days=3), start + timedelta(days=4, hours=7), "test"),
        ),
        min_duration=timedelta(minutes=20),
    )
    check(rules, start, start + timedelta(days=21))


@pytest.mark.parametrize("dst_day", DST_DAYS, ids=str)
def test_single_night_shift_members_across_dst(dst_day: date) -> None:
    # min_online 1: the windows are exactly the union of everyone's hours.
    start = datetime.combine(dst_day - timedelta(days=3), time(), UTC)
    rules = GateRules(
        roster=fixed_roster(), overlap=OverlapRequirement(1), min_duration=timedelta(minutes=1)
    )
    check(rules, start, start + timedelta(days=7))


_minutes_of_day = st.integers(0, 95).map(lambda q: time(q // 4, q % 4 * 15))


@st.composite
def shifts(draw: st.DrawFn) -> Shift:
    start = draw(_minutes_of_day | st.sampled_from([at(1, 30), at(2), at(2, 15), at(2, 30), at(3)]))
    end = draw(_minutes_of_day | st.sampled_from([at(0), at(2, 30), at(3)]))
    crosses = end <= start  # 09:00-00:00 ends at the next midnight
    return Shift(start, end, crosses)


@st.composite
def people(draw: st.DrawFn, name: str, period: date) -> Person:
    days = draw(st.sets(st.integers(0, 6), min_size=1))
    hours = {d: tuple(draw(st.lists(shifts(), min_size=1, max_size=2))) for d in days}
    off = draw(st.sets(st.integers(-2, 12).map(lambda n: period + timedelta(days=n)), max_size=1))
    return Person(
        name,
        ZoneInfo(draw(st.sampled_from(ZONES))),
        hours,
        days_off=frozenset(off),
        groups=frozenset(draw(st.sets(st.sampled_from(["approvers", "oncall"])))),
    )


@st.composite
def gate_rules(draw: st.DrawFn) -> tuple[GateRules, datetime]:
    dst_day = draw(st.sampled_from(DST_DAYS))
    start = datetime.combine(dst_day - timedelta(days=5), time(), UTC) + timedelta(
        minutes=15 * draw(st.integers(0, 95))
    )
    size = draw(st.integers(1, 5))
    roster = tuple(draw(people(f"m{i}", dst_day - timedelta(days=5))) for i in range(size))
    overlap = draw(
        st.none()
        | st.builds(
            OverlapRequirement,
            st.integers(1, 3),
            st.sampled_from([{}, {"approvers": 1}, {"approvers": 1, "oncall": 1}]),
            st.none() | st.just(frozenset({"m0", "m1", "m2"})),
        )
    )
    explicit = tuple(
        draw(
            st.lists(
                st.builds(
                    CronWindow,
                    st.sampled_from(["allow", "deny"]),
                    st.sampled_from(SCHEDULES).map(parse_cron),
                    st.sampled_from([15, 30, 90, 480]).map(lambda m: timedelta(minutes=m)),
                    st.sampled_from(ZONES).map(ZoneInfo),
                ),
                max_size=2,
            )
        )
    )
    freezes = tuple(
        FreezePeriod(
            start + timedelta(minutes=30 * a),
            start + timedelta(minutes=30 * a + 30 * length),
            "random",
        )
        for a, length in draw(
            st.lists(st.tuples(st.integers(-50, 600), st.integers(1, 100)), max_size=1)
        )
    )
    minimum = draw(st.sampled_from([1, 30, 120]))
    rules = GateRules(roster, overlap, explicit, freezes, timedelta(minutes=minimum))
    return rules, start


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gate_rules())
def test_random_rosters_agree_with_oracle(case: tuple[GateRules, datetime]) -> None:
    rules, start = case
    check(rules, start, start + timedelta(days=14))
