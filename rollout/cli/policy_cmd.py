"""`rollout policy`: the NetworkPolicy analysis engine's commands."""

from __future__ import annotations

import click

from rollout.cli.exits import RolloutGroup
from rollout.cli.stub import not_built


@click.group(name="policy", cls=RolloutGroup)
def command() -> None:
    """Analyse NetworkPolicies: matrix, explain, diff, lint."""


for _name in ("matrix", "explain", "diff", "lint"):
    command.add_command(not_built(_name, f"policy {_name}", path=f"policy {_name}"))
