"""`rollout reject ID --reason TEXT`: end a rollout as rejected."""

from __future__ import annotations

import click

from rollout.cli.api_client import ApiClient, server_options
from rollout.cli.help_examples import examples


@examples(
    'rollout reject 42 --reason \'opens the database\' --server "$ROLLOUT_SERVER" --token "$T"',
)
@click.command(name="reject")
@click.argument("rollout_id")
@click.option("--reason", required=True, help="Why (shown in the audit log and messages).")
@server_options
def command(rollout_id: str, reason: str, server: str, token: str) -> None:
    """Reject rollout ROLLOUT_ID; this ends it (exit 8 if refused).

    A fleet rollout whose waves run is stopped: no further cluster starts, and
    every cluster it reached goes back to what it ran before."""
    result = ApiClient(server, token).post(f"/rollouts/{rollout_id}/reject", {"reason": reason})
    click.echo(result["message"])
