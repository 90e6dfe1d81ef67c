"""`rollout plan`: what an apply would create, change and delete (drift included)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape

from rollout.cli.actions import report_to_actions
from rollout.cli.revision_common import (
    cluster,
    console,
    echo_json,
    load_target,
    plan_json,
    print_plan,
    revision_options,
    summary_line,
)
from rollout.kube.state import StateConfigMap
from rollout.policy.report import diff_json, diff_markdown, diff_text
from rollout.revision import plan_revision, render_revision
from rollout.wiring import connectivity_change, live_snapshot, renderer


@click.command(name="plan")
@revision_options
@click.option("--all", "show_all", is_flag=True, help="List unchanged objects too.")
def command(config_path: Path, env_name: str, rev: str | None, output: str, show_all: bool) -> None:
    """Show what an apply would change, including changes made by hand (drift)."""
    target = load_target(config_path, env_name, rev)
    env, rendered = target.env, target.rendered
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
    diff = connectivity_change(live_snapshot(env), old, rendered)
    report_to_actions(
        "plan",
        f"{summary_line(plan)}\n\n{diff_markdown(diff)}",
        {
            **plan.counts,
            "sha": rendered.sha,
            "opened": len(diff.opened),
            "closed": len(diff.closed),
        },
    )
    if output == "json":
        data = plan_json(plan)
        data.update(
            connectivity=json.loads(diff_json(diff)),
            environment=env.name,
            sha=rendered.sha,
            deployed_sha=deployed.commit_sha if deployed else None,
        )
        echo_json(data)
        return
    out = console()
    was = deployed.commit_sha[:12] if deployed and deployed.commit_sha else "nothing recorded"
    out.print(f"plan for [bold]{env.name}[/]: {rendered.sha[:12]} (deployed: {was})")
    print_plan(out, plan, verbose_unchanged=show_all)
    out.print("\n[bold]connectivity[/] (live endpoints, deployed revision -> this one)")
    out.print(escape(diff_text(diff)))
