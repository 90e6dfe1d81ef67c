"""The monthly review digest: the event that carries it, and its rendering.

The service gathers a :class:`~rollout.core.events.ReviewDigest` (store,
policy engine, lint) on the configured schedule and enqueues the event from
:func:`digest_event` to every channel; this module only words it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from rollout.core.events import EventType, ReviewDigest, RolloutEvent
from rollout.notify.render import escape_slack, utc_text

MAX_LINES = 10


def period_label(digest: ReviewDigest) -> str:
    """`2025-05` for a calendar month, else `START..END` dates."""
    start, end = digest.period_start, digest.period_end
    return f"{start:%Y-%m-%d}..{end:%Y-%m-%d}" if (start.day != 1) else f"{start:%Y-%m}"


def digest_event(
    digest: ReviewDigest, *, occurred_at: datetime, url: str | None = None
) -> RolloutEvent:
    """The `review.digest` event; its sequence (the period) keys the deliveries."""
    return RolloutEvent(
        type=EventType.REVIEW_DIGEST,
        occurred_at=occurred_at,
        sequence=f"{digest.period_start:%Y%m%dT%H%M%SZ}-{digest.period_end:%Y%m%dT%H%M%SZ}",
        url=url,
        digest=digest,
    )


def digest_summary_text(digest: ReviewDigest) -> str:
    return (
        f"Policy review {period_label(digest)}: "
        f"{len(digest.namespaces_without_baseline)} namespace(s) without a deny-all baseline, "
        f"{len(digest.lint_findings)} lint finding(s), "
        f"{len(digest.policies_selecting_nothing)} policy(ies) selecting nothing, "
        f"{len(digest.connectivity_opened)} flow(s) opened, "
        f"{len(digest.connectivity_closed)} closed, "
        f"{digest.rollouts} rollout(s), {digest.rollbacks} rollback(s), "
        f"{len(digest.drift)} drift finding(s)"
    )


def _lines(items: tuple[str, ...], escape: Callable[[str], str], *, code: bool = True) -> str:
    if not items:
        return "none"
    quote = "`" if code else ""
    shown = [f"• {quote}{escape(i)}{quote}" for i in items[:MAX_LINES]]
    if len(items) > MAX_LINES:
        shown.append(f"… and {len(items) - MAX_LINES} more")
    return "\n".join(shown)


def _severity_line(digest: ReviewDigest) -> str:
    counts = digest.findings_by_severity()
    return ", ".join(f"{n} {sev}" for sev, n in counts.items()) or "none"


def _sections(digest: ReviewDigest, escape: Callable[[str], str]) -> list[tuple[str, str]]:
    """Titles and bodies; `escape` makes a line safe for the channel's markup."""
    drift = tuple(f"{d.environment}: {d.object} {d.change}" for d in digest.drift)
    return [
        (
            "Namespaces without a deny-all baseline",
            _lines(digest.namespaces_without_baseline, escape),
        ),
        ("Lint findings by severity", _severity_line(digest)),
        ("Policies that select nothing", _lines(digest.policies_selecting_nothing, escape)),
        (
            f"Connectivity opened ({len(digest.connectivity_opened)})",
            _lines(digest.connectivity_opened, escape),
        ),
        (
            f"Connectivity closed ({len(digest.connectivity_closed)})",
            _lines(digest.connectivity_closed, escape),
        ),
        ("Rollouts and rollbacks", f"{digest.rollouts} rollout(s), {digest.rollbacks} rollback(s)"),
        (f"Drift found ({len(drift)})", _lines(drift, escape, code=False)),
    ]


def _markdown_text(line: str) -> str:
    # Inside backticks Markdown takes text as it is; HTML entities would show.
    return line.replace("`", "'")


def digest_slack_blocks(digest: ReviewDigest) -> list[Block]:
    blocks: list[Block] = [
        HeaderBlock(text=f"NetworkPolicy review {period_label(digest)}"),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"{utc_text(digest.period_start)} – {utc_text(digest.period_end)}"
                )
            ]
        ),
        DividerBlock(),
    ]
    for title, body in _sections(digest, escape_slack):
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*{title}*\n{body}"[:3000])))
    return blocks


def digest_markdown(digest: ReviewDigest) -> str:
    """GitHub-flavoured Markdown of the digest (issue body, e-mail, docs)."""
    out = [
        f"## NetworkPolicy review {period_label(digest)}",
        "",
        f"{utc_text(digest.period_start)} – {utc_text(digest.period_end)}",
    ]
    for title, body in _sections(digest, _markdown_text):
        out += ["", f"### {title}", "", body.replace("•", "-")]
    return "\n".join(out) + "\n"
