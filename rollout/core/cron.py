"""Five-field cron expressions, evaluated on local wall-clock time.

PURE: stdlib only, no clock reads. Used for explicit windows (a cron start
plus a duration in a timezone, as in Argo CD's sync windows), where neither
APScheduler nor croniter may be imported.

Syntax (Vixie cron): ``minute hour day-of-month month day-of-week``; each
field is ``*``, ``N``, ``A-B``, ``*/S``, ``A-B/S``, ``N/S`` (N to the end,
step S) or a comma list of those. Months take ``jan``..``dec``, weekdays
``sun``..``sat``, and weekday 7 is Sunday like 0. When both day-of-month and
day-of-week are restricted (neither starts with ``*``) a day matches if
either matches; otherwise both must (the classic cron rule).

Time zones: a schedule is matched against *wall-clock* times, which are then
turned into instants by :func:`first_instant`, the one wall-clock rule of
the project: **a wall time means the first instant at which the local clock
shows that time or later**. Consequences, chosen on purpose:

* spring forward: a start in the skipped hour is *not* skipped (unlike
  Argo CD / robfig/cron, which lose the run); it starts at the first valid
  instant after the gap (the transition itself). Several starts in the same
  gap collapse into one.
* fall back: an ambiguous time fires once, at its first occurrence (fold=0);
  the repeated hour does not fire again.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rollout.errors import ConfigError

__all__ = ["CronSchedule", "first_instant", "parse_cron"]

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@dataclass(frozen=True)
class _Field:
    label: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day-of-week", 0, 7, _WEEKDAYS, 0),
)
_ELEMENT = re.compile(r"^(?:(\*)|([a-z0-9]+)(?:-([a-z0-9]+))?)(?:/(\d+))?$")


@dataclass(frozen=True)
class CronSchedule:
    """A parsed cron expression; build it with :func:`parse_cron`."""

    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday, as in cron
    days_restricted: bool
    weekdays_restricted: bool

    def matches_day(self, day: date) -> bool:
        """Whether the schedule fires at some time on the calendar date `day`."""
        if day.month not in self.months:
            return False
        in_days = day.day in self.days
        in_weekdays = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_days or in_weekdays
        return in_days and in_weekdays

    def matches(self, wall: datetime) -> bool:
        """Whether the wall-clock time `wall` (its tzinfo is ignored) is a firing time."""
        return (
            wall.second == 0
            and wall.microsecond == 0
            and wall.minute in self.minutes
            and wall.hour in self.hours
            and self.matches_day(wall.date())
        )

    def wall_times(self, first_day: date, last_day: date) -> Iterator[datetime]:
        """Naive wall-clock firing times on the dates first_day..last_day, in order."""
        day = first_day
        while day <= last_day:
            if self.matches_day(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        yield datetime.combine(day, time(hour, minute))
            day += timedelta(days=1)

    def instants(self, tz: ZoneInfo, start: datetime, end: datetime) -> Iterator[datetime]:
        """Firing instants (aware, UTC) in [start, end), wall times taken in `tz`.

        Each matching wall time becomes :func:`first_instant`; duplicates (several
        times inside one spring-forward gap) are reported once.
        """
        first_day = start.astimezone(tz).date() - timedelta(days=1)
        last_day = end.astimezone(tz).date() + timedelta(days=1)
        previous: datetime | None = None
        for wall in self.wall_times(first_day, last_day):
            instant = first_instant(wall, tz)
            if instant == previous or not start <= instant < end:
                continue
            previous = instant
            yield instant


def first_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first instant (aware, UTC) at which the clock in `tz` shows `wall` or later.

    Ordinary times map to themselves; an ambiguous time (fall back) to its first
    occurrence; a time skipped by a spring-forward gap to the end of the gap.
    `wall`'s own tzinfo and fold are ignored.
    """
    naive = wall.replace(tzinfo=None, fold=0)
    instant = naive.replace(tzinfo=tz).astimezone(UTC)  # fold=0: offset before any transition
    if instant.astimezone(tz).replace(tzinfo=None) == naive:
        return instant
    # In a gap: fold=1 gives an instant before the transition, fold=0 one after.
    low = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = instant
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(tz).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return high


def parse_cron(expression: str) -> CronSchedule:
    """Parse a 5-field cron expression.

    Raises ConfigError: ``invalid cron expression '61 * * * *': minute 61 out of
    range 0-59`` (and similar, naming the field and the offending part).
    """
    text = " ".join(expression.split())
    parts = text.lower().split(" ") if text else []

    def fail(reason: str) -> ConfigError:
        return ConfigError(f"invalid cron expression {expression!r}: {reason}")

    if len(parts) != 5:
        raise fail(
            f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}"
        )
    values: list[set[int]] = []
    for spec, field in zip(parts, _FIELDS, strict=True):
        try:
            values.append(_parse_field(spec, field))
        except ValueError as exc:
            raise fail(str(exc)) from None
    minutes, hours, days, months, weekdays = values
    weekdays = {w % 7 for w in weekdays}
    days_restricted = not parts[2].startswith("*")
    weekdays_restricted = not parts[4].startswith("*")
    if not (days_restricted and weekdays_restricted) and not any(
        day <= _longest_month(month) for month in months for day in days
    ):
        raise fail("the day-of-month and month never fall together, so it never fires")
    return CronSchedule(
        expression=text,
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=frozenset(days),
        months=frozenset(months),
        weekdays=frozenset(weekdays),
        days_restricted=days_restricted,
        weekdays_restricted=weekdays_restricted,
    )


def _longest_month(month: int) -> int:
    return calendar.monthrange(2024, month)[1]  # a leap year: Feb 29 exists


def _parse_field(spec: str, field: _Field) -> set[int]:
    result: set[int] = set()
    for element in spec.split(","):
        match = _ELEMENT.match(element)
        if not match:
            raise ValueError(f"{field.label} field {spec!r}: cannot read {element!r}")
        star, first, last, step_text = match.groups()
        if star:
            low, high = field.low, field.high
        else:
            low = _value(first, field)
            high = _value(last, field) if last is not None else low
            if last is None and step_text is not None:
                high = field.high
            if high < low:
                raise ValueError(f"{field.label} range {element!r} runs backwards")
        step = int(step_text) if step_text is not None else 1
        if step == 0:
            raise ValueError(f"{field.label} step in {element!r} must be at least 1")
        result.update(range(low, high + 1, step))
    return result


def _value(token: str, field: _Field) -> int:
    if token in field.names:
        return field.names.index(token) + field.name_base
    if not token.isdigit():
        kind = f"a number or name ({field.names[0]}..)" if field.names else "a number"
        raise ValueError(f"{field.label} {token!r} is not {kind}")
    number = int(token)
    if not field.low <= number <= field.high:
        raise ValueError(f"{field.label} {number} out of range {field.low}-{field.high}")
    return number
