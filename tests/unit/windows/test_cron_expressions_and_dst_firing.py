"""Cron parsing, matching and DST behaviour of explicit-window starts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from rollout.core.cron import first_instant, parse_cron
from rollout.errors import ConfigError

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("61 * * * *", "minute 61 out of range 0-59"),
        ("* 24 * * *", "hour 24 out of range 0-23"),
        ("* * 0 * *", "day-of-month 0 out of range 1-31"),
        ("* * * 13 *", "month 13 out of range 1-12"),
        ("* * * * 8", "day-of-week 8 out of range 0-7"),
        ("* * * *", "expected 5 fields"),
        ("*/0 * * * *", "step in '*/0' must be at least 1"),
        ("5-3 * * * *", "range '5-3' runs backwards"),
        ("0 9 * * xyz", "day-of-week 'xyz' is not a number or name"),
        ("0 0 31 2 *", "never fires"),
    ],
)
def test_invalid_expressions_name_the_problem(expression: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_cron(expression)
    assert str(caught.value).startswith(f"invalid cron expression {expression!r}: ")
    assert reason in str(caught.value)


def test_fields_names_steps_and_lists() -> None:
    s = parse_cron("0,30 9-17/4 * jan,jul mon-fri")
    assert s.minutes == (0, 30)
    assert s.hours == (9, 13, 17)
    assert s.months == {1, 7}
    assert s.weekdays == {1, 2, 3, 4, 5}
    assert parse_cron("0 0 * * 7").weekdays == {0}
    assert parse_cron("10/20 * * * *").minutes == (10, 30, 50)


def test_day_of_month_or_day_of_week_when_both_are_restricted() -> None:
    both = parse_cron("0 0 13 * fri")
    assert both.matches_day(date(2026, 3, 13))  # a Friday the 13th
    assert both.matches_day(date(2026, 3, 6))  # any Friday
    assert both.matches_day(date(2026, 4, 13))  # any 13th
    assert not both.matches_day(date(2026, 4, 14))
    star = parse_cron("0 0 */2 * fri")  # a '*'-led field: both must match
    assert not star.matches_day(date(2026, 3, 6))
    assert star.matches_day(date(2026, 3, 13))


def _fires(expression: str, tz: ZoneInfo, day: str, until: str) -> list[str]:
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    end = datetime.fromisoformat(until).replace(tzinfo=UTC)
    return [f"{i:%m-%d %H:%M}" for i in parse_cron(expression).instants(tz, start, end)]


def test_start_in_the_spring_forward_gap_moves_to_the_end_of_the_gap() -> None:
    # Berlin skips 02:00-03:00 on 2026-03-29; the 02:30 start is at 03:00 CEST (01:00Z).
    assert _fires("30 2 * * *", BERLIN, "2026-03-28", "2026-03-30") == [
        "03-28 01:30",
        "03-29 01:00",
    ]
    # Several starts inside one gap collapse into one.
    assert _fires("*/20 2 * * *", NEW_YORK, "2026-03-08", "2026-03-09") == ["03-08 07:00"]


def test_ambiguous_fall_back_time_fires_once_at_its_first_occurrence() -> None:
    # New York repeats 01:00-02:00 on 2026-11-01; 01:30 EDT is 05:30Z (EST would be 06:30Z).
    assert _fires("30 1 * * *", NEW_YORK, "2026-11-01", "2026-11-02") == ["11-01 05:30"]
    # Berlin repeats 02:00-03:00 on 2026-10-25: 02:00 and 02:30 CEST only, not again in CET.
    assert _fires("*/30 2 * * *", BERLIN, "2026-10-25", "2026-10-26") == [
        "10-25 00:00",
        "10-25 00:30",
    ]


def test_first_instant_of_ordinary_gap_and_ambiguous_wall_times() -> None:
    assert first_instant(datetime(2026, 6, 1, 12), BERLIN) == datetime(2026, 6, 1, 10, tzinfo=UTC)
    assert first_instant(datetime(2026, 3, 29, 2, 59), BERLIN) == datetime(
        2026, 3, 29, 1, tzinfo=UTC
    )
    assert first_instant(datetime(2026, 10, 25, 2, 30), BERLIN) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    lord_howe = ZoneInfo("Australia/Lord_Howe")  # 30-minute DST: 02:00 -> 02:30
    assert first_instant(datetime(2026, 10, 4, 2, 10), lord_howe) == datetime(
        2026, 10, 3, 15, 30, tzinfo=UTC
    )
