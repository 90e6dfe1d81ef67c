"""When may an environment be applied to: overlap windows, explicit windows, freezes.

PURE: stdlib ``datetime``/``zoneinfo`` only, no clock reads (``now`` is always
a parameter), no I/O. :mod:`rollout.windows_rules` builds :class:`GateRules`
from the configuration; the CLI and the scheduler ask the functions below.

The rule, exactly (docs/windows.md has examples)::

    base    = overlap ∪ explicit-allow      (everything, if neither is configured)
    allowed = base − (explicit-deny ∪ freezes)
    usable  = the maximal intervals of `allowed`, minus those shorter than
              min_duration; "usable now" needs min_duration left before the end

All intervals are half-open ``[start, end)``; touching intervals merge. Wall
times are turned into instants by :func:`rollout.core.cron.first_instant`:
the first instant the local clock shows that time or later (a start or end
in a spring-forward gap moves to the end of the gap, an ambiguous fall-back
time means its first occurrence). Resolution is one second.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from rollout.core.cron import CronSchedule, first_instant

__all__ = [
    "CronWindow",
    "FreezePeriod",
    "GateRules",
    "OverlapRequirement",
    "Person",
    "Shift",
    "Window",
    "closed_reasons",
    "current_or_next_window",
    "deny_intervals",
    "format_window",
    "is_usable",
    "next_usable_start",
    "online_at",
    "usable_windows",
    "working_intervals",
]

_Span = tuple[int, int]  # [start, end) in epoch seconds
_Memo = dict[tuple[ZoneInfo, date, time], int]  # wall time -> epoch seconds, per computation
DEFAULT_HORIZON = timedelta(days=366)
_SEARCH_CHUNK = timedelta(days=14)


@dataclass(frozen=True)
class Shift:
    """Working hours that start on some weekday: `start` to `end`, maybe the next day."""

    start: time
    end: time
    crosses_midnight: bool = False


@dataclass(frozen=True)
class Person:
    """A roster member: weekly shifts by weekday (0 = Monday) in their own timezone.

    A shift that *starts* on one of `days_off` (a local date) does not count.
    """

    name: str
    timezone: ZoneInfo
    hours: Mapping[int, tuple[Shift, ...]]
    days_off: frozenset[date] = frozenset()
    groups: frozenset[str] = frozenset()


@dataclass(frozen=True)
class OverlapRequirement:
    """At least `min_online` counted members within hours, and `groups[g]` of group g.

    `members` limits who counts (None: the whole roster).
    """

    min_online: int
    groups: Mapping[str, int] = field(default_factory=dict)
    members: frozenset[str] | None = None


@dataclass(frozen=True)
class CronWindow:
    """Starts at each firing of `schedule` (wall time in `timezone`), lasts `duration`."""

    kind: Literal["allow", "deny"]
    schedule: CronSchedule
    duration: timedelta
    timezone: ZoneInfo


@dataclass(frozen=True)
class FreezePeriod:
    """No applies in [start, end) (aware datetimes)."""

    start: datetime
    end: datetime
    reason: str


@dataclass(frozen=True)
class GateRules:
    """Everything that decides when applies may run. `enabled=False`: always open."""

    roster: tuple[Person, ...] = ()
    overlap: OverlapRequirement | None = None
    explicit: tuple[CronWindow, ...] = ()
    freezes: tuple[FreezePeriod, ...] = ()
    min_duration: timedelta = timedelta(minutes=30)
    enabled: bool = True


@dataclass(frozen=True)
class Window:
    """A usable window (aware UTC) and every member within hours at some time in it."""

    start: datetime
    end: datetime
    online: tuple[str, ...]


# --- public API ----------------------------------------------------------------


def usable_windows(rules: GateRules, start: datetime, end: datetime) -> list[Window]:
    """The usable windows in [start, end), in order, clipped to that range.

    A window already open at `start` is reported from `start`, and counts only
    if min_duration of it remains; a window open at `end` is cut there but
    counts if it would last min_duration. Raises ValueError for naive datetimes.
    """
    lo, hi = _seconds(start), _seconds(end)
    if hi <= lo:
        return []
    need = int(rules.min_duration.total_seconds())
    parts = _Parts.compute(rules, lo, hi + need)
    result: list[Window] = []
    for a, b in parts.allowed:
        if a >= hi or b - a < need:
            continue
        b = min(b, hi)
        online = tuple(sorted(p.name for p in rules.roster if _meets(parts.hours[p.name], a, b)))
        result.append(Window(_instant(a), _instant(b), online))
    return result


def is_usable(rules: GateRules, now: datetime) -> bool:
    """Whether an apply may start at `now` (inside a window with min_duration left)."""
    return next_usable_start(rules, now, horizon=timedelta(seconds=1)) is not None


def current_or_next_window(
    rules: GateRules, now: datetime, *, horizon: timedelta = DEFAULT_HORIZON
) -> Window | None:
    """The window usable at `now` (reported from `now`), else the next one; None if
    there is none within `horizon`. The window's end is exact up to 14 days ahead."""
    start = now
    limit = now + horizon
    while start < limit:
        end = min(start + _SEARCH_CHUNK, limit)
        found = usable_windows(rules, start, end)
        if found:
            first = found[0]
            if first.end == end and end < limit:  # cut by the chunk: report its real end
                whole = usable_windows(rules, first.start, first.start + _SEARCH_CHUNK)
                return whole[0] if whole else first
            return first
        start = end
    return None


