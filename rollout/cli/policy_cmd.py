"""`rollout policy`: matrix, explain, diff and lint over the NetworkPolicy engine.

Each command is options -> one call -> one formatter; the engine is
`rollout.policy`, the formatters `rollout.policy.report`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from rollout.cli.actions import report_to_actions
from rollout.cli.exits import RolloutGroup
from rollout.cli.matrix_output import DEFAULT_MAX_ROWS, write_matrix
from rollout.cli.options import DEFAULT_CONFIG, config_option, load_settings
from rollout.cli.output import emit
from rollout.core.objects import Manifest
from rollout.errors import InputError
from rollout.manifests import C_LOADER, SLOW_LOADER, load_manifests, split_origins
from rollout.policy import (
    Analysis,
    ClusterModel,
    analyze,
    connectivity_diff,
    explain,
    lint,
    load_cluster,
    report,
)
from rollout.policy.portset import parse_port_arg
from rollout.render import is_kustomization

GRID_LIMIT = 30  # endpoints beyond which the table shows a per-source summary


def _console() -> Console:
    out = sys.stdout
    return Console(file=out, width=None if out.isatty() else 200, soft_wrap=False)


def _warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def _live_objects(env_name: str, config_path: Path) -> list[dict[str, Any]]:
    # The kubernetes client is imported only when --live asks for a cluster.
    from rollout.kube.client import api_client_for
    from rollout.kube.snapshot import read_snapshot

    settings = load_settings(config_path)
    envs = {e.name: e for e in settings.environments}
    if env_name not in envs:
        raise InputError(
            f"--live {env_name}: no such environment in {config_path} "
            f"(known: {', '.join(sorted(envs)) or 'none'})"
        )
    api = api_client_for(envs[env_name].cluster, pool_size=4)
    try:
        return read_snapshot(api)
    finally:
        api.close()


def load_paths(paths: Sequence[str], *, root: Path | None = None) -> list[Manifest]:
    """The manifests under `paths`, each as `rollout validate` would see it.

    A folder holding a kustomization is rendered with kustomize (its bases
    found from `root`: by default the nearest folder above it holding
    `rollout.yaml` or `.git`); anything else is read as plain YAML/JSON.
    Sources are relative to `root` when it is given. An object that two
    paths both yield (a base given beside its overlay) is kept once.
    """
    if not C_LOADER:
        _warn(SLOW_LOADER)
    found: list[Manifest] = []
    for raw in paths:
        path = Path(raw)
        if is_kustomization(path):
            from rollout.wiring import renderer  # the adapters, only when needed

            base = root or _repository_root(path)
            rendered = renderer().render(path.resolve(), root=base.resolve())
            shown = Path(os.path.relpath(base)) if root is None else None
            found += [_shown_from(m, shown) for m in rendered]
        else:
            found += load_manifests([path], root=root)
    return _without_repeats(found)


def _repository_root(path: Path) -> Path:
    for folder in path.resolve().parents:
        if (folder / "rollout.yaml").is_file() or (folder / ".git").exists():
            return folder
    return path.resolve().parent


def _shown_from(manifest: Manifest, folder: Path | None) -> Manifest:
    if folder is None or manifest.source is None:
        return manifest
    return replace(manifest, source=(folder / manifest.source).as_posix())


def _without_repeats(manifests: list[Manifest]) -> list[Manifest]:
    kept: list[Manifest] = []
    seen: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for manifest in manifests:
        obj = manifest.obj
        meta = obj.get("metadata")
        meta = meta if isinstance(meta, Mapping) else {}
        key = (str(obj.get("kind")), str(meta.get("namespace", "")), str(meta.get("name")))
        if seen.get(key) == obj:
            continue
        seen.setdefault(key, obj)
        kept.append(manifest)
    return kept


def build_model(
    paths: Sequence[str],
    *,
    live: str | None = None,
    config_path: Path = Path(DEFAULT_CONFIG),
    externals: Sequence[str] = (),
) -> ClusterModel:
    """Manifests under `paths` (+ a live snapshot of namespaces, pods, services)."""
    objects, origins = split_origins(load_paths(paths))
    if live:
        snapshot = _live_objects(live, config_path)
        objects += snapshot
        origins += [f"cluster {live}"] * len(snapshot)
    return load_cluster(objects, origins=origins, externals=externals)


def _ports(analysis: Analysis, given: Sequence[str]) -> list[tuple[int, str]]:
    return [parse_port_arg(p) for p in given] if given else analysis.default_ports()


_live_option = click.option(
    "--live", metavar="ENV", help="Add namespaces, pods and services read from ENV's cluster."
)
_external_option = click.option(
    "--external", multiple=True, metavar="CIDR", help="An external address to include."
)
_pod_ip_option = click.option(
    "--pod-ip-in-ipblock/--no-pod-ip-in-ipblock",
    default=True,
    show_default=True,
    help="Match pod IPs against ipBlocks (Calico: yes; Cilium default: no).",
)


@click.group(name="policy", cls=RolloutGroup)
def command() -> None:
    """Analyse NetworkPolicies: matrix, explain, diff, lint."""


@command.command()
@click.argument("paths", nargs=-1, required=True)
@_live_option
@config_option
@click.option(
    "--port",
    "ports",
    multiple=True,
    metavar="PORT/PROTO",
    help="One port to evaluate (repeatable): every ordered pod pair with `allowed` "
    "(a stable JSON contract). Default: workload rows with every allowed port.",
)
@_external_option
@_pod_ip_option
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "json", "csv", "markdown", "dot"]),
    default="table",
    show_default=True,
)
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
    if output == "json":
        emit(report.matrix_json(analysis, port_list))
    elif output == "csv":
        emit(report.matrix_csv(analysis, port_list), newline=False)
    elif output == "markdown":
        emit(report.matrix_markdown(analysis, port_list))
    else:
        _matrix_tables(analysis, port_list)


def _matrix_tables(analysis: Analysis, ports: list[tuple[int, str]]) -> None:
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
@_live_option
@config_option
@_external_option
@_pod_ip_option
@click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
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
        if output == "json":
            click.echo(report.explanation_json(result))
        else:
            click.echo(report.explanation_text(result))


def _revision_model(repo: str, rev: str, paths: Sequence[str]) -> ClusterModel:
    """The manifests under `paths` at revision `rev` (kustomizations rendered)."""
    from rollout.gitwatch import GitRepository

    git_repo = GitRepository(path=Path(repo))
    sha = git_repo.resolve(rev)
    with tempfile.TemporaryDirectory(prefix="netpol-rev-") as tmp:
        tree = Path(tmp)
        # The whole tree: an overlay's bases live beside it (../base).
        git_repo.export_tree(sha, tree)
        manifests = load_paths([str(tree / sub) for sub in paths] or [tmp], root=tree)
        objects, origins = split_origins(manifests)
        return load_cluster(objects, origins=[f"{rev}:{o}" if o else o for o in origins])


@command.command(name="diff")
@click.argument("paths", nargs=-1)
@click.option(
    "--rev",
    "revs",
    multiple=True,
    metavar="REV",
    help="Two revisions of the policy repo (--rev A --rev B) instead of OLD NEW; "
    "PATHs are then folders inside the repo.",
)
@click.option("--repo", default=".", show_default=True, help="Policy repository, for --rev.")
@click.option("--port", "ports", multiple=True, metavar="PORT/PROTO")
@_pod_ip_option
@click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
def diff_cmd(
    paths: tuple[str, ...],
    revs: tuple[str, ...],
    repo: str,
    ports: tuple[str, ...],
    pod_ip_in_ipblock: bool,
    output: str,
) -> None:
    """Connections opened and closed between OLD and NEW, with the policies responsible."""
    if revs:
        if len(revs) != 2:
            raise InputError("--rev: give exactly two revisions, --rev OLD --rev NEW")
        old = _revision_model(repo, revs[0], paths)
        new = _revision_model(repo, revs[1], paths)
    else:
        if len(paths) != 2:
            raise InputError("policy diff: give OLD and NEW folders (or --rev A --rev B)")
        old = build_model([paths[0]])
        new = build_model([paths[1]])
    port_list = [parse_port_arg(p) for p in ports] or None
    result = connectivity_diff(old, new, port_list, pod_ip_in_ipblock=pod_ip_in_ipblock)
    formatter = {"json": report.diff_json, "markdown": report.diff_markdown}.get(
        output, report.diff_text
    )
    emit(formatter(result))
    report_to_actions(
        "policy diff",
        report.diff_markdown(result),
        {"opened": len(result.opened), "closed": len(result.closed)},
    )


@command.command(name="lint")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--managed-namespace",
    "managed",
    multiple=True,
    metavar="NS",
    help="Namespace that must have default-deny baselines (repeatable).",
)
@_pod_ip_option
@click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
)
def lint_cmd(
    paths: tuple[str, ...], managed: tuple[str, ...], pod_ip_in_ipblock: bool, output: str
) -> None:
    """Findings with stable IDs; exit 1 when an error-level finding exists."""
    model = build_model(paths)
    findings = lint(model, managed or None, pod_ip_in_ipblock=pod_ip_in_ipblock)
    if output == "json":
        emit(report.findings_json(findings))
    elif output == "sarif":
        from rollout import __version__

        emit(report.findings_sarif(findings, __version__))
    else:
        emit(report.findings_text(findings))
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = sum(1 for f in findings if f.severity == "warning")
    report_to_actions(
        "policy lint",
        report.findings_markdown(findings),
        {"errors": errors, "warnings": warnings, "clean": not findings},
    )
    if errors:
        sys.exit(1)


# Registered here so `rollout policy` lists it; the module loads its adapters lazily.
from rollout.cli.policy_replay import replay_cmd  # noqa: E402

command.add_command(replay_cmd)
