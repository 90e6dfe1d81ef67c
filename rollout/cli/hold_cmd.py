"""`rollout hold ENV` / `rollout resume ENV` / `rollout break-glass ID`: through the API."""

from __future__ import annotations

import click

from rollout.cli.api_client import ApiClient, server_options


@click.command(name="hold")
@click.argument("environment")
@click.option("--reason", default="", help="Why (shown in the audit log and on the dashboard).")
@server_options
def command(environment: str, reason: str, server: str, token: str) -> None:
    """Freeze applies to ENVIRONMENT until `rollout resume` (exit 8 if refused).

    Allowed to the environment's approvers and its break-glass group.

    \b
    Examples:
      rollout hold production --reason "incident 4711"
      rollout resume production
    """
    result = ApiClient(server, token).post(f"/environments/{environment}/hold", {"reason": reason})
    click.echo(result["message"])


@click.command(name="resume")
@click.argument("environment")
@server_options
def resume_command(environment: str, server: str, token: str) -> None:
    """Lift a hold on ENVIRONMENT (exit 8 if refused).

    \b
    Examples:
      rollout resume production
    """
    result = ApiClient(server, token).post(f"/environments/{environment}/resume", {})
    click.echo(result["message"])


@click.command(name="break-glass")
@click.argument("rollout_id")
@click.option("--reason", required=True, help="Why the window must be overridden (audited).")
@server_options
def break_glass_command(rollout_id: str, reason: str, server: str, token: str) -> None:
    """Override the apply window for ROLLOUT_ID, never its approvals (exit 8 if refused).

    Needs membership of the environment's `break_glass_group`; recorded as a
    `window.break_glass` event.

    \b
    Examples:
      rollout break-glass r-0123456789 --reason "customer outage, fix must ship now"
    """
    result = ApiClient(server, token).post(
        f"/rollouts/{rollout_id}/break-glass", {"reason": reason}
    )
    click.echo(result["message"])