def next_usable_start(
    rules: GateRules, now: datetime, *, horizon: timedelta = DEFAULT_HORIZON
) -> datetime | None:
    """`now` if usable now, else the start of the next usable window within
    `horizon` (None if there is none). This is when a queued apply should run."""
    window = current_or_next_window(rules, now, horizon=horizon)
    return None if window is None else window.start


def online_at(rules: GateRules, at: datetime) -> tuple[str, ...]:
    """The members within their working hours at `at` (not on a day off), sorted."""
    second = _seconds(at)
    memo: _Memo = {}
    return tuple(
        sorted(
            p.name
            for p in rules.roster
            if _covers(_person_spans(p, second, second + 1, memo), second)
        )
    )


def closed_reasons(rules: GateRules, now: datetime) -> list[str]:
    """Why no apply may start at `now`, one line per cause; empty when usable."""
    if is_usable(rules, now):
        return []
    at = _seconds(now)
    need = int(rules.min_duration.total_seconds())
    parts = _Parts.compute(rules, at, at + need + 1)
    reasons = [
        f"frozen: {f.reason} (until {_stamp(f.end)})"
        for f in rules.freezes
        if _seconds(f.start) <= at < _seconds(f.end)
    ]
    reasons += [f"inside deny window {text}" for text in parts.active_denies(at)]
    if not _covers(parts.base, at):
        if rules.overlap is not None:
            reasons.append(parts.overlap_shortfall(rules, at))
        if any(w.kind == "allow" for w in rules.explicit):
            reasons.append("outside every explicit allow window")
    if not reasons:
        span = next(((a, b) for a, b in parts.allowed if a <= at < b), None)
        ends = _stamp(_instant(span[1])) if span else "now"
        reasons.append(
            f"the window ends at {ends}, less than min_duration ({_duration(need)}) from now"
        )
    return reasons


def deny_intervals(
    rules: GateRules, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, str]]:
    """The explicit deny windows firing in [start, end), clipped, in order: (from, until,
    `'<cron>' (<zone>)`). Empty when the rules are disabled (always open)."""
    if not rules.enabled:
        return []
    lo, hi = _seconds(start), _seconds(end)
    found = []
    for window in rules.explicit:
        if window.kind != "deny":
            continue
        text = f"'{window.schedule.expression}' ({window.timezone.key})"
        for a, b in _clip(_fires(window, lo, hi), lo, hi):
            found.append((_instant(a), _instant(b), text))
    return sorted(found)


