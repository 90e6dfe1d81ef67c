"""Shared by `rollout validate`, `plan` and `apply`: options, adapters, output."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from rollout.cli.options import (
    as_format,
    cluster_options,
    config_option,
    env_option,
    load_settings,
    output_option,
)
from rollout.config.schema import Environment, Settings
from rollout.core.plan import Action, Change, Plan
from rollout.gitwatch import GitRepository
from rollout.kube.apply import KubeCluster
from rollout.revision import (
    RenderedRevision,
    render_revision,
    render_worktree,
    resolve_revision,
)
from rollout.wiring import cluster_for, git_for, renderer

F = TypeVar("F", bound=Callable[..., Any])


def revision_options(func: F) -> F:
    """--config, --env, --rev, -o: the options every revision command takes."""
    func = output_option()(func)
    func = click.option(
        "--rev", default=None, help="Commit, tag or branch (default: branch head)."
    )(func)
    return config_option(env_option(cluster_options(func)))


@dataclass
class Target:
    settings: Settings
    env: Environment
    rendered: RenderedRevision
    git: GitRepository
    checked: str = ""
    """What was rendered, for people: `commit 1a2b3c4d5e6f`, `the working tree of ...`."""


def load_target(
    config_path: Path, env_name: str, rev: str | None, *, worktree: bool = False
) -> Target:
    """Load the configuration, resolve and render the revision (static checks included).

    With `worktree` (and no `rev`), a repository given by `path` is rendered
    from its files as they are, uncommitted edits included.
    """
    settings = load_settings(config_path)
    env = settings.target(env_name)  # a fleet's cluster: ENV/CLUSTER
    git = git_for(settings.repository, base_dir=config_path.resolve().parent)
    git.fetch()
    if worktree and rev is None and settings.repository.url is None:
        head = git.resolve("HEAD")
        edited = git.uncommitted(under=settings.repository.subdirectory)
        rendered = render_worktree(git.path, renderer(), settings.repository, env, head_sha=head)
        state = (
            f"with {len(edited)} uncommitted change(s): {', '.join(edited[:5])}"
            + (", ..." if len(edited) > 5 else "")
            if edited
            else f"(no uncommitted changes; HEAD is {head[:12]})"
        )
        return Target(settings, env, rendered, git, f"the working tree {git.path} {state}")
    sha = resolve_revision(git, settings.repository, rev)
    rendered = render_revision(git, renderer(), settings.repository, env, sha)
    what = f"commit {sha[:12]}" + (
        f" ({rev})" if rev else f" (head of branch {settings.repository.branch})"
    )
    return Target(settings, env, rendered, git, what)


@contextmanager
def cluster(env: Environment) -> Iterator[KubeCluster]:
    adapter = cluster_for(env)
    try:
        yield adapter
    finally:
        adapter.close()


def console() -> Console:
    return Console(highlight=False, soft_wrap=True)


_MARK = {
    Action.CREATE: ("+", "green"),
    Action.UPDATE: ("~", "yellow"),
    Action.DELETE: ("-", "red"),
    Action.UNCHANGED: ("=", "dim"),
}


def print_plan(out: Console, plan: Plan, *, verbose_unchanged: bool = False) -> None:
    """Per-object lines, field diffs, drift marks, warnings, then the counts."""
    for change in plan.changes:
        if change.action is Action.UNCHANGED and not verbose_unchanged:
            continue
        mark, style = _MARK[change.action]
        done = "deleted" if change.action is Action.CREATE else "edited"
        drift = f" [bold magenta](drift: {done} outside netpol-rollout)[/]" if change.drift else ""
        src = f" [dim]{escape(change.source)}[/]" if change.source else ""
        out.print(
            f"[{style}]{mark} {change.action.value:<9} {escape(str(change.key))}[/]{src}{drift}"
        )
        for fc in change.diff:
            out.print(
                f"      {escape(fc.path)}: [red]{escape(_short(fc.before))}[/] -> "
                f"[green]{escape(_short(fc.after))}[/]"
            )
    for warning in plan.warnings:
        out.print(f"[yellow]warning:[/] {escape(warning)}")
    if not plan.pruning:
        out.print("[dim]pruning is off for this environment[/]")
    out.print(summary_line(plan))


def summary_line(plan: Plan) -> str:
    c = plan.counts
    return (
        f"{c['create']} to create, {c['update']} to change, {c['delete']} to delete, "
        f"{c['unchanged']} unchanged" + (f" ({len(plan.drifted)} drifted)" if plan.drifted else "")
    )


def _short(value: Any) -> str:
    text = "(absent)" if value is None else json.dumps(value, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."


def change_json(change: Change) -> dict[str, Any]:
    return {
        "object": str(change.key),
        "action": change.action.value,
        "source": change.source,
        "drift": change.drift,
        "diff": [{"path": f.path, "before": f.before, "after": f.after} for f in change.diff],
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "counts": plan.counts,
        "changes": [change_json(c) for c in plan.changes],
        "order": [
            {
                "phase": s.phase.name.lower(),
                "writes": [
                    {"object": str(w.change.key), "delete": w.is_delete, "interim": w.interim}
                    for w in s.writes
                ],
            }
            for s in plan.steps
        ],
        "warnings": list(plan.warnings),
        "pruning": plan.pruning,
    }


def echo_json(data: Any, output: str = "json") -> None:
    """`data` as JSON (or YAML with `output="yaml"`) on standard output."""
    click.echo(as_format(output, json.dumps(data, indent=2, sort_keys=True, default=str)))
