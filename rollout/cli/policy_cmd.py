"""`rollout policy`: matrix, explain, diff and lint over the NetworkPolicy engine.

Each command is options -> one call -> one formatter; the engine is
`rollout.policy`, the formatters `rollout.policy.report`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rollout.cli.exits import RolloutGroup
from rollout.cli.help_examples import examples
from rollout.cli.matrix_output import DEFAULT_MAX_ROWS, write_matrix
from rollout.cli.options import (
    MACHINE_FORMATS,
    as_format,
    cluster_options,
    config_option,
    output_option,
)
from rollout.cli.output import emit
from rollout.cli.policy_diff_cmd import diff_cmd
from rollout.cli.policy_inputs import (
    build_model,
    external_option,
    live_option,
    load_paths,
    pod_ip_option,
)
from rollout.errors import InputError
from rollout.policy import Analysis, analyze, explain, report
from rollout.policy.portset import parse_port_arg

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["build_model", "command", "load_paths"]

GRID_LIMIT = 30  # endpoints beyond which the table shows a per-source summary


def _console() -> Console:
    from rich.console import Console  # only the table output needs rich

    out = sys.stdout
    return Console(file=out, width=None if out.isatty() else 200, soft_wrap=False)


def _ports(analysis: Analysis, given: Sequence[str]) -> list[tuple[int, str]]:
    return [parse_port_arg(p) for p in given] if given else analysis.default_ports()


class _PolicyGroup(RolloutGroup):
    """`replay` (flow logs, `rollout.flows`) is imported only when it is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), "replay"})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "replay" and cmd_name not in self.commands:
            from rollout.cli.policy_replay import replay_cmd

            self.add_command(replay_cmd)
        return super().get_command(ctx, cmd_name)


@examples(
    "rollout policy matrix k8s/network-policies/production workloads",
    "rollout policy lint k8s/network-policies/staging workloads",
    "rollout policy diff --rev main --rev HEAD k8s/network-policies/production workloads",
)
@click.group(name="policy", cls=_PolicyGroup)
def command() -> None:
    """Analyse NetworkPolicies: matrix, explain, diff, lint."""


@examples(
    "rollout policy matrix k8s/network-policies/production workloads",
    "rollout policy matrix k8s/network-policies/production --live production -o csv",
    "rollout policy matrix policies/ --port 5432/TCP -o markdown",
)
@command.command()
@click.argument("paths", nargs=-1, required=True)
@live_option
@config_option
@cluster_options
@click.option(
    "--port",
    "ports",
    multiple=True,
    metavar="PORT/PROTO",
    help="One port to evaluate (repeatable): every ordered pod pair with `allowed` "
    "(a stable JSON contract). Default: workload rows with every allowed port.",
)
@external_option
@pod_ip_option
@output_option("csv", "markdown", "dot")
@click.option("--pods", is_flag=True, help="One row per pod pair instead of per workload pair.")
@click.option(
    "--max-rows",
    type=click.IntRange(min=0),
    default=DEFAULT_MAX_ROWS,
    show_default=True,
    help="Refuse --pods output with more rows than this.",
)
@click.option(
    "--format",
    "style",
    type=click.Choice(["rollout", "netpol-analyzer"]),
    default="rollout",
    show_default=True,
    help="netpol-analyzer: its JSON/CSV (src, dst, conn), for scripts written for it.",
)
def matrix(
    paths: tuple[str, ...],
    live: str | None,
    config_path: Path,
    ports: tuple[str, ...],
    external: tuple[str, ...],
    pod_ip_in_ipblock: bool,
    output: str,
    pods: bool,
    max_rows: int,
    style: str,
) -> None:
    """Who may connect to whom, per workload pair with the allowed ports.

    With --port: every ordered pair of endpoints, allowed or not, per port.
    """
    model = build_model(paths, live=live, config_path=config_path, externals=external)
    analysis = analyze(model, pod_ip_in_ipblock=pod_ip_in_ipblock)
    if not ports:
        write_matrix(analysis, output=output, style=style, pods=pods, max_rows=max_rows)
        return
    if output == "dot" or style != "rollout":
        raise InputError("--port writes the pod-pair matrix: -o table, json, csv or markdown")
    port_list = _ports(analysis, ports)
    if output in MACHINE_FORMATS:
        emit(as_format(output, report.matrix_json(analysis, port_list)))
    elif output == "csv":
        emit(report.matrix_csv(analysis, port_list), newline=False)
    elif output == "markdown":
        emit(report.matrix_markdown(analysis, port_list))
    else:
        _matrix_tables(analysis, port_list)


