"""The windows chart: seven days of working hours, usable windows, deny windows, freezes.

Drawn server-side as SVG in the viewer's timezone: one row per roster member
(their working hours), one row of usable windows (`data-kind="usable"`, with
`data-start`/`data-end` in UTC), explicit deny windows hatched across every
row (`data-kind="deny"`) and freezes shaded across every row
(`data-kind="freeze"`). Days start at the viewer's local midnight, so a DST
change shows as a 23- or 25-hour day. A table lists the same windows in text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rollout.core.windows import (
    GateRules,
    Window,
    deny_intervals,
    usable_windows,
    working_intervals,
)
from rollout.server.dashboard.markup import esc, table, when

DAYS = 7
_LABEL_W, _DAY_W, _ROW_H, _TOP = 190, 140, 30, 40


@dataclass(frozen=True)
class Chart:
    start: datetime
    end: datetime
    windows: list[Window]
    denies: list[tuple[datetime, datetime, str]]
    svg: str


def local_days(now: datetime, tz: ZoneInfo, days: int = DAYS) -> list[datetime]:
    """The local midnights (aware) from today's to `days` later, inclusive."""
    today = now.astimezone(tz).date()
    return [datetime.combine(today + timedelta(days=i), time(), tz) for i in range(days + 1)]


def build_chart(rules: GateRules, now: datetime, tz: ZoneInfo) -> Chart:
    midnights = local_days(now, tz)
    start, end = midnights[0], midnights[-1]
    span = (end - start).total_seconds()
    plot_w = _DAY_W * DAYS

    def x(moment: datetime) -> float:
        seconds = (moment - start).total_seconds()
        return _LABEL_W + max(0.0, min(1.0, seconds / span)) * plot_w

    rows = [(f"{p.name} ({p.timezone.key})", p.name) for p in rules.roster]
    n_rows = len(rows) + 1
    height = _TOP + n_rows * _ROW_H + 10
    parts: list[str] = []
    for i, midnight in enumerate(midnights[:-1]):
        x0, x1 = x(midnight), x(midnights[i + 1])
        parts.append(
            f'<rect class="day day-{i % 2}" x="{x0:.1f}" y="{_TOP}" width="{x1 - x0:.1f}" '
            f'height="{n_rows * _ROW_H}"/>'
            f'<text class="day-label" x="{x0 + 4:.1f}" y="16">'
            f"{esc(midnight.strftime('%a %d %b'))}</text>"
        )
        for hour in (6, 12, 18):
            tick = datetime.combine(midnight.date(), time(hour), tz).astimezone(UTC)
            tx = x(tick)
            parts.append(
                f'<line class="tick" x1="{tx:.1f}" x2="{tx:.1f}" y1="{_TOP - 6}" '
                f'y2="{_TOP + n_rows * _ROW_H}"/>'
                f'<text class="hour-label" x="{tx:.1f}" y="32" text-anchor="middle">'
                f"{hour:02d}</text>"
            )
    for freeze in rules.freezes:
        if freeze.end <= start or freeze.start >= end:
            continue
        x0, x1 = x(freeze.start), x(freeze.end)
        parts.append(
            f'<rect class="freeze" data-kind="freeze" x="{x0:.1f}" y="{_TOP}" '
            f'width="{max(x1 - x0, 1):.1f}" height="{n_rows * _ROW_H}">'
            f"<title>frozen: {esc(freeze.reason)}</title></rect>"
        )
    denies = deny_intervals(rules, start, end)
    for a, b, what in denies:
        x0, x1 = x(a), x(b)
        text = f"deny window {what}: {a.astimezone(tz):%a %H:%M} – {b.astimezone(tz):%a %H:%M}"
        parts.append(
            f'<rect class="deny" data-kind="deny" '
            f'data-start="{esc(a.astimezone(UTC).isoformat())}" '
            f'data-end="{esc(b.astimezone(UTC).isoformat())}" x="{x0:.1f}" y="{_TOP}" '
            f'width="{max(x1 - x0, 1):.1f}" height="{n_rows * _ROW_H}">'
            f"<title>{esc(text)}</title></rect>"
        )
    for index, (label, name) in enumerate(rows):
        y = _TOP + index * _ROW_H
        person = rules.roster[index]
        parts.append(f'<text class="row-label" x="6" y="{y + 20}">{esc(label)}</text>')
        for a, b in working_intervals(person, start, end):
            x0, x1 = x(a), x(b)
            text = f"{name} working {a.astimezone(tz):%a %H:%M} – {b.astimezone(tz):%a %H:%M}"
            parts.append(
                f'<rect class="hours" data-kind="hours" data-member="{esc(name)}" '
                f'x="{x0:.1f}" y="{y + 6}" width="{max(x1 - x0, 1):.1f}" height="{_ROW_H - 12}">'
                f"<title>{esc(text)}</title></rect>"
            )
    windows = usable_windows(rules, start, end) if rules.enabled else []
    y = _TOP + len(rows) * _ROW_H
    parts.append(f'<text class="row-label strong" x="6" y="{y + 20}">Usable windows</text>')
    if not rules.enabled:
        parts.append(
            f'<rect class="usable always" x="{_LABEL_W}" y="{y + 4}" width="{plot_w}" '
            f'height="{_ROW_H - 8}"><title>no window rules: always open</title></rect>'
        )
    for window in windows:
        x0, x1 = x(window.start), x(window.end)
        text = (
            f"usable {window.start.astimezone(tz):%a %H:%M} – {window.end.astimezone(tz):%a %H:%M}"
            f" ({', '.join(window.online) or 'nobody'} online)"
        )
        parts.append(
            f'<rect class="usable" data-kind="usable" '
            f'data-start="{esc(window.start.astimezone(UTC).isoformat())}" '
            f'data-end="{esc(window.end.astimezone(UTC).isoformat())}" '
            f'x="{x0:.1f}" y="{y + 4}" width="{max(x1 - x0, 2):.1f}" height="{_ROW_H - 8}">'
            f"<title>{esc(text)}</title></rect>"
        )
    nx = x(now)
    if _LABEL_W <= nx <= _LABEL_W + plot_w:
        parts.append(
            f'<line class="now" x1="{nx:.1f}" x2="{nx:.1f}" y1="{_TOP - 4}" '
            f'y2="{_TOP + n_rows * _ROW_H}"><title>now</title></line>'
        )
    width = _LABEL_W + plot_w + 10
    summary = (
        f"Working hours of {len(rows)} members, {len(windows)} usable windows and "
        f"{len(denies)} deny windows, "
        f"{start:%a %d %b} to {end - timedelta(seconds=1):%a %d %b}, times in {tz.key}"
    )
    svg = (
        f'<div class="scroll" tabindex="0" role="region" aria-label="Windows chart">'
        f'<svg class="windows-chart" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-labelledby="chart-title">'
        f'<title id="chart-title">{esc(summary)}</title>{"".join(parts)}</svg></div>'
    )
    return Chart(start, end, windows, denies, svg)


def windows_table(windows: list[Window], tz: ZoneInfo) -> str:
    rows = []
    for w in windows:
        minutes = int((w.end - w.start).total_seconds() // 60)
        rows.append(
            [
                when(w.start, tz),
                when(w.end, tz),
                esc(f"{minutes // 60}h{minutes % 60:02d}m"),
                esc(", ".join(w.online) or "—"),
            ]
        )
    return table(
        f"Usable windows (times in {tz.key})",
        ["from", "until", "length", "online"],
        rows,
        class_="windows-table",
    )
