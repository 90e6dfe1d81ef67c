"""A brute-force oracle for the window computation: minute by minute, no intervals.

Independent of :mod:`rollout.core.windows` on purpose: it shares only the data
model (GateRules) and the cron field sets. Local time is plain integer
arithmetic on "local epoch minutes" (UTC minute + the zone's offset at that
minute, from zoneinfo). The wall-clock rule ("a wall time means the first
instant the clock shows it or later") becomes the clock's *high-water mark*:
at minute u the shift [s, e) is on iff s <= M(u) < e, where M(u) is the latest
wall time the local clock has shown up to u. During a repeated fall-back hour
M stands still; across a spring-forward gap it jumps. A cron start fires at
the minute at which M first reaches a matching wall time.
"""

from __future__ import annotations

from array import array
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from rollout.core.windows import GateRules, Person

MINUTE = timedelta(minutes=1)
PAD = timedelta(days=1)  # > the longest cron duration used in the tests
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_DAY = date(1970, 1, 1)  # a Thursday: weekday 3


@lru_cache(maxsize=128)
def high_water(tz: ZoneInfo, first: datetime, count: int) -> array[int]:
    """M(u) in local epoch minutes for each of `count` minutes from `first`."""
    marks = array("q")
    base = int((first - EPOCH) / MINUTE)
    mark = base - 1 + int(((first - MINUTE).astimezone(tz).utcoffset() or timedelta()) / MINUTE)
    moment = first
    for i in range(count):
        offset = moment.astimezone(tz).utcoffset() or timedelta()
        mark = max(mark, base + i + offset // MINUTE)
        marks.append(mark)
        moment += MINUTE
    return marks


def _tables(person: Person) -> tuple[list[list[bool]], list[list[bool]]]:
    """Per weekday: minutes covered by shifts starting that day, and their spill-over."""
    same = [[False] * 1440 for _ in range(7)]
    spill = [[False] * 1440 for _ in range(7)]
    for day, shifts in person.hours.items():
        for shift in shifts:
            s = shift.start.hour * 60 + shift.start.minute
            e = shift.end.hour * 60 + shift.end.minute
            if shift.crosses_midnight:
                for m in range(s, 1440):
                    same[day][m] = True
                for m in range(e):
                    spill[day][m] = True
            else:
                for m in range(s, e):
                    same[day][m] = True
    return same, spill


def on_shift(person: Person, first: datetime, count: int) -> list[bool]:
    same, spill = _tables(person)
    off = {(d - EPOCH_DAY).days for d in person.days_off}
    result: list[bool] = []
    for mark in high_water(person.timezone, first, count):
        day, m = divmod(mark, 1440)
        weekday = (day + 3) % 7
        result.append(
            (same[weekday][m] and day not in off) or (spill[weekday - 1][m] and day - 1 not in off)
        )
    return result


def allowed(rules: GateRules, first: datetime, count: int) -> list[bool]:
    """Whether each minute is allowed, before min_duration is applied."""
    if not rules.enabled:
        return [True] * count
    shifts = {p.name: on_shift(p, first, count) for p in rules.roster}
    positive = rules.overlap is not None or any(w.kind == "allow" for w in rules.explicit)
    base = [not positive] * count
    if rules.overlap is not None:
        req = rules.overlap
        counted = [p for p in rules.roster if req.members is None or p.name in req.members]
        for i in range(count):
            online = [p for p in counted if shifts[p.name][i]]
            if len(online) >= req.min_online and all(
                sum(1 for p in online if g in p.groups) >= n for g, n in req.groups.items()
            ):
                base[i] = True
    blocked = [False] * count
    for window in rules.explicit:
        schedule = window.schedule
        length = int(window.duration / MINUTE)
        last_fire: int | None = None
        target = base if window.kind == "allow" else blocked
        previous: int | None = None
        for i, mark in enumerate(high_water(window.timezone, first, count)):
            if previous is not None:
                for wall in range(previous + 1, mark + 1):  # wall minutes reached just now
                    day, m = divmod(wall, 1440)
                    if (
                        m % 60 in schedule.minutes
                        and m // 60 in schedule.hours
                        and schedule.matches_day(EPOCH_DAY + timedelta(days=day))
                    ):
                        last_fire = i
            previous = mark
            if last_fire is not None and i - last_fire < length:
                target[i] = True
    for freeze in rules.freezes:
        a = max(0, -(-(freeze.start - first) // MINUTE))
        b = min(count, -(-(freeze.end - first) // MINUTE))
        for i in range(a, b):
            blocked[i] = True
    return [b and not x for b, x in zip(base, blocked, strict=True)]


def usable_minutes(rules: GateRules, start: datetime, end: datetime) -> set[datetime]:
    """Every minute in [start, end) that lies in a usable window."""
    # Day-aligned bounds so the per-zone high-water marks are shared between cases.
    first = datetime.combine((start - PAD).date(), time(), UTC)
    last = datetime.combine((end + rules.min_duration + PAD).date(), time(), UTC)
    count = int((last - first) / MINUTE)
    flags = allowed(rules, first, count)
    need = int(rules.min_duration / MINUTE)
    begin = int((start - first) / MINUTE)
    stop = int((end - first) / MINUTE)
    minutes: set[datetime] = set()
    i = 0
    while i < count:
        if not flags[i]:
            i += 1
            continue
        j = i
        while j < count and flags[j]:
            j += 1
        a = max(i, begin)
        if j - a >= need and a < stop:
            minutes.update(first + k * MINUTE for k in range(a, min(j, stop)))
        i = j
    return minutes


def minutes_of(windows: list[tuple[datetime, datetime]]) -> set[datetime]:
    out: set[datetime] = set()
    for a, b in windows:
        t = a
        while t < b:
            out.add(t.astimezone(UTC))
            t += MINUTE
    return out