def _matrix_tables(analysis: Analysis, ports: list[tuple[int, str]]) -> None:
    from rich.table import Table

    console = _console()
    for port, proto in ports:
        console.print(f"[bold]{port}/{proto}[/]: may the row connect to the column?")
        table = Table(show_lines=False)
        if len(analysis.endpoints) <= GRID_LIMIT:
            keys, grid = report.matrix_grid(analysis, port, proto)
            table.add_column("from \\ to", style="bold")
            for i in range(len(keys)):
                table.add_column(str(i + 1), justify="center")
            for i, (key, row) in enumerate(zip(keys, grid, strict=True)):
                cells = ("[green]✓[/]" if c == report.ALLOW else "[red]✗[/]" for c in row)
                table.add_row(f"{i + 1} {key}", *cells)
        else:  # too wide for a grid: how many destinations each source reaches
            total = len(analysis.endpoints)
            table.add_column("from", style="bold")
            table.add_column("allowed", justify="right")
            table.add_column("denied", justify="right")
            for ep, ok in zip(analysis.endpoints, analysis.reach_counts(port, proto), strict=True):
                table.add_row(ep.key, str(ok), str(total - ok))
        console.print(table)


@examples(
    "rollout policy explain policies/ workloads --from frontend/web --to backend/api --port 8080",
    "rollout policy explain policies/ --from shop/web --to shop/db --port 5432 -o json",
)
@command.command(name="explain")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--from",
    "source",
    required=True,
    metavar="NS/NAME",
    help="Source pod or workload (or an external CIDR given with --external).",
)
@click.option(
    "--to",
    "destination",
    required=True,
    metavar="NS/NAME",
    help="Destination pod or workload, or a Service (explained per backend pod).",
)
@click.option("--port", required=True, metavar="PORT/PROTO", help="e.g. 5432/TCP")
@live_option
@config_option
@cluster_options
@external_option
@pod_ip_option
@output_option()
def explain_cmd(
    paths: tuple[str, ...],
    source: str,
    destination: str,
    port: str,
    live: str | None,
    config_path: Path,
    external: tuple[str, ...],
    pod_ip_in_ipblock: bool,
    output: str,
) -> None:
    """The verdict for one connection and why: policies and rules on each side."""
    number, proto = parse_port_arg(port)
    model = build_model(paths, live=live, config_path=config_path, externals=external)
    if model.has_endpoint(destination):
        targets = [(destination, number)]
    else:  # a Service: explain each backend pod on the port the Service targets
        backends = model.service_backends(destination, number, proto)
        if not backends:
            raise InputError(f"Service/{destination} selects no pod in the analysed manifests")
        targets = [(ep.key, target_port) for ep, target_port in backends]
    for key, target_port in targets:
        result = explain(
            model, source, key, target_port, proto, pod_ip_in_ipblock=pod_ip_in_ipblock
        )
        if output in MACHINE_FORMATS:
            click.echo(as_format(output, report.explanation_json(result)))
        else:
            click.echo(report.explanation_text(result))


command.add_command(diff_cmd)


# Registered here so `rollout policy` lists it; the module loads its adapters lazily.
from rollout.cli.policy_lint_cmd import lint_cmd  # noqa: E402

command.add_command(lint_cmd)
