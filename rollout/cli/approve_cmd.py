"""`rollout approve ID`: approve a rollout as the token's member."""

from __future__ import annotations

import click

from rollout.cli.api_client import ApiClient, server_options
from rollout.cli.help_examples import examples


@examples(
    'rollout approve 42 --server https://rollout.example.com --token "$ROLLOUT_TOKEN"',
    'rollout approve 42 --reason \'diff reviewed\' --server "$ROLLOUT_SERVER" --token "$T"',
)
@click.command(name="approve")
@click.argument("rollout_id")
@click.option(
    "--acknowledge",
    "flows",
    multiple=True,
    metavar="FLOW",
    help="First accept that the change cuts this observed flow (`SRC -> DST PORT/PROTO`, "
    "as the rollout lists it); needs --reason. Repeatable.",
)
@click.option("--reason", default="", help="Why cutting the acknowledged flows is intended.")
@server_options
def command(rollout_id: str, flows: tuple[str, ...], reason: str, server: str, token: str) -> None:
    """Approve rollout ROLLOUT_ID (exit 8 if refused)."""
    client = ApiClient(server, token)
    for flow in flows:
        done = client.post(
            f"/rollouts/{rollout_id}/acknowledge-flow", {"flow": flow, "reason": reason}
        )
        click.echo(done["message"])
        if done.get("quorum_reached"):
            return  # the acknowledgement was all it waited for
    result = client.post(f"/rollouts/{rollout_id}/approve")
    click.echo(result["message"])
