"""`rollout gate`: may this environment be applied to now, and if not, when?

Exit 0: open now (inside a usable window with min_duration left). Exit 7
(GateClosedError): closed; the message says when the next window opens and
why it is closed now. `--wait` blocks until the window opens (for CI).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from rollout.cli.actions import report_to_actions
from rollout.cli.help_examples import examples
from rollout.cli.options import (
    MACHINE_FORMATS,
    as_format,
    config_option,
    load_settings,
    output_option,
)
from rollout.cli.windows_cmd import (
    Clock,
    parse_instant,
    rules_for,
    span_text,
    stamp,
    viewer_zone,
    window_json,
    zone_option,
)
from rollout.config.schema import parse_duration
from rollout.core.windows import (
    DEFAULT_HORIZON,
    GateRules,
    Window,
    closed_reasons,
    current_or_next_window,
    format_window,
    online_at,
)
from rollout.errors import GateClosedError, InputError

_POLL = 60.0  # re-check at least this often while waiting (clock jumps, suspend)


def _duration(_ctx: click.Context, _param: click.Parameter, value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@examples(
    "rollout gate --env production",
    "rollout gate --env production --wait --max-wait 6h",
    "rollout gate -e production -o json --tz Europe/Berlin",
)
@click.command(name="gate")
@config_option
@click.option("--env", "-e", "environment", required=True, help="The environment to gate.")
@click.option("--at", "at_text", metavar="TIME", help="Answer for this time (ISO-8601), not now.")
@click.option("--wait", is_flag=True, help="Block until the next usable window opens.")
@click.option(
    "--max-wait",
    metavar="DURATION",
    callback=_duration,
    help="With --wait: give up (exit 7) at once if the window opens later than this.",
)
@zone_option
@output_option()
@click.pass_context
def command(
    ctx: click.Context,
    config_path: Path,
    environment: str,
    at_text: str | None,
    wait: bool,
    max_wait: timedelta | None,
    viewer_tz: str | None,
    output: str,
) -> None:
    """Exit 0 if ENV may be applied to now; else exit 7 and say when it opens."""
    if at_text is not None and wait:
        raise InputError("--at and --wait cannot be combined: waiting needs the real time")
    zone = viewer_zone(viewer_tz)
    clock = Clock.of(ctx)
    settings = load_settings(config_path)
    now = parse_instant(at_text, zone, "--at") if at_text else clock.now()
    rules = rules_for(settings, environment, now, now + DEFAULT_HORIZON)
    if not rules.enabled:
        _always_open(environment, now, rules, output)
        return
    window = current_or_next_window(rules, now)
    if window is not None and window.start <= now:
        _report(environment, now, window, rules, zone, output)
        return
    if wait and window is not None:
        if max_wait is not None and window.start - now > max_wait:
            _closed(environment, now, window, rules, zone, output, extra="beyond --max-wait")
        click.echo(
            f"{environment}: waiting until {stamp(window.start)} ({format_window(window, zone)})",
            err=True,
        )
        while True:
            clock.sleep(min(_POLL, max(1.0, (window.start - now).total_seconds())))
            now = clock.now()
            window = current_or_next_window(rules, now)
            if window is None:
                break
            if window.start <= now:
                _report(environment, now, window, rules, zone, output)
                return
    _closed(environment, now, window, rules, zone, output)


def _report(
    environment: str, now: datetime, window: Window, rules: GateRules, zone: ZoneInfo, output: str
) -> None:
    if output in MACHINE_FORMATS:
        answer = _answer(environment, now, window, rules, is_open=True)
        click.echo(as_format(output, json.dumps(answer, indent=2)))
        return
    latest = window.end - rules.min_duration
    report_to_actions(
        "gate", f"{environment}: open now until {stamp(window.end)}", {"open": True, "opens_at": ""}
    )
    click.echo(
        f"{environment}: open now; the window lasts until {stamp(window.end)} "
        f"({format_window(window, zone)}), an apply may start until {stamp(latest)}; "
        f"online now: {', '.join(online_at(rules, now)) or 'nobody'}"
    )


def _always_open(environment: str, now: datetime, rules: GateRules, output: str) -> None:
    """An environment without windows: open at any time; no window to describe."""
    online = online_at(rules, now)
    if output in MACHINE_FORMATS:
        answer = _answer(environment, now, None, rules, is_open=True)
        answer.update(always_open=True, online_now=list(online))
        click.echo(as_format(output, json.dumps(answer, indent=2)))
        return
    report_to_actions(
        "gate",
        f"{environment}: open (no window configured: always open)",
        {"open": True, "opens_at": ""},
    )
    click.echo(
        f"{environment}: open; no window configured: always open; "
        f"online now: {', '.join(online) or 'nobody'}"
    )


def _closed(
    environment: str,
    now: datetime,
    window: Window | None,
    rules: GateRules,
    zone: ZoneInfo,
    output: str,
    *,
    extra: str = "",
) -> None:
    reasons = closed_reasons(rules, now)
    if output in MACHINE_FORMATS:
        answer = _answer(environment, now, window, rules, is_open=False)
        click.echo(as_format(output, json.dumps(answer, indent=2)))
    if window is None:
        days = DEFAULT_HORIZON.days
        message = f"{environment}: closed, and no usable window in the next {days} days"
    else:
        wait = span_text((window.start - now).total_seconds())
        message = (
            f"{environment}: closed; the next window opens at {stamp(window.start)}, "
            f"in {wait} ({format_window(window, zone)})"
        )
    if extra:
        message += f", {extra}"
    opens_at = "" if window is None else stamp(window.start)
    report_to_actions("gate", message, {"open": False, "opens_at": opens_at})
    raise GateClosedError(message, details=reasons)


def _answer(
    environment: str, now: datetime, window: Window | None, rules: GateRules, *, is_open: bool
) -> dict[str, Any]:
    return {
        "environment": environment,
        "open": is_open,
        "now": stamp(now),
        "opens_at": None if window is None else stamp(window.start),
        "window": None if window is None else window_json(window),
        "always_open": False,
        "online_now": list(online_at(rules, now)),
        "reasons": [] if is_open else closed_reasons(rules, now),
    }
