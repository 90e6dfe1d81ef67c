"""`rollout check`: preflight of clusters, RBAC, namespaces, git, secrets, roster."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rollout.cli.options import (
    MACHINE_FORMATS,
    as_format,
    cluster_options,
    config_option,
    load_settings,
    output_option,
    secret_refs,
)

if TYPE_CHECKING:
    from rollout.config.schema import Environment
    from rollout.preflight import CheckResult

_STYLE = {"ok": "green", "warn": "yellow", "fail": "red", "skip": "dim"}


@click.command(name="check")
@config_option
@cluster_options
@click.option("--env", "env_name", default=None, help="Check only this environment.")
@click.option(
    "--canary",
    is_flag=True,
    help="Also run the CNI canary: a probe pod that the default deny must block "
    "(proves the network plugin enforces NetworkPolicy; run after the first apply).",
)
@click.option(
    "--timeout",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.5, 120),
    help="Seconds to wait for each apiserver.",
)
@output_option()
def command(
    config_path: Path, env_name: str | None, canary: bool, timeout: float, output: str
) -> None:
    """Check that everything the service needs is in place (exit 1 if anything fails).

    For each environment: credentials load (kubeconfig, context), the
    apiserver answers and is recent enough, RBAC allows every operation the
    service performs (SelfSubjectAccessReview), the managed and state
    namespaces exist. Then: the git repository answers with its credentials,
    every secret reference resolves, the roster can give each environment's
    approvals. `warn` lines do not fail the check.

    \b
    Examples:
      rollout check
      rollout check --env production -o json
      rollout check -c rollout.yaml --canary
    """
    from rollout.preflight import run_checks

    settings = load_settings(config_path)
    if env_name is not None:
        env = settings.environment(env_name)
        settings = settings.model_copy(update={"environments": (env,)})
    results = run_checks(
        settings,
        base_dir=config_path.resolve().parent,
        secret_refs=list(secret_refs(settings)),
        timeout=timedelta(seconds=timeout),
        canary=_canary() if canary else None,
    )
    failed = [r for r in results if r.status == "fail"]
    if output in MACHINE_FORMATS:
        click.echo(
            as_format(
                output,
                json.dumps(
                    {"ok": not failed, "checks": [r.to_json() for r in results]},
                    indent=2,
                    sort_keys=True,
                ),
            )
        )
    else:
        _table(results)
    if failed:
        sys.exit(1)


def _table(results: list[CheckResult]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("environment", "check", "status", "detail"):
        table.add_column(column, overflow="fold")
    for r in results:
        style = _STYLE.get(r.status, "")
        table.add_row(r.environment or "-", r.name, f"[{style}]{r.status}[/]", escape(r.detail))
    console = Console(highlight=False, soft_wrap=False, width=200)
    console.print(table)
    failed = sum(r.status == "fail" for r in results)
    console.print(f"{failed} check(s) failed" if failed else "[green]all checks passed[/]")


def _canary() -> Callable[[Environment], CheckResult]:
    """The CNI canary of each environment, through the smoke runner's built-in check."""
    from rollout.preflight import CheckResult
    from rollout.wiring import cni_canary

    def run(env: Environment) -> CheckResult:
        ok, detail = cni_canary(env)
        return CheckResult("canary", env.name, "ok" if ok else "fail", detail)

    return run
