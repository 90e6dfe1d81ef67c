"""`rollout plan`: what an apply would create, change and delete (drift included)."""

from __future__ import annotations

from pathlib import Path

import click

from rollout.cli.revision_common import (
    cluster,
    console,
    echo_json,
    load_target,
    plan_json,
    print_plan,
    revision_options,
)
from rollout.kube.state import StateConfigMap
from rollout.revision import plan_revision


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
    # TODO(lead): add the connectivity diff (rollout.policy.connectivity_diff needs
    # pods/endpoints in the model; wire it once the smoke-test inventory exists).
    if output == "json":
        data = plan_json(plan)
        data.update(
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
