"""`rollout approve ID`: approve a rollout as the token's member."""

from __future__ import annotations

import click

from rollout.cli.api_client import ApiClient, server_options


@click.command(name="approve")
@click.argument("rollout_id")
@server_options
def command(rollout_id: str, server: str, token: str) -> None:
    """Approve rollout ROLLOUT_ID (exit 8 if refused)."""
    result = ApiClient(server, token).post(f"/rollouts/{rollout_id}/approve")
    click.echo(result["message"])
