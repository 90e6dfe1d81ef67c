"""`rollout config`."""

from __future__ import annotations

import click

from rollout.cli.exits import RolloutGroup
from rollout.cli.stub import not_built


@click.group(name="config", cls=RolloutGroup)
def command() -> None:
    """Check the configuration file."""


command.add_command(not_built("check", "Validate a configuration file", path="config check"))
