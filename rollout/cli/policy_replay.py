"""`rollout policy replay`: which observed flows would a change cut, and which open?

Options -> one replay -> one formatter. The work is `rollout.flows` (pure)
and `rollout.flow_sources` (reading); git, kustomize and the kubernetes
client load only inside the command.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from rollout.cli.help_examples import examples
from rollout.cli.options import (
    MACHINE_FORMATS,
    as_format,
    cluster_options,
    config_option,
    output_option,
)
from rollout.cli.policy_inputs import live_objects
from rollout.errors import InputError
from rollout.flows import FlowAggregator, PodDirectory, replay, replay_summary
from rollout.flows.report import describe_flow, replay_csv, replay_header
from rollout.manifests import ParseCache
from rollout.policy import ClusterModel, load_cluster
from rollout.policy.model import WORKLOAD_KINDS


@examples(
    "rollout policy replay flows.jsonl --rev main --rev HEAD --path k8s/network-policies/staging",
    "rollout policy replay hubble.json --live production --rev HEAD --fail-on-cut",
)
@click.command(name="replay")
@click.argument("flows", nargs=-1, required=True)
@click.option(
    "--rev",
    "revs",
    multiple=True,
    metavar="REV",
    help="--rev BEFORE --rev AFTER: two revisions of the policy repo; with --live, "
    "one --rev AFTER is compared with the policies in the cluster.",
)
@click.option("--repo", default=".", show_default=True, help="The policy repository.")
@click.option(
    "--path",
    "paths",
    multiple=True,
    metavar="DIR",
    help="Folder inside the repo to read (repeatable; kustomizations are rendered); "
    "default: the whole repository.",
)
@click.option(
    "--live",
    metavar="ENV",
    help="Read ENV's cluster: pods resolve IPs and carry labels; its policies are BEFORE "
    "when one --rev is given.",
)
@config_option
@cluster_options
@click.option("--window", metavar="DURATION", help="Only flows seen this recently, e.g. 7d.")
@click.option(
    "--cluster-cidr",
    "cluster_cidrs",
    multiple=True,
    metavar="CIDR",
    help="Pod network: addresses in it that no pod holds are unresolvable, not external.",
)
@click.option(
    "--pod-ip-in-ipblock/--no-pod-ip-in-ipblock",
    default=True,
    show_default=True,
    help="Match pod IPs against ipBlocks (Calico: yes; Cilium default: no).",
)
@output_option("csv")
@click.option("--fail-on-cut", is_flag=True, help="Exit 1 when the change cuts an observed flow.")
def replay_cmd(
    flows: tuple[str, ...],
    revs: tuple[str, ...],
    repo: str,
    paths: tuple[str, ...],
    live: str | None,
    config_path: Path,
    window: str | None,
    cluster_cidrs: tuple[str, ...],
    pod_ip_in_ipblock: bool,
    output: str,
    fail_on_cut: bool,
) -> None:
    """Replay observed FLOWS (Hubble JSON, neutral CSV/JSON lines; files, globs, URLs).

    Each distinct flow is evaluated in both revisions, on the egress of its
    source and the ingress of its destination.
    """
    from rollout.cli.policy_diff_cmd import _revision_model
    from rollout.flow_sources import expand, read_into

    since, shown_window = _window(window)
    snapshot: list[dict[str, Any]] = []
    live_policies: list[dict[str, Any]] = []
    if live:
        for obj in live_objects(live, config_path, include_policies=True):
            (live_policies if obj.get("kind") == "NetworkPolicy" else snapshot).append(obj)
    if len(revs) == 2:
        cache = ParseCache()  # what the revisions share is parsed once
        before = _with_live(_revision_model(repo, revs[0], paths, cache), snapshot, [])
        after = _with_live(_revision_model(repo, revs[1], paths, cache), snapshot, [])
    elif len(revs) == 1 and live:
        after_repo = _revision_model(repo, revs[0], paths)
        before = _with_live(after_repo, snapshot, live_policies, keep_policies=False)
        after = _with_live(after_repo, snapshot, [])
    else:
        raise InputError("policy replay: give --rev BEFORE --rev AFTER, or --live ENV --rev AFTER")
    directory = PodDirectory(
        snapshot + _declared_workloads(before) + _declared_workloads(after),
        cluster_cidrs=cluster_cidrs,
    )
    aggregator = FlowAggregator(directory, since=since)
    read_into(aggregator, expand(flows))
    observed = aggregator.result()
    result = replay(observed.flows, before, after, pod_ip_in_ipblock=pod_ip_in_ipblock)
    summary = replay_summary(result, observed, window=shown_window)
    if output in MACHINE_FORMATS:
        click.echo(as_format(output, json.dumps(summary, indent=2)))
    elif output == "csv":
        click.echo(replay_csv(summary), nl=False)
    else:
        _table(summary)
    if fail_on_cut and summary["cut"]:
        sys.exit(1)


def _window(text: str | None) -> tuple[datetime | None, str | None]:
    if text is None:
        return None, None
    from rollout.config.schema.types import parse_duration

    try:
        span: timedelta = parse_duration(text)
    except ValueError as exc:
        raise InputError(f"--window: {exc}") from None
    return datetime.now(UTC) - span, text


def _with_live(
    model: ClusterModel,
    snapshot: Sequence[Mapping[str, Any]],
    policies: Sequence[Mapping[str, Any]],
    *,
    keep_policies: bool = True,
) -> ClusterModel:
    """The revision's model plus the cluster's namespaces and pods (and its policies)."""
    if not snapshot and not policies and keep_policies:
        return model
    live = load_cluster([*snapshot, *policies])
    known = {ep.key for ep in live.endpoints}
    namespaces = dict(live.namespaces)
    for name, ns in model.namespaces.items():
        if ns.declared or name not in namespaces:
            namespaces[name] = ns
    return ClusterModel(
        namespaces=namespaces,
        endpoints=(*live.endpoints, *(e for e in model.endpoints if e.key not in known)),
        services=(*live.services, *model.services),
        policies=(*(model.policies if keep_policies else ()), *live.policies),
    )


def _declared_workloads(model: ClusterModel) -> list[dict[str, Any]]:
    return [
        {"kind": ep.kind, "metadata": {"name": ep.name, "namespace": ep.namespace}}
        for ep in model.endpoints
        if ep.kind in WORKLOAD_KINDS
    ]


def _table(summary: Mapping[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    out = sys.stdout
    console = Console(file=out, width=None if out.isatty() else 200, soft_wrap=False)
    for line in replay_header(summary):
        console.print(line, highlight=False)
    for change, title, style in (
        ("cut", "Newly denied (cut) by the change", "red"),
        ("opened", "Newly allowed by the change", "green"),
    ):
        items = summary[change]
        table = Table(title=f"{title}: {len(items)}", title_style=f"bold {style}")
        for column in ("flow", "reason"):
            table.add_column(column)
        for item in items:
            table.add_row(describe_flow(item), item["reason"])
        console.print(table)
    for u in summary["unresolved"]:
        console.print(f"unresolved ({u['count']:,} records): {u['flow']}", highlight=False)
    for u in summary["unevaluated"]:
        console.print(
            f"not evaluated ({u['count']:,}): {u['flow']}: {u['reason']}", highlight=False
        )
