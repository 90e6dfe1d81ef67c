"""The windows page: which environment, the chart, the windows and freezes as text."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rollout.core.windows import closed_reasons
from rollout.errors import RolloutError
from rollout.server.context import ServerContext
from rollout.server.dashboard.markup import esc, table, when
from rollout.server.dashboard.progress import Waiting
from rollout.server.dashboard.windows_chart import build_chart, windows_table


def default_environment(ctx: ServerContext) -> str:
    """The first environment with enabled window rules, else the first one."""
    for env in ctx.settings.environments:
        if env.windows is not None and env.windows.enabled:
            return env.name
    return ctx.settings.environments[0].name


def windows_html(ctx: ServerContext, waiting: Waiting, env: str | None, tz: ZoneInfo) -> str:
    names = [e.name for e in ctx.settings.environments]
    chosen = env if env in names else default_environment(ctx)
    now = ctx.clock()
    links = "".join(
        f'<li><a href="/windows?env={esc(name)}"'
        f"{' aria-current=page' if name == chosen else ''}>{esc(name)}</a></li>"
        for name in names
    )
    picker = (
        f'<nav aria-label="Environments"><ul class="tabs">{links}</ul></nav>'
        f'<form method="get" action="/windows" class="tz">'
        f'<input type="hidden" name="env" value="{esc(chosen)}">'
        f'<label for="tz">Times in</label>'
        f'<input id="tz" name="tz" value="{esc(tz.key)}" size="24">'
        f'<button type="submit">Change timezone</button></form>'
    )
    try:
        rules = waiting.rules(chosen, now)
    except RolloutError as exc:
        return picker + f'<p class="flash flash-error" role="alert">{esc(exc.message)}</p>'
    chart = build_chart(rules, now, tz)
    reasons = closed_reasons(rules, now) if rules.enabled else []
    status = (
        f'<p class="gate gate-closed">{esc(chosen)} is closed now: {esc("; ".join(reasons))}</p>'
        if reasons
        else f'<p class="gate gate-open">{esc(chosen)} may be applied to now.</p>'
    )
    if not rules.enabled:
        status = f'<p class="gate gate-open">{esc(chosen)} has no window rules: always open.</p>'
    freezes = [
        [when(f.start, tz), when(f.end, tz), esc(f.reason)]
        for f in rules.freezes
        if f.end > chart.start and f.start < chart.end
    ]
    denies = [[when(a, tz), when(b, tz), esc(what)] for a, b, what in chart.denies]
    return (
        picker
        + status
        + f'<section aria-labelledby="h-chart"><h2 id="h-chart">Next 7 days in {esc(tz.key)}</h2>'
        + '<p class="legend"><span class="key key-hours">working hours</span> '
        '<span class="key key-usable">usable window</span> '
        '<span class="key key-deny">deny window</span> '
        '<span class="key key-freeze">freeze</span></p>'
        + chart.svg
        + "</section>"
        + windows_table(chart.windows, tz)
        + table("Deny windows in these 7 days", ["from", "until", "schedule"], denies)
        + table("Freezes in these 7 days", ["from", "until", "reason"], freezes)
    )
