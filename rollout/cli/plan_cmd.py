"""`rollout plan`: what an apply would create, change and delete (drift included)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from rollout.cli.actions import report_to_actions
from rollout.cli.help_examples import examples
from rollout.cli.options import MACHINE_FORMATS, load_settings
from rollout.cli.revision_common import (
    Target,
    cluster,
    console,
    echo_json,
    load_target,
    plan_json,
    print_plan,
    revision_options,
    summary_line,
)
from rollout.config.schema import Environment, Settings
from rollout.core.plan import Plan, mark_deleted_by_hand
from rollout.flows import cut_sentence
from rollout.flows.report import replay_text
from rollout.kube.state import StateConfigMap
from rollout.policy import ConnectivityDiff, load_cluster
from rollout.policy.diff_workloads import workload_diff_markdown as diff_markdown
from rollout.policy.diff_workloads import workload_diff_text as diff_text
from rollout.policy.report import diff_json
from rollout.revision import RenderedRevision, plan_revision, read_workloads, render_revision
from rollout.signatures import CommitSignature
from rollout.wiring import (
    commit_signature,
    connectivity_change,
    live_snapshot,
    observed_flows_replay,
    renderer,
    unjudged_namespaces,
)


@examples(
    "rollout plan --env staging",
    "rollout plan --env production --rev HEAD -o json",
    "rollout plan --env staging --all",
)
@click.command(name="plan")
@revision_options
@click.option("--all", "show_all", is_flag=True, help="List unchanged objects too.")
def command(config_path: Path, env_name: str, rev: str | None, output: str, show_all: bool) -> None:
    """Show what an apply would change, including changes made by hand (drift).

    A fleet environment is planned cluster by cluster (each with its own live
    state and overlay); clusters whose plan and connectivity diff are the
    same are shown once, together.
    """
    settings = load_settings(config_path)
    env = settings.target(env_name)
    if "/" not in env_name and env.is_fleet:
        names = [f"{env.name}/{c.name}" for c in env.clusters or ()]
        results = [_plan_target(config_path, name, rev) for name in names]
    else:
        results = [_plan_target(config_path, env_name, rev)]
    groups: dict[str, list[PlanResult]] = {}
    for result in results:
        groups.setdefault(result.fingerprint(), []).append(result)
    for members in groups.values():
        _report_to_actions(members)
    if output in MACHINE_FORMATS:
        if len(results) == 1:
            echo_json(results[0].data, output)
            return
        echo_json(
            {
                "environment": env.name,
                "groups": [
                    {"clusters": [m.name for m in members], **members[0].data}
                    for members in groups.values()
                ],
            },
            output,
        )
        return
    out = console()
    for index, members in enumerate(groups.values()):
        if index:
            out.print("")
        _print_result(out, members, show_all)


@dataclass
class PlanResult:
    """One target's plan: the rendered revision, what an apply does, the diff."""

    name: str
    target: Target
    plan: Plan
    deployed_sha: str | None
    signature: CommitSignature | None
    diff: ConnectivityDiff
    unjudged: list[str]
    replayed: dict[str, Any] | None
    data: dict[str, Any]

    def fingerprint(self) -> str:
        """Equal for clusters whose plan, deployed revision and diff are the same."""
        same = {k: v for k, v in self.data.items() if k not in ("environment", "signature")}
        return json.dumps(same, sort_keys=True, default=str)


def _plan_target(config_path: Path, name: str, rev: str | None) -> PlanResult:
    target = load_target(config_path, name, rev)
    env, rendered = target.env, target.rendered
    signature = commit_signature(
        target.settings, target.git, rendered.sha, base_dir=config_path.resolve().parent
    )
    with cluster(env) as adapter:
        plan = plan_revision(adapter, env, rendered)
        deployed = StateConfigMap(
            adapter.client, namespace=env.state_namespace, environment=env.name
        ).read()
    deployed_sha = deployed.commit_sha if deployed and deployed.commit_sha else None
    old = (
        render_revision(target.git, renderer(), target.settings.repository, env, deployed_sha)
        if deployed_sha
        else None
    )
    if old is not None:
        plan = mark_deleted_by_hand(plan, (d.key for d in old.desired))
    workloads = read_workloads(target.git, env, rendered.sha) if env.workloads else None
    live = live_snapshot(env, old, rendered, workloads=workloads)
    diff = connectivity_change(live, old, rendered)
    unjudged = unjudged_namespaces(live, old, rendered)
    replayed = _observed(env, live, old, rendered)
    data = plan_json(plan)
    data.update(
        connectivity={**json.loads(diff_json(diff)), "not_judged": unjudged},
        environment=name,
        sha=rendered.sha,
        deployed_sha=deployed_sha,
        signature=signature.to_json() if signature is not None else None,
        observed_flows=replayed,
    )
    return PlanResult(name, target, plan, deployed_sha, signature, diff, unjudged, replayed, data)


