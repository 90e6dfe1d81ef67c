"""`rollout smoke --env ENV`: run an environment's smoke tests by hand.

Reads `smoke-tests.yaml` from the policy repository at `--rev` (default: the
branch head), runs the static pre-check against the rendered revision and the
live cluster (unless `--no-precheck`), then the live probes and scripts.
Exit 6 when any check fails.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TextIO

import click
from rich.console import Console

from rollout.cli.actions import report_to_actions
from rollout.cli.exits import RolloutGroup
from rollout.cli.help_examples import examples
from rollout.cli.options import (
    MACHINE_FORMATS,
    as_format,
    cluster_options,
    config_option,
    load_settings,
    output_option,
)
from rollout.cli.smoke_suggest import suggest_cmd
from rollout.errors import SmokeTestError
from rollout.kube.client import api_client_for
from rollout.kube.probes import ProbePods
from rollout.kube.snapshot import read_snapshot
from rollout.revision import render_revision, resolve_revision
from rollout.smoke.plan import SmokePlan
from rollout.smoke.precheck import DNS_NAMESPACE, static_precheck
from rollout.smoke.results import (
    CheckResult,
    SmokeReport,
    to_json,
    to_junit,
    to_markdown,
    to_table,
)
from rollout.smoke.runner import Precheck
from rollout.smoke.suite import run_environment_smoke
from rollout.wiring import git_for, renderer

FORMATS = ("table", "json", "yaml", "junit", "markdown")


def write_report(report: SmokeReport, fmt: str, out: TextIO, *, color: bool | None = None) -> None:
    """Render `report` in `fmt` to `out` (the one place the CLI formats results)."""
    if fmt == "table":
        Console(file=out, highlight=False, force_terminal=color, width=160).print(to_table(report))
        for note in report.notes:
            out.write(f"note: {note}\n")
    elif fmt in MACHINE_FORMATS:
        out.write(as_format(fmt, to_json(report)) + "\n")
    elif fmt == "junit":
        out.write(to_junit(report))
    else:
        out.write(to_markdown(report))


def _namespaces_of(plan: SmokePlan) -> set[str]:
    """Where the pre-check needs live pods and services: sources, destinations, DNS."""
    found = {DNS_NAMESPACE}
    for check in plan.checks:
        found.add(check.source.namespace)
        if check.target.namespace:
            found.add(check.target.namespace)
    return found


@examples(
    "rollout smoke --env staging",
    "rollout smoke --env production -o junit --junit-file smoke.xml",
    "rollout smoke --env staging --precheck",
)
@click.group(name="smoke", cls=RolloutGroup, invoke_without_command=True)
@config_option
@cluster_options
@click.option("--env", "env_name", default=None, help="Environment name (required to run).")
@click.option("--rev", default=None, help="Revision whose smoke-tests.yaml to use (default: head).")
@output_option("junit", "markdown")
@click.option(
    "--junit-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write JUnit XML here (for CI).",
)
@click.option(
    "--precheck/--no-precheck",
    default=True,
    show_default=True,
    help="Judge the expectations statically against the rendered revision first.",
)
@click.pass_context
def command(
    ctx: click.Context,
    config_path: Path,
    env_name: str | None,
    rev: str | None,
    output: str,
    junit_file: Path | None,
    precheck: bool,
) -> None:
    """Run the smoke tests of an environment against its cluster (exit 6 on failure).

    `rollout smoke suggest --from-flows FLOWS...` proposes tests from observed traffic.
    """
    if ctx.invoked_subcommand is not None:
        return
    if env_name is None:
        raise click.UsageError("Missing option '--env'.")
    settings = load_settings(config_path)
    env = settings.target(env_name)  # a fleet's cluster: ENV/CLUSTER
    git = git_for(settings.repository, base_dir=config_path.resolve().parent)
    git.fetch()
    sha = resolve_revision(git, settings.repository, rev)
    kubeconfig = str(env.cluster.kubeconfig or os.environ.get("KUBECONFIG", ""))
    api = api_client_for(env.connection(), pool_size=env.smoke.parallelism + 2)
    timeout = env.cluster.request_timeout.total_seconds()
    interactive = sys.stderr.isatty()
    progress_console = Console(file=sys.stderr, highlight=False)

    def progress(line: str) -> None:
        if interactive:
            progress_console.print(f"[dim]{line}[/]")

    try:
        with tempfile.TemporaryDirectory(prefix="netpol-smoke-") as tmp:
            checkout = Path(tmp)
            git.export_tree(sha, checkout)
            repo = settings.repository
            spec_path = checkout / repo.subdirectory / repo.smoke_tests_file
            static: Precheck | None = None
            if precheck:
                rendered = render_revision(git, renderer(), repo, env, sha)
                desired = [dict(d.body) for d in rendered.desired]

                def static_check(plan: SmokePlan) -> list[CheckResult]:
                    live = read_snapshot(api, namespaces=sorted(_namespaces_of(plan)))
                    return static_precheck(plan, desired, live)

                static = static_check
            report = run_environment_smoke(
                env,
                spec_path,
                ProbePods(api, request_timeout=timeout),
                commit_sha=sha,
                kubeconfig=kubeconfig,
                script_cwd=checkout,
                precheck=static,
                progress=progress,
            )
    finally:
        api.close()
    write_report(report, output, sys.stdout)
    if junit_file is not None:
        junit_file.write_text(to_junit(report))
    report_to_actions(
        "smoke",
        to_markdown(report),
        {"passed": report.passed, "failed": sum(1 for r in report.results if not r.ok)},
    )
    if not report.passed:
        raise SmokeTestError(report.summary())


command.add_command(suggest_cmd)
