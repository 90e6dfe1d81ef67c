"""The `rollout` command: a thin root that loads each command module only when it runs.

`rollout --help`, `--version` and light commands (policy, config, gate, windows) must
start in a blink, so no command module is imported until click asks for that command,
and the listing in `--help` comes from the table below rather than from the modules.
A unit test keeps each summary equal to its command's own short help.
"""

from __future__ import annotations

import importlib

import click

from rollout import __version__
from rollout.cli.exits import RolloutGroup
from rollout.cli.help_examples import examples_text

# name -> (module exposing `command`, the command's one-line summary)
COMMANDS: dict[str, tuple[str, str]] = {
    "config": ("rollout.cli.config_cmd", "Check the configuration file."),
    "check": (
        "rollout.cli.check_cmd",
        "Check that everything the service needs is in place (exit 1 if anything fails).",
    ),
    "serve": (
        "rollout.cli.serve_cmd",
        "Run the service: watch the policy repository and drive rollouts.",
    ),
    "validate": (
        "rollout.cli.validate_cmd",
        "Render and validate a revision for an environment (nothing is written).",
    ),
    "plan": (
        "rollout.cli.plan_cmd",
        "Show what an apply would change, including changes made by hand (drift).",
    ),
    "apply": (
        "rollout.cli.apply_cmd",
        "Apply a revision to an environment; `--rev` an earlier sha to roll back.",
    ),
    "smoke": (
        "rollout.cli.smoke_cmd",
        "Run the smoke tests of an environment against its cluster (exit 6 on failure).",
    ),
    "gate": (
        "rollout.cli.gate_cmd",
        "Exit 0 if ENV may be applied to now; else exit 7 and say when it opens.",
    ),
    "approve": ("rollout.cli.approve_cmd", "Approve rollout ROLLOUT_ID (exit 8 if refused)."),
    "reject": (
        "rollout.cli.reject_cmd",
        "Reject rollout ROLLOUT_ID; this ends it (exit 8 if refused).",
    ),
    "status": (
        "rollout.cli.status_cmd",
        "Show recent rollouts, or one rollout with its approvals and audit events.",
    ),
    "token": ("rollout.cli.token_cmd", "Manage member API tokens."),
    "hold": (
        "rollout.cli.hold_cmd",
        "Freeze applies to ENVIRONMENT until `rollout resume` (exit 8 if refused).",
    ),
    "resume": ("rollout.cli.resume_cmd", "Lift a hold on ENVIRONMENT (exit 8 if refused)."),
    "break-glass": (
        "rollout.cli.break_glass_cmd",
        "Override the apply window for ROLLOUT_ID, never its approvals (exit 8 if refused).",
    ),
    "windows": (
        "rollout.cli.windows_cmd",
        "List upcoming usable windows with who is online, and draw a timeline.",
    ),
    "demo": (
        "rollout.cli.demo_cmd",
        "Run the whole flow on an embedded example: two local clusters, a good commit to "
        "production and a bad one rolled back.",
    ),
    "policy": ("rollout.cli.policy_cmd", "Analyse NetworkPolicies: matrix, explain, diff, lint."),
    "rbac": (
        "rollout.cli.rbac_cmd",
        "Print the ClusterRole, Roles and bindings the service needs (YAML).",
    ),
    "digest": (
        "rollout.cli.digest_cmd",
        "Gather the policy review digest for the period since the previous one, and send it.",
    ),
}


class LazyGroup(RolloutGroup):
    """A group whose subcommands are imported on first use, from `COMMANDS`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        command = importlib.import_module(entry[0]).command
        if not isinstance(command, click.Command):
            raise TypeError(f"{entry[0]}.command is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The listing reads the table, so `--help` imports no command module.
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            (name, _shortened(summary, limit)) for name, (_, summary) in sorted(COMMANDS.items())
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _shortened(summary: str, limit: int) -> str:
    """`summary` cut at a word to fit `limit` (click's own helper is deprecated in 8.5)."""
    if len(summary) <= limit:
        return summary
    return summary[: max(limit - 3, 0)].rsplit(" ", 1)[0].rstrip(",;:") + "..."


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=examples_text(
        "rollout demo",
        "rollout check",
        "rollout plan --env staging",
        "rollout status -o json",
        "rollout COMMAND -h",
    ),
)
@click.version_option(__version__, prog_name="rollout")
def cli() -> None:
    """netpol-rollout: GitOps rollouts of Kubernetes NetworkPolicies."""


def main() -> None:
    cli(prog_name="rollout")