def _not_judged(result: PlanResult) -> str:
    if not result.unjudged:
        return ""
    return (
        f"Not judged in {', '.join(result.unjudged)}: the policies there change, but no pod "
        "runs there, and the connectivity diff compares verdicts between running pods."
    )


def _report_to_actions(members: list[PlanResult]) -> None:
    result = members[0]
    cut = cut_sentence(result.replayed) if result.replayed else None
    where = f"**{', '.join(m.name for m in members)}**\n\n" if "/" in result.name else ""
    report_to_actions(
        "plan",
        f"{where}{summary_line(result.plan)}\n\n"
        f"{_connectivity(diff_markdown(result.diff), result.diff, _not_judged(result))}"
        + (f"\n\n**Observed traffic:** {cut}" if cut else ""),
        {
            **result.plan.counts,
            "sha": result.target.rendered.sha,
            "opened": len(result.diff.opened),
            "closed": len(result.diff.closed),
            **({"cut_flows": len(result.replayed["cut"])} if result.replayed else {}),
        },
    )


def _print_result(out: Console, members: list[PlanResult], show_all: bool) -> None:
    result = members[0]
    env, rendered = result.target.env, result.target.rendered
    was = result.deployed_sha[:12] if result.deployed_sha else "nothing recorded"
    names = ", ".join(m.name for m in members)
    same = f" ({len(members)} clusters, the same plan)" if len(members) > 1 else ""
    out.print(f"plan for [bold]{escape(names)}[/]{same}: {rendered.sha[:12]} (deployed: {was})")
    if result.signature is not None:
        out.print(signature_line(result.signature, result.target.settings))
    print_plan(out, result.plan, verbose_unchanged=show_all)
    out.print("\n[bold]connectivity[/] (live endpoints, deployed revision -> this one)")
    out.print(escape(_connectivity(diff_text(result.diff), result.diff, _not_judged(result))))
    if result.replayed and env.observed_flows is not None:
        sources = ", ".join(env.observed_flows.sources)
        out.print(f"\n[bold]observed flows[/] ({escape(sources)})")
        out.print(escape(replay_text(result.replayed)))


def _connectivity(text: str, diff: ConnectivityDiff, not_judged: str) -> str:
    """The diff, and what it could not judge; never "no change" when it cannot tell."""
    if not not_judged:
        return text
    return not_judged if diff.empty else f"{text}\n{not_judged}"


def _observed(
    env: Environment,
    live: list[dict[str, Any]],
    old: RenderedRevision | None,
    new: RenderedRevision,
) -> dict[str, Any] | None:
    """The environment's observed flows replayed from the deployed revision to this one."""
    if env.observed_flows is None:
        return None
    before = load_cluster(live + ([dict(m.obj) for m in old.manifests] if old else []))
    after = load_cluster(live + [dict(m.obj) for m in new.manifests])
    return observed_flows_replay(env.observed_flows, live, before, after)


def signature_line(signature: CommitSignature, settings: Settings) -> str:
    """`signed by ...` in green, or why not in red with what it means for a rollout."""
    if signature.verified:
        return f"[green]{escape(signature.describe())}[/]"
    requiring = [env.name for env in settings.environments if env.require_signed_commits]
    consequence = (
        f"; {', '.join(requiring)} takes only signed commits: a rollout of it stops before staging"
        if requiring
        else ""
    )
    return f"[red]signature: {escape(signature.describe())}{escape(consequence)}[/]"
