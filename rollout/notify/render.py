"""Channel-neutral wording of events: status lines, emoji, Slack dates, Markdown.

Shared by the Slack, GitHub and digest renderers so a stage reads the same
everywhere (one formatter, not one per channel).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from rollout.core.events import EventType, RolloutEvent
from rollout.core.fleet_status import FleetStatus

STATUS: dict[EventType, tuple[str, str]] = {
    EventType.ROLLOUT_DETECTED: (":mag:", "New commit detected"),
    EventType.ROLLOUT_VALIDATED: (":white_check_mark:", "Validated"),
    EventType.STAGING_APPLIED: (":rocket:", "Applied to staging"),
    EventType.SMOKE_PASSED: (":large_green_circle:", "Smoke tests passed"),
    EventType.SMOKE_FAILED: (":red_circle:", "Smoke tests failed"),
    EventType.STAGING_ROLLED_BACK: (":rewind:", "Staging rolled back"),
    EventType.APPROVAL_REQUESTED: (":raising_hand:", "Approval requested"),
    EventType.APPROVAL_GRANTED: (":+1:", "Approval granted"),
    EventType.ROLLOUT_REJECTED: (":no_entry:", "Rejected"),
    EventType.PRODUCTION_SCHEDULED: (":calendar:", "Scheduled for the next window"),
    EventType.PRODUCTION_APPLIED: (":tada:", "Applied to production"),
    EventType.PRODUCTION_FAILED: (":rotating_light:", "Production apply failed"),
    EventType.WAVE_PASSED: (":ocean:", "Wave passed"),
    EventType.DRIFT_DETECTED: (":warning:", "Drift detected"),
    EventType.REVIEW_DIGEST: (":clipboard:", "Monthly policy review"),
}

MAX_RISKY_LINES = 5


def status_line(event: RolloutEvent) -> str:
    """`Applied to staging (staging)`, `Approval granted by alice`, ..."""
    _, text = STATUS[event.type]
    if event.type is EventType.WAVE_PASSED and event.sequence:
        text = f"Wave {event.sequence} passed"
    if event.actor and event.type in (EventType.APPROVAL_GRANTED, EventType.ROLLOUT_REJECTED):
        text = f"{text} by {event.actor}"
    if event.environment:
        text = f"{text} ({event.environment})"
    return text


def approval_pending(event: RolloutEvent) -> bool:
    """Approve/Reject are offered while approval is requested and not yet complete."""
    return (
        event.type in (EventType.APPROVAL_REQUESTED, EventType.APPROVAL_GRANTED)
        and event.approvals is not None
        and bool(event.approvals.still_needed)
    )


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def slack_date(moment: datetime) -> str:
    """Slack renders this in each reader's own timezone; the fallback is UTC."""
    unix = int(moment.timestamp())
    return f"<!date^{unix}^{{date_short_pretty}} {{time}}|{utc_text(moment)}>"


def escape_slack(text: str) -> str:
    """Slack mrkdwn control characters (&, <, >) escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def diff_text(event: RolloutEvent, *, code: str = "`") -> str | None:
    if event.diff is None:
        return None
    line = f"{event.diff.opened} flow(s) opened, {event.diff.closed} closed"
    if event.diff.fleet:
        line += f"\n{event.diff.fleet}"
    if event.diff.observed:
        line += f"\n:warning: {event.diff.observed}"
    risky = event.diff.riskiest[:MAX_RISKY_LINES]
    if risky:
        line += "\n" + "\n".join(f"• {code}{r}{code}" for r in risky)
        if len(event.diff.riskiest) > MAX_RISKY_LINES:
            line += f"\n… and {len(event.diff.riskiest) - MAX_RISKY_LINES} more"
    return line


def lint_text(event: RolloutEvent, *, code: str = "`") -> str | None:
    """`1 error, 2 warnings` and the first findings (`NP003` on its object: message)."""
    if event.lint is None:
        return None
    if not event.lint:
        return "no findings"
    counts: dict[str, int] = {}
    for f in event.lint:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    order = {"error": 0, "warning": 1, "info": 2}
    line = ", ".join(
        f"{n} {sev}{'s' if n != 1 else ''}"
        for sev, n in sorted(counts.items(), key=lambda kv: (order.get(kv[0], 9), kv[0]))
    )
    shown = sorted(event.lint, key=lambda f: (order.get(f.severity, 9), f.id, f.object))
    line += "\n" + "\n".join(
        f"• {code}{f.id}{code} {code}{f.object}{code}: {f.message}" for f in shown[:MAX_RISKY_LINES]
    )
    if len(shown) > MAX_RISKY_LINES:
        line += f"\n… and {len(shown) - MAX_RISKY_LINES} more"
    return line


def smoke_text(event: RolloutEvent) -> str | None:
    if event.smoke is None:
        return None
    text = f"{event.smoke.passed} passed, {event.smoke.failed} failed"
    if event.smoke.node:
        text += f" (node: {event.smoke.node})"
    if event.smoke.failures:
        text += "\n" + "\n".join(f"• {f}" for f in event.smoke.failures[:MAX_RISKY_LINES])
    return text


def approvals_text(event: RolloutEvent) -> str | None:
    if event.approvals is None:
        return None
    got = ", ".join(event.approvals.approved_by) or "none yet"
    text = f"{len(event.approvals.approved_by)}/{event.approvals.required} — approved by {got}"
    if event.approvals.still_needed:
        text += "\nStill needed: " + "; ".join(event.approvals.still_needed)
    return text


def fleet_text(
    fleet: FleetStatus,
    *,
    when: Callable[[datetime], str] = utc_text,
    escape: Callable[[str], str] = str,
    code: str = "`",
) -> str:
    """The fleet in a few lines: progress, each wave with its clusters grouped by the
    revision they run, the failures (free text, through `escape`), then the next
    wave's window (or soak) with `when`."""
    lines = [fleet.progress_text()]
    for wave in fleet.waves:
        groups: dict[str, list[str]] = {}
        for line in fleet.clusters:
            if line.wave != wave.name:
                continue
            if line.changing:
                key = f"changing → {code}{line.target[:8]}{code}"
            else:
                key = f"{code}{line.revision[:8]}{code}" if line.revision else "none"
            groups.setdefault(key, []).append(line.cluster)
        running = "; ".join(f"{', '.join(names)} {key}" for key, names in groups.items())
        lines.append(f"• {wave.name} ({wave.phase}): {running}")
    lines += [f"• {c.cluster} failed: {escape(c.failure)}" for c in fleet.clusters if c.failure]
    if fleet.next_wave and fleet.soak_until:
        lines.append(f"Next wave {fleet.next_wave} after its soak: {when(fleet.soak_until)}")
    elif fleet.next_wave and fleet.next_window:
        window = fleet.next_window
        lines.append(f"Next wave {fleet.next_wave}: {when(window.start)} – {when(window.end)}")
    elif fleet.next_wave:
        lines.append(f"Next wave {fleet.next_wave}")
    return "\n".join(lines)
