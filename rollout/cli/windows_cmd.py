"""`rollout windows`: upcoming usable windows, who is online, and a terminal timeline.

Also home of the helpers `rollout gate` shares (clock, time parsing, JSON shape).
"""

from __future__ import annotations

import json
import os
import sys
import time as systime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from rollout.cli.help_examples import examples
from rollout.cli.options import (
    MACHINE_FORMATS,
    as_format,
    config_option,
    load_settings,
    output_option,
)
from rollout.config import Settings
from rollout.core.cron import first_instant
from rollout.core.windows import (
    GateRules,
    Window,
    deny_intervals,
    format_window,
    usable_windows,
    working_intervals,
)
from rollout.errors import InputError
from rollout.windows_rules import gate_rules, years_between

CELLS = 48  # half-hour cells in a 24 h bar
_CELL = timedelta(minutes=30)


@dataclass(frozen=True)
class Clock:
    """Time for commands; tests pass their own as the click context object."""

    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    sleep: Callable[[float], None] = field(default=systime.sleep)

    @classmethod
    def of(cls, ctx: click.Context) -> Clock:
        return ctx.find_object(Clock) or cls()


def zone_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--tz",
        "viewer_tz",
        metavar="ZONE",
        help="Show times in this IANA timezone (default: the system's).",
    )(function)


def viewer_zone(name: str | None) -> ZoneInfo:
    """The zone named by --tz, else $TZ, else /etc/localtime, else UTC."""
    if name is not None:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InputError(f"--tz: unknown IANA timezone {name!r} (e.g. Europe/Berlin)") from exc
    candidate = os.environ.get("TZ", "").lstrip(":")
    try:
        if candidate:
            return ZoneInfo(candidate)
        local = Path("/etc/localtime")
        if "zoneinfo/" in str(local.resolve()):
            return ZoneInfo(str(local.resolve()).split("zoneinfo/", 1)[1])
        with local.open("rb") as handle:
            return ZoneInfo.from_file(handle, key="localtime")
    except (OSError, ValueError, ZoneInfoNotFoundError):
        return ZoneInfo("UTC")


