"""`rollout apply`: make an environment's cluster match a revision (also rollback)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from rollout.cli.actions import report_to_actions
from rollout.cli.help_examples import examples
from rollout.cli.options import MACHINE_FORMATS
from rollout.cli.revision_common import (
    change_json,
    cluster,
    console,
    echo_json,
    load_target,
    print_plan,
    revision_options,
    summary_line,
)
from rollout.core.plan import Write
from rollout.errors import ApplyError, ValidationError
from rollout.revision import apply_revision
from rollout.wiring import commit_signature, open_state_store, state_for


def _now() -> datetime:
    return datetime.now(UTC)


@examples(
    "rollout apply --env staging",
    "rollout apply --env production --rev 4f2a9c1   # roll back to an earlier revision",
    "rollout apply --env staging -o json",
)
@click.command(name="apply")
@revision_options
def command(config_path: Path, env_name: str, rev: str | None, output: str) -> None:
    """Apply a revision to an environment; `--rev` an earlier sha to roll back."""
    target = load_target(config_path, env_name, rev)
    env, rendered = target.env, target.rendered
    if env.require_signed_commits:
        # The same rule as the service's: by hand, too, only signed commits land here.
        signature = commit_signature(
            target.settings, target.git, rendered.sha, base_dir=config_path.resolve().parent
        )
        if signature is None or not signature.verified:
            why = signature.describe() if signature else "signatures are not checked"
            raise ValidationError(
                f"{why}; {env.name} accepts only commits signed by a key in "
                "repository.signing_keys: nothing was applied"
            )
    out = console()
    text = output == "table"
    done = 0

    def progress(write: Write, refusal: Any) -> None:
        nonlocal done
        done += 1
        if text and refusal is not None:
            out.print(f"[red]refused[/] {refusal}")

    rollout_id = uuid.uuid4().hex
    with cluster(env) as adapter:
        report = apply_revision(
            adapter,
            state_for(env, adapter),
            env,
            rendered,
            now=_now,
            rollout_id=rollout_id,
            on_write=progress,
        )
        writes = adapter.client.writes
    if report.status != "failed":
        store = open_state_store(target.settings, _now)
        try:
            last = store.last_deployment(env.name)
            if last is None or last.commit_sha != rendered.sha:
                store.record_deployment(env.name, rendered.sha, report.content_hash)
        finally:
            store.close()
    report_to_actions(
        "apply",
        f"{summary_line(report.plan)}\n\nstatus: **{report.status}**",
        {"sha": rendered.sha, "previous_sha": report.previous_sha or "", "status": report.status},
    )
    if output in MACHINE_FORMATS:
        echo_json(
            {
                "environment": env.name,
                "sha": rendered.sha,
                "previous_sha": report.previous_sha,
                "status": report.status,
                "recorded": report.recorded,
                "counts": report.plan.counts,
                "changes": [change_json(c) for c in report.plan.changes],
                "refused": [{"object": str(k), "reason": r} for k, r in report.refused],
                "requests_written": writes,
            },
            output,
        )
    else:
        out.print(
            f"apply [bold]{rendered.sha[:12]}[/] to [bold]{env.name}[/] "
            f"(was {report.previous_sha[:12] if report.previous_sha else 'nothing'})"
        )
        print_plan(out, report.plan)
    if report.status == "failed":
        raise ApplyError(
            f"{len(report.refused)} object(s) of {rendered.sha[:12]} did not land in {env.name}; "
            "the revision is not recorded as deployed (re-run to converge)",
            details=[f"{k}: {r}" for k, r in report.refused],
        )
    if text:
        verb = "applied" if report.status == "applied" else "already up to date"
        out.print(f"[green]{verb}[/]: {env.name} is at {rendered.sha[:12]}")
