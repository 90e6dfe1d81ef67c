"""`rollout validate`: render, check statically, then a server-side dry run."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from rollout.cli.actions import report_to_actions
from rollout.cli.help_examples import examples
from rollout.cli.options import MACHINE_FORMATS
from rollout.cli.revision_common import (
    cluster,
    console,
    echo_json,
    load_target,
    revision_options,
)
from rollout.core.objects import ObjectKey
from rollout.revision import validate_revision


@examples(
    "rollout validate --env staging",
    "rollout validate --env production --offline --rev HEAD",
    "rollout validate --env staging -o json",
)
@click.command(name="validate")
@revision_options
@click.option("--offline", is_flag=True, help="Skip the server-side dry run.")
def command(config_path: Path, env_name: str, rev: str | None, output: str, offline: bool) -> None:
    """Render and validate a revision for an environment (nothing is written).

    A repository given by `path` is checked as its files are now, edits not
    yet committed included; `--rev` checks a commit (a repository given by
    `url`: the branch head by default). The output says which it checked.
    """
    target = load_target(config_path, env_name, rev, worktree=True)
    deferred: list[ObjectKey] = []
    if not offline:
        with cluster(target.env) as adapter:
            deferred = validate_revision(adapter, target.rendered)
    rendered = target.rendered
    report_to_actions(
        "validate",
        f"{len(rendered.desired)} objects of {target.checked} for {rendered.environment} are valid",
        {"sha": rendered.sha, "objects": len(rendered.desired), "valid": True},
    )
    if output in MACHINE_FORMATS:
        echo_json(
            {
                "environment": rendered.environment,
                "sha": rendered.sha,
                "checked": target.checked,
                "objects": len(rendered.desired),
                "content_hash": rendered.content_hash,
                "dry_run": not offline,
                "deferred": [str(k) for k in deferred],
                "valid": True,
            },
            output,
        )
        return
    checks = (
        "static checks (the apiserver's rules, offline)"
        if offline
        else "static checks and a server-side dry run"
    )
    console().print(
        f"[green]valid:[/] {len(rendered.desired)} objects of {escape(target.checked)} for "
        f"{rendered.environment} passed {checks}"
    )
    if deferred:
        namespaces = sorted({k.namespace for k in deferred})
        console().print(
            f"[yellow]note:[/] {len(deferred)} object(s) in namespace(s) "
            f"{', '.join(namespaces)} that this revision creates are checked when "
            "`rollout apply` has created them"
        )