def parse_instant(text: str, zone: ZoneInfo, option: str) -> datetime:
    """ISO-8601 (`2026-03-09T14:00Z`, `2026-03-09 15:00+01:00`, `2026-03-09`); a time
    without an offset is wall time in `zone`."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError as exc:
        raise InputError(
            f"{option}: expected an ISO-8601 time like 2026-03-09T14:00:00Z, got {text!r}"
        ) from exc
    if moment.tzinfo is None:
        return first_instant(moment, zone)
    return moment.astimezone(UTC)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def window_json(window: Window) -> dict[str, Any]:
    return {"start": stamp(window.start), "end": stamp(window.end), "online": list(window.online)}


def default_environment(settings: Settings) -> str:
    """The last environment of the promotion chain that has window rules (else the last)."""
    with_rules = [e.name for e in settings.environments if e.windows is not None]
    return (with_rules or [e.name for e in settings.environments])[-1]


def rules_for(settings: Settings, environment: str, start: datetime, end: datetime) -> GateRules:
    return gate_rules(settings, environment, years=years_between(start, end))


def span_text(seconds: float) -> str:
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    return (f"{days}d" if days else "") + (f"{hours}h" if hours or days else "") + f"{minutes:02d}m"


@examples(
    "rollout windows",
    "rollout windows --env production --days 14 --tz Europe/Berlin",
    "rollout windows -o json",
)
@click.command(name="windows")
@config_option
@click.option("--env", "-e", "environment", help="Environment (default: the last with windows).")
@click.option("--from", "start_text", metavar="TIME", help="Start here (ISO-8601; default now).")
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True)
@zone_option
@output_option()
@click.pass_context
def command(
    ctx: click.Context,
    config_path: Path,
    environment: str | None,
    start_text: str | None,
    days: int,
    viewer_tz: str | None,
    output: str,
) -> None:
    """List upcoming usable windows with who is online, and draw a timeline."""
    zone = viewer_zone(viewer_tz)
    settings = load_settings(config_path)
    name = environment or default_environment(settings)
    settings.environment(name)  # ConfigError naming the known ones
    start = (
        parse_instant(start_text, zone, "--from") if start_text else Clock.of(ctx).now()
    ).replace(microsecond=0)
    end = start + timedelta(days=days)
    rules = rules_for(settings, name, start, end)
    windows = usable_windows(rules, start, end)
    if output in MACHINE_FORMATS:
        data = {"windows": [window_json(w) for w in windows]}
        click.echo(as_format(output, json.dumps(data, indent=2)))
        return
    console = Console(file=sys.stdout, highlight=False)
    heading = f"{name}: {len(windows)} usable window(s) from {stamp(start)} for {days} day(s)"
    if not rules.enabled:
        heading += " (no window rules: always open)"
    console.print(heading)
    console.print(window_table(windows, zone))
    for line in timeline(rules, windows, start, end, zone):
        console.print(line, no_wrap=True, overflow="crop")


def window_table(windows: Sequence[Window], zone: ZoneInfo) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    table.add_column(f"window ({zone.key})", no_wrap=True)
    table.add_column("UTC", no_wrap=True)
    table.add_column("length", no_wrap=True)
    table.add_column("online")
    for w in windows:
        table.add_row(
            format_window(w, zone),
            format_window(w, ZoneInfo("UTC")).removesuffix(" UTC"),
            span_text((w.end - w.start).total_seconds()),
            ", ".join(w.online) or "-",
        )
    return table


def timeline(
    rules: GateRules, windows: Sequence[Window], start: datetime, end: datetime, zone: ZoneInfo
) -> list[Text]:
    """Per local day: a 24 h bar for the usable windows, one per member, and one for
    deny windows and one for freezes when any touch the period."""
    spans = [(w.start, w.end) for w in windows]
    closed = [
        ("deny window", [(a, b) for a, b, _ in deny_intervals(rules, start, end)]),
        ("freeze", [(f.start, f.end) for f in rules.freezes if f.end > start and f.start < end]),
    ]
    width = max([12, *(len(p.name) for p in rules.roster)]) + 2
    lines: list[Text] = []
    day = start.astimezone(zone).date()
    while True:
        edges = [
            first_instant(datetime.combine(day, time()) + k * _CELL, zone) for k in range(CELLS + 1)
        ]
        if edges[0] >= end:
            break
        lines.append(Text(""))
        header = Text(f"{day:%a %d %b} ".ljust(width), style="bold")
        header.append("".join(f"{h:02d}    " for h in range(0, 24, 3)))
        lines.append(header)
        window_cells = _cells(spans, edges)
        bar = Text("usable".ljust(width))
        for share in window_cells:
            bar.append(_glyph(share), style="bold green" if share else "dim")
        lines.append(bar)
        for person in rules.roster:
            row = Text(person.name.ljust(width))
            hours = working_intervals(person, edges[0], max(edges[-1], edges[0] + _CELL))
            for share, open_share in zip(_cells(hours, edges), window_cells, strict=True):
                style = "bold green" if share and open_share else "blue" if share else "dim"
                row.append(_glyph(share), style=style)
            lines.append(row)
        for label, blocked in closed:
            if blocked:
                row = Text(label.ljust(width))
                for share in _cells(blocked, edges):
                    row.append(_glyph(share, "×"), style="bold red" if share else "dim")
                lines.append(row)
        day += timedelta(days=1)
    lines.append(Text(""))
    lines.append(Text("30 min per cell: █ usable / within hours, ▌ part of it, × denied or frozen"))
    return lines


def _cells(spans: Sequence[tuple[datetime, datetime]], edges: Sequence[datetime]) -> list[float]:
    shares = []
    for a, b in pairwise(edges):
        if b <= a:
            shares.append(0.0)
            continue
        covered = sum(
            max(0.0, (min(b, e) - max(a, s)).total_seconds()) for s, e in spans if s < b and e > a
        )
        shares.append(covered / (b - a).total_seconds())
    return shares


def _glyph(share: float, full: str = "█") -> str:
    return full if share >= 0.999 else "▌" if share > 0 else "·"
