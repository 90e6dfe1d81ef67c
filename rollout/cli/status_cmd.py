"""`rollout status [ID]`: rollouts, what they wait for, and dead-lettered deliveries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from rollout.cli.api_client import ApiClient, server_options
from rollout.cli.options import MACHINE_FORMATS, as_format, output_option

REASON_WIDTH = 60


@click.command(name="status")
@click.argument("rollout_id", required=False)
@output_option()
@click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as -o json.")
@server_options
def command(rollout_id: str | None, output: str, as_json: bool, server: str, token: str) -> None:
    """Show recent rollouts, or one rollout with its approvals and audit events.

    A rollout whose next step cannot run (credentials that do not load, a
    cluster that does not answer) shows `blocked: REASON`.

    \b
    Examples:
      rollout status
      rollout status r-0123456789
      rollout status -o json
    """
    if as_json:
        output = "json"
    machine = output in MACHINE_FORMATS
    client = ApiClient(server, token)
    now = datetime.now(UTC)
    if rollout_id is not None:
        data = client.get(f"/rollouts/{rollout_id}")
        click.echo(as_format(output, data) if machine else render_rollout(data, now))
        return
    data = {**client.get("/rollouts"), **client.get("/deliveries", status="dead")}
    click.echo(as_format(output, data) if machine else render_overview(data, now))


def render_overview(data: dict[str, Any], now: datetime) -> str:
    """A table: id, commit, environment, state, age, author and why it is where it is."""
    rollouts = data.get("rollouts") or []
    if rollouts:
        header = ("ROLLOUT", "COMMIT", "ENVIRONMENT", "STATE", "AGE", "AUTHOR", "REASON")
        rows = [header, *(_row(r, now) for r in rollouts)]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True))
            + f"  {row[-1]}"
            for row in rows
        ]
        lines = [line.rstrip() for line in lines]
    else:
        lines = ["No rollouts yet."]
    dead = data.get("deliveries") or []
    if dead:
        lines.append("")
        lines.append(f"{len(dead)} notification(s) could not be delivered:")
        lines += [
            f"  #{d['id']} {d['channel']} {d['event']} (rollout {d['rollout_id']}, "
            f"{d['attempts']} attempts): {d['last_error']}"
            for d in dead
        ]
    return "\n".join(lines)


def render_rollout(data: dict[str, Any], now: datetime) -> str:
    """One rollout: what, where, since when and why; approvals; events with their states."""
    rollout = data["rollout"]
    created, updated = _time(rollout.get("created_at")), _time(rollout.get("updated_at"))
    title = str(rollout.get("message") or "").splitlines()[0:1]
    lines = [
        f"Rollout {rollout['id']}",
        f"  commit       {rollout['commit_sha'][:12]} by {rollout['author']}"
        + (f": {title[0]}" if title else ""),
        f"  environment  {rollout['environment']}",
        f"  state        {rollout['state']}"
        + (f" for {age(updated, now)}" if updated else "")
        + (f" (created {age(created, now)} ago)" if created else ""),
    ]
    if rollout.get("reason"):
        lines.append(f"  reason       {rollout['reason']}")
    if rollout.get("superseded_by"):
        lines.append(f"  superseded   by {rollout['superseded_by']}")
    approval = data.get("approval")
    if approval:
        lines.append(f"  approvals    {approval['summary']}")
        lines += [f"    {reason}" for reason in approval["reasons"]]
        if approval["expired"]:
            lines.append(f"    expired: {', '.join(approval['expired'])}")
        lines += [f"    not counted: {line}" for line in approval["ignored"]]
    for fleet in data.get("fleets") or []:
        lines += render_fleet(fleet)
    lines.append("  events:")
    lines += [f"    {_event_line(e)}" for e in data["events"]] or ["    (none)"]
    return "\n".join(lines)


def render_fleet(fleet: dict[str, Any]) -> list[str]:
    """A fleet environment: progress, then a row per cluster under its wave, then
    the next wave and its window (or soak)."""
    lines = [f"  fleet        {fleet['environment']}: {fleet['progress']}"]
    phases = {w["name"]: w["phase"] for w in fleet["waves"]}
    rows = [("WAVE", "PHASE", "CLUSTER", "STATE", "REVISION")]
    shown: set[str] = set()
    for c in fleet["clusters"]:
        first = c["wave"] not in shown
        shown.add(c["wave"])
        if c["changing"]:
            revision = f"changing -> {c['target'][:8]}"
        else:
            revision = (c["revision"] or "none")[:8]
        rows.append(
            (
                c["wave"] if first else "",
                phases.get(c["wave"], "") if first else "",
                c["cluster"],
                c["state"],
                revision,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True))
        lines.append(f"    {cells}  {row[-1]}".rstrip())
    for c in fleet["clusters"]:
        if c.get("failure"):
            lines.append(f"    {c['cluster']} failed: {c['failure']}")
    if fleet.get("next_wave"):
        when = ""
        if fleet.get("soak_until"):
            when = f": soaking until {_utc(fleet['soak_until'])}"
        elif fleet.get("next_window"):
            window = fleet["next_window"]
            when = f": window {_utc(window['start'])} - {_utc(window['end'])}"
        lines.append(f"    next wave    {fleet['next_wave']}{when}")
    return lines


def _utc(value: Any) -> str:
    at = _time(value)
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at else str(value)


def age(since: datetime, now: datetime) -> str:
    """`45s`, `12m`, `3h 5m`, `2d 4h`: how long ago `since` was."""
    seconds = max(0, int((now - since).total_seconds()))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 60:
        return f"{seconds}s"
    if minutes < 60:
        return f"{minutes}m"
    if hours < 24:
        return f"{hours}h {minutes % 60}m" if minutes % 60 else f"{hours}h"
    return f"{days}d {hours % 24}h" if hours % 24 else f"{days}d"


def _row(r: dict[str, Any], now: datetime) -> tuple[str, ...]:
    created = _time(r.get("created_at"))
    reason = str(r.get("reason") or "-").replace("\n", " ")
    if len(reason) > REASON_WIDTH:
        reason = reason[: REASON_WIDTH - 1] + "…"
    return (
        str(r["id"]),
        str(r["commit_sha"])[:8],
        str(r["environment"]),
        str(r["state"]),
        age(created, now) if created else "-",
        str(r["author"]),
        reason,
    )


def _event_line(e: dict[str, Any]) -> str:
    at = _time(e.get("at"))
    when = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if at else str(e.get("at"))
    details = e.get("details") or {}
    what = str(e["kind"])
    if e["kind"] == "state.changed" and "to" in details:
        what = f"{details.get('from') or 'new'} -> {details['to']}"
    line = f"{when}  {what}  by {e['actor']} via {e['channel']}"
    if e.get("environment"):
        line += f" ({e['environment']})"
    why = details.get("reason") or details.get("error") or details.get("summary")
    return f"{line}: {why}" if why else line


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
