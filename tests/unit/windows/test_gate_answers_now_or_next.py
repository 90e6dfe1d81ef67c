"""is_usable / next_usable_start / closed_reasons: the API the scheduler builds on."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rollout.core.cron import parse_cron
from rollout.core.windows import (
    CronWindow,
    FreezePeriod,
    GateRules,
    OverlapRequirement,
    Person,
    Shift,
    closed_reasons,
    current_or_next_window,
    is_usable,
    next_usable_start,
    usable_windows,
    working_intervals,
)

NINE_TO_FIVE = {d: (Shift(time(9), time(17)),) for d in range(5)}
ALICE = Person("alice", ZoneInfo("Europe/Berlin"), NINE_TO_FIVE, groups=frozenset({"approvers"}))
BOB = Person("bob", ZoneInfo("America/New_York"), NINE_TO_FIVE, groups=frozenset({"oncall"}))
RULES = GateRules(roster=(ALICE, BOB), overlap=OverlapRequirement(2))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_overlap_moves_with_each_dst_change() -> None:
    def first_window(day: int) -> tuple[str, str]:
        w = usable_windows(RULES, utc(2026, 3, day), utc(2026, 3, day + 1))[0]
        return f"{w.start:%H:%M}", f"{w.end:%H:%M}"

    assert first_window(6) == ("14:00", "16:00")  # both on standard time
    assert first_window(9) == ("13:00", "16:00")  # New York on EDT since Mar 8
    assert first_window(30) == ("13:00", "15:00")  # Berlin on CEST since Mar 29


def test_usable_now_needs_min_duration_left() -> None:
    assert is_usable(RULES, utc(2026, 3, 9, 13))
    assert is_usable(RULES, utc(2026, 3, 9, 15, 30))  # exactly 30 minutes left
    assert not is_usable(RULES, utc(2026, 3, 9, 15, 31))
    assert next_usable_start(RULES, utc(2026, 3, 9, 15, 31)) == utc(2026, 3, 10, 13)
    reasons = closed_reasons(RULES, utc(2026, 3, 9, 15, 45))
    assert reasons == [
        "the window ends at 2026-03-09T16:00:00Z, less than min_duration (30m) from now"
    ]


def test_next_start_is_now_inside_a_window_and_the_next_start_outside() -> None:
    assert next_usable_start(RULES, utc(2026, 3, 9, 14)) == utc(2026, 3, 9, 14)
    assert next_usable_start(RULES, utc(2026, 3, 13, 17)) == utc(2026, 3, 16, 13)  # after a weekend
    window = current_or_next_window(RULES, utc(2026, 3, 9, 14))
    assert window is not None and window.end == utc(2026, 3, 9, 16)
    assert window.online == ("alice", "bob")


def test_freeze_added_later_blocks_and_says_why() -> None:
    frozen = GateRules(
        roster=RULES.roster,
        overlap=RULES.overlap,
        freezes=(FreezePeriod(utc(2026, 3, 9), utc(2026, 3, 11), "release"),),
    )
    assert not is_usable(frozen, utc(2026, 3, 9, 14))
    assert next_usable_start(frozen, utc(2026, 3, 9, 14)) == utc(2026, 3, 11, 13)
    assert closed_reasons(frozen, utc(2026, 3, 9, 14)) == [
        "frozen: release (until 2026-03-11T00:00:00Z)"
    ]


def test_groups_and_deny_windows_explain_themselves() -> None:
    rules = GateRules(
        roster=RULES.roster,
        overlap=OverlapRequirement(1, {"approvers": 1}),
        explicit=(
            CronWindow("deny", parse_cron("0 14 * * *"), timedelta(hours=1), ZoneInfo("UTC")),
        ),
    )
    assert closed_reasons(rules, utc(2026, 3, 9, 14, 10)) == [
        "inside deny window '0 14 * * *' (UTC) until 2026-03-09T15:00:00Z"
    ]
    assert closed_reasons(rules, utc(2026, 3, 9, 20)) == [
        "1 of the required 1 members online (bob); group approvers needs 1, has 0"
    ]


def test_explicit_allow_widens_and_no_rules_means_always_open() -> None:
    rules = GateRules(
        roster=RULES.roster,
        overlap=RULES.overlap,
        explicit=(
            CronWindow("allow", parse_cron("0 2 * * sat"), timedelta(hours=3), ZoneInfo("UTC")),
        ),
    )
    assert is_usable(rules, utc(2026, 3, 14, 3))
    assert usable_windows(rules, utc(2026, 3, 14), utc(2026, 3, 15))[0].online == ()
    assert is_usable(GateRules(), utc(2026, 3, 14, 3))
    assert is_usable(
        GateRules(roster=RULES.roster, overlap=RULES.overlap, enabled=False), utc(2026, 3, 14)
    )


def test_never_open_within_the_horizon_is_none() -> None:
    never = GateRules(roster=(ALICE,), overlap=OverlapRequirement(2))
    assert next_usable_start(never, utc(2026, 3, 9), horizon=timedelta(days=30)) is None


def test_day_off_drops_shifts_starting_that_local_day() -> None:
    night = Person(
        "nina",
        ZoneInfo("Asia/Kolkata"),
        {0: (Shift(time(22), time(6), True),), 1: (Shift(time(22), time(6), True),)},
        days_off=frozenset({date(2026, 3, 10)}),
    )
    spans = working_intervals(night, utc(2026, 3, 9), utc(2026, 3, 12))
    # Monday's shift (into Tuesday) counts; Tuesday's, on the day off, does not.
    assert spans == [(utc(2026, 3, 9, 16, 30), utc(2026, 3, 10, 0, 30))]


def test_window_longer_than_a_search_chunk_reports_its_real_end() -> None:
    rules = GateRules(
        freezes=(
            FreezePeriod(utc(2026, 1, 1), utc(2026, 1, 14), "a"),
            FreezePeriod(utc(2026, 1, 17), utc(2026, 2, 1), "b"),
        )
    )
    window = current_or_next_window(rules, utc(2026, 1, 1))  # searched in 14-day chunks
    assert window is not None
    assert (window.start, window.end) == (utc(2026, 1, 14), utc(2026, 1, 17))
