"""HTML building blocks: escaping, the page layout, times in the viewer's timezone.

Every value that reaches HTML goes through `esc` (text and attribute values
alike: `html.escape` quotes both quote characters). Functions here return
finished HTML strings; callers concatenate them and never interpolate raw
values themselves.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

STATIC_PREFIX = "/ui/static"


def esc(value: object) -> str:
    """`value` as HTML text or a quoted attribute value."""
    return html.escape("" if value is None else str(value), quote=True)


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone `name`, or UTC when missing or unknown (it comes from the browser)."""
    if name and len(name) <= 64:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def when(moment: datetime | None, tz: ZoneInfo, *, with_date: bool = True) -> str:
    """`<time>` showing `moment` in `tz` (machine-readable UTC in `datetime`)."""
    if moment is None:
        return "—"
    local = moment.astimezone(tz)
    shown = local.strftime("%a %d %b %H:%M" if with_date else "%H:%M")
    iso = moment.astimezone(UTC).isoformat()
    return f'<time datetime="{esc(iso)}">{esc(shown)} {esc(local.tzname())}</time>'


def short_sha(sha: str | None) -> str:
    return f"<code>{esc((sha or '')[:10] or '—')}</code>"


def state_badge(state: str) -> str:
    return f'<span class="state state-{esc(state)}">{esc(state.replace("_", " "))}</span>'


def table(caption: str, headers: Iterable[str], rows: Iterable[Iterable[str]], **attrs: str) -> str:
    """A table whose cells are already HTML; `caption` and headers are text."""
    extra = "".join(f' {esc(k.rstrip("_").replace("_", "-"))}="{esc(v)}"' for k, v in attrs.items())
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        return f'<p class="empty">{esc(caption)}: none.</p>'
    return (
        f"<table{extra}><caption>{esc(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf_token" value="{esc(token)}">'


def page(
    title: str,
    body: str,
    *,
    member: str | None,
    csrf: str,
    active: str = "",
    flash: tuple[str, str] | None = None,
    live_url: str | None = None,
    tz: ZoneInfo | None = None,
    own_sign_in: bool = True,
) -> str:
    """The whole document: skip link, navigation, sign-out, flash message, `body`.

    `own_sign_in=False` (behind an authenticating proxy): no sign-in link or
    sign-out button, since the proxy signs people in and out.
    """
    nav_items = [("rollouts", "/", "Rollouts"), ("windows", "/windows", "Windows")]
    nav = "".join(
        f'<li><a href="{esc(href)}"{" aria-current=page" if key == active else ""}>'
        f"{esc(label)}</a></li>"
        for key, href, label in nav_items
    )
    if member is not None and own_sign_in:
        who = (
            f'<form method="post" action="/logout" class="signout">{csrf_field(csrf)}'
            f"<span>Signed in as <strong>{esc(member)}</strong></span> "
            f'<button type="submit">Sign out</button></form>'
        )
    elif member is not None:
        who = f'<p class="signout">Signed in as <strong>{esc(member)}</strong></p>'
    else:
        who = '<a href="/login">Sign in</a>' if own_sign_in else ""
    message = ""
    if flash is not None:
        kind, text = flash
        role = "alert" if kind == "error" else "status"
        message = f'<p class="flash flash-{esc(kind)}" role="{role}">{esc(text)}</p>'
    live = f' data-live-url="{esc(live_url)}"' if live_url else ""
    zone_name = esc(tz.key) if tz is not None else "UTC"
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="same-origin">'
        f"<title>{esc(title)} · netpol-rollout</title>"
        f'<link rel="stylesheet" href="{STATIC_PREFIX}/dashboard.css">'
        f'<script src="{STATIC_PREFIX}/dashboard.js" defer></script>'
        f'</head><body data-tz="{zone_name}"{live}>'
        '<a class="skip" href="#main">Skip to content</a>'
        '<header class="top"><span class="brand">netpol-rollout</span>'
        f'<nav aria-label="Main"><ul>{nav}</ul></nav>{who}</header>'
        f'<main id="main" tabindex="-1"><h1>{esc(title)}</h1>{message}{body}</main>'
        "</body></html>\n"
    )