def working_intervals(
    person: Person, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """When `person` is within hours in [start, end): merged, clipped, aware UTC."""
    spans = _person_spans(person, _seconds(start), _seconds(end), {})
    return [(_instant(a), _instant(b)) for a, b in spans]


def format_window(window: Window, tz: ZoneInfo) -> str:
    """`Mon 09 Mar 15:00 – 17:30 CET`, in the reader's timezone `tz`."""
    start, end = window.start.astimezone(tz), window.end.astimezone(tz)
    head = start.strftime("%a %d %b %H:%M")
    tail = end.strftime("%H:%M") if end.date() == start.date() else end.strftime("%a %d %b %H:%M")
    zone = start.tzname() if start.tzname() == end.tzname() else f"{start.tzname()}/{end.tzname()}"
    return f"{head} – {tail} {zone}"


# --- the computation ----------------------------------------------------------------


@dataclass
class _Parts:
    hours: dict[str, list[_Span]]
    overlap: list[_Span]
    allows: list[_Span]
    denies: list[tuple[_Span, CronWindow]]
    base: list[_Span]
    allowed: list[_Span]

    @classmethod
    def compute(cls, rules: GateRules, lo: int, hi: int) -> _Parts:
        memo: _Memo = {}
        hours = {p.name: _person_spans(p, lo, hi, memo) for p in rules.roster}
        if not rules.enabled:
            everything = [(lo, hi)]
            return cls(hours, [], [], [], everything, everything)
        overlap = _overlap(rules, hours) if rules.overlap is not None else []
        allows = _union(s for w in rules.explicit if w.kind == "allow" for s in _fires(w, lo, hi))
        denies = [(s, w) for w in rules.explicit if w.kind == "deny" for s in _fires(w, lo, hi)]
        positive = rules.overlap is not None or any(w.kind == "allow" for w in rules.explicit)
        base = _union([*overlap, *allows]) if positive else [(lo, hi)]
        freezes = [(_seconds(f.start), _seconds(f.end)) for f in rules.freezes]
        blocked = _union([*(s for s, _ in denies), *freezes])
        allowed = _clip(_subtract(base, blocked), lo, hi)
        return cls(hours, overlap, allows, denies, base, allowed)

    def active_denies(self, at: int) -> list[str]:
        return [
            f"'{w.schedule.expression}' ({w.timezone.key}) until {_stamp(_instant(b))}"
            for (a, b), w in self.denies
            if a <= at < b
        ]

    def overlap_shortfall(self, rules: GateRules, at: int) -> str:
        assert rules.overlap is not None
        req = rules.overlap
        counted = [p for p in rules.roster if req.members is None or p.name in req.members]
        online = [p for p in counted if _covers(self.hours[p.name], at)]
        names = ", ".join(p.name for p in online) or "nobody"
        text = f"{len(online)} of the required {req.min_online} members online ({names})"
        for group, needed in sorted(req.groups.items()):
            have = sum(1 for p in online if group in p.groups)
            if have < needed:
                text += f"; group {group} needs {needed}, has {have}"
        return text


def _person_spans(person: Person, lo: int, hi: int, memo: _Memo) -> list[_Span]:
    tz = person.timezone
    # A shift ends at most ~2 local days after the date it starts on.
    day = datetime.fromtimestamp(lo, tz).date() - timedelta(days=2)
    last = datetime.fromtimestamp(hi, tz).date()
    one_day = timedelta(days=1)
    spans: list[_Span] = []
    while day <= last:
        shifts = person.hours.get(day.weekday())
        if shifts and day not in person.days_off:
            for shift in shifts:
                a = _wall_seconds(tz, day, shift.start, memo)
                end_day = day + one_day if shift.crosses_midnight else day
                b = _wall_seconds(tz, end_day, shift.end, memo)
                if a < b and b > lo and a < hi:
                    spans.append((max(a, lo), min(b, hi)))
        day += one_day
    return _union(spans)


def _wall_seconds(tz: ZoneInfo, day: date, clock: time, memo: _Memo) -> int:
    key = (tz, day, clock)
    cached = memo.get(key)
    if cached is not None:
        return cached
    wall = datetime.combine(day, clock)
    seconds = int(datetime.combine(day, clock, tz).timestamp())
    if datetime.fromtimestamp(seconds, tz).replace(tzinfo=None) != wall:  # in a gap
        seconds = int(first_instant(wall, tz).timestamp())
    memo[key] = seconds
    return seconds


def _overlap(rules: GateRules, hours: Mapping[str, list[_Span]]) -> list[_Span]:
    req = rules.overlap
    assert req is not None
    counted = [p for p in rules.roster if req.members is None or p.name in req.members]
    needs = sorted(req.groups.items())
    memberships = [[i for i, (g, _) in enumerate(needs) if g in p.groups] for p in counted]
    events: list[tuple[int, int, int]] = []
    for index, person in enumerate(counted):
        for a, b in hours[person.name]:
            events.append((a, 1, index))
            events.append((b, -1, index))
    events.sort()
    have = [0] * len(needs)
    total = 0
    opened: int | None = None
    spans: list[_Span] = []
    i = 0
    while i < len(events):
        moment = events[i][0]
        while i < len(events) and events[i][0] == moment:
            _, delta, index = events[i]
            total += delta
            for g in memberships[index]:
                have[g] += delta
            i += 1
        ok = total >= req.min_online and all(have[g] >= n for g, (_, n) in enumerate(needs))
        if ok and opened is None:
            opened = moment
        elif not ok and opened is not None:
            spans.append((opened, moment))
            opened = None
    return spans


def _fires(window: CronWindow, lo: int, hi: int) -> list[_Span]:
    length = int(window.duration.total_seconds())
    start, end = _instant(lo - length), _instant(hi)
    return [
        (s, s + length)
        for s in (int(f.timestamp()) for f in window.schedule.instants(window.timezone, start, end))
        if s + length > lo
    ]


# --- interval sets (sorted, disjoint, non-touching lists of [a, b)) ----------------


def _union(spans: Iterable[_Span]) -> list[_Span]:
    merged: list[_Span] = []
    for a, b in sorted(spans):
        if b <= a:
            continue
        if merged and a <= merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _subtract(base: Sequence[_Span], cut: Sequence[_Span]) -> list[_Span]:
    result: list[_Span] = []
    j = 0
    for a, b in base:
        while j < len(cut) and cut[j][1] <= a:
            j += 1
        k = j
        while a < b and k < len(cut) and cut[k][0] < b:
            if cut[k][0] > a:
                result.append((a, cut[k][0]))
            a = max(a, cut[k][1])
            k += 1
        if a < b:
            result.append((a, b))
    return result


def _clip(spans: Iterable[_Span], lo: int, hi: int) -> list[_Span]:
    return [(max(a, lo), min(b, hi)) for a, b in spans if b > lo and a < hi]


def _covers(spans: Sequence[_Span], at: int) -> bool:
    index = bisect_right(spans, (at, 2**62)) - 1
    return index >= 0 and spans[index][0] <= at < spans[index][1]


def _meets(spans: Sequence[_Span], a: int, b: int) -> bool:
    index = bisect_right(spans, (a, 2**62)) - 1
    if index >= 0 and spans[index][1] > a:
        return True
    return index + 1 < len(spans) and spans[index + 1][0] < b


# --- conversions --------------------------------------------------------------------


def _seconds(moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got naive {moment.isoformat()}")
    return int(moment.timestamp() // 1)


def _instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"
