"""The `rollout` command: a thin root that only wires the command modules."""

from __future__ import annotations

import click

from rollout import __version__
from rollout.cli import (
    apply_cmd,
    approve_cmd,
    config_cmd,
    demo_cmd,
    digest_cmd,
    gate_cmd,
    plan_cmd,
    policy_cmd,
    reject_cmd,
    serve_cmd,
    smoke_cmd,
    status_cmd,
    token_cmd,
    validate_cmd,
    windows_cmd,
)
from rollout.cli.exits import RolloutGroup

COMMAND_MODULES = (
    config_cmd,
    serve_cmd,
    validate_cmd,
    plan_cmd,
    apply_cmd,
    smoke_cmd,
    gate_cmd,
    approve_cmd,
    reject_cmd,
    status_cmd,
    token_cmd,
    windows_cmd,
    demo_cmd,
    policy_cmd,
    digest_cmd,
)


@click.group(cls=RolloutGroup)
@click.version_option(__version__, prog_name="rollout")
def cli() -> None:
    """netpol-rollout: GitOps rollouts of Kubernetes NetworkPolicies."""


for _module in COMMAND_MODULES:
    cli.add_command(_module.command)


def main() -> None:
    cli(prog_name="rollout")
