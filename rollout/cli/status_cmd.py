"""`rollout status [ID]`: rollouts, what they wait for, and dead-lettered deliveries."""

from __future__ import annotations

import json
from typing import Any

import click

from rollout.cli.api_client import ApiClient, server_options


@click.command(name="status")
@click.argument("rollout_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@server_options
def command(rollout_id: str | None, as_json: bool, server: str, token: str) -> None:
    """Show recent rollouts, or one rollout with its approvals and audit events."""
    client = ApiClient(server, token)
    if rollout_id is not None:
        data = client.get(f"/rollouts/{rollout_id}")
        click.echo(json.dumps(data, indent=2) if as_json else render_rollout(data))
        return
    data = {**client.get("/rollouts"), **client.get("/deliveries", status="dead")}
    click.echo(json.dumps(data, indent=2) if as_json else render_overview(data))


def render_overview(data: dict[str, Any]) -> str:
    rollouts = data.get("rollouts") or []
    lines = [_rollout_line(r) for r in rollouts] or ["No rollouts yet."]
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


def render_rollout(data: dict[str, Any]) -> str:
    rollout = data["rollout"]
    lines = [_rollout_line(rollout)]
    if rollout.get("reason"):
        lines.append(f"  reason: {rollout['reason']}")
    approval = data.get("approval")
    if approval:
        lines.append(f"  approvals: {approval['summary']}")
        lines += [f"    {reason}" for reason in approval["reasons"]]
        if approval["expired"]:
            lines.append(f"    expired: {', '.join(approval['expired'])}")
        lines += [f"    not counted: {line}" for line in approval["ignored"]]
    lines.append("  events:")
    lines += [
        f"    {e['at']} {e['kind']} by {e['actor']} via {e['channel']}" for e in data["events"]
    ]
    return "\n".join(lines)


def _rollout_line(r: dict[str, Any]) -> str:
    return (
        f"{r['id']}  {r['commit_sha'][:8]}  {r['environment']:<12} {r['state']:<20} {r['author']}"
    )
