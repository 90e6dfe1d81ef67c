"""The rollouts page: environments and what runs there, active rollouts, history.

What a rollout waits for and the stages it passed come from
:mod:`rollout.server.dashboard.progress`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol
from zoneinfo import ZoneInfo

from rollout.core.lifecycle import ACTIVE, TERMINAL, State
from rollout.fleet_view import fleet_status_of
from rollout.server.context import ServerContext, ServerStore
from rollout.server.dashboard.markup import esc, short_sha, state_badge, table, when
from rollout.server.dashboard.progress import Waiting
from rollout.store.records import DeploymentRecord, RolloutRecord


class DashboardStore(ServerStore, Protocol):
    """The store as the dashboard reads it (`rollout.store.Store` satisfies it)."""

    def last_deployment(
        self, environment: str, status: str = "applied"
    ) -> DeploymentRecord | None: ...

    def deployments(self, environment: str, limit: int = 100) -> list[DeploymentRecord]: ...

    def latest_fleet_rollout(self, environment: str) -> str | None: ...


def deployed_by(store: DashboardStore, deployed: DeploymentRecord) -> str:
    """Which rollout put this revision there; a rollback says so and names both rollouts.

    The engine records the revision a rollback restores under the rollout that
    failed (it did the rollback), so that rollout's own commit tells them apart.
    """
    if not deployed.rollout_id:
        return "— (outside a rollout)"
    link = rollout_id_link(deployed.rollout_id)
    owner = store.get_rollout(deployed.rollout_id)
    if owner is None or owner.commit_sha == deployed.commit_sha:
        return link
    first = next(
        (
            d
            for d in store.deployments(deployed.environment, limit=50)
            if d.commit_sha == deployed.commit_sha
            and d.rollout_id != deployed.rollout_id
            and d.applied_at <= deployed.applied_at
        ),
        None,
    )
    text = f"restored by the rollback of {link}, which failed"
    if first is not None and first.rollout_id:
        text += f"; first deployed by {rollout_id_link(first.rollout_id)}"
    return text


def _values(states: Collection[State]) -> list[str]:
    return sorted(s.value for s in states)


def rollout_id_link(rollout_id: str) -> str:
    return f'<a href="/rollouts/{esc(rollout_id)}"><code>{esc(rollout_id)}</code></a>'


def rollout_link(rollout: RolloutRecord) -> str:
    return rollout_id_link(rollout.id)


def _fleet_revisions(
    ctx: ServerContext, store: DashboardStore, environment: str, deployed: DeploymentRecord | None
) -> list[str] | None:
    """Deployed, since and by-rollout cells of a fleet whose clusters do not all run
    the deployed revision (a wave still to come, a hold between waves); else None."""
    rollout_id = store.latest_fleet_rollout(environment)
    if rollout_id is None:
        return None
    rows = store.fleet_clusters(rollout_id, environment)
    status = fleet_status_of(ctx.settings, environment, rows, ctx.clock())
    if status is None:
        return None
    revisions = status.revisions()
    if deployed is not None and list(revisions) == [deployed.commit_sha]:
        return None
    labels = {"changing": "changing", "none": "nothing of ours"}
    lines = [
        f"{labels.get(rev) or short_sha(rev)} on {esc(', '.join(clusters))}"
        for rev, clusters in revisions.items()
    ]
    return ["<br>".join(lines), "—", f"per cluster, as of {rollout_id_link(rollout_id)}"]


def overview_html(ctx: ServerContext, store: DashboardStore, waiting: Waiting, tz: ZoneInfo) -> str:
    """The rollouts page body (also served as the live-update fragment)."""
    now = ctx.clock()
    env_rows = []
    for env in ctx.settings.environments:
        deployed = store.last_deployment(env.name)
        hold = store.hold_of(env.name)
        held = (
            f'<span class="state state-held">held</span> {esc(hold.reason or "")}'
            if hold is not None and hold.held
            else "no hold"
        )
        row = [
            f"<strong>{esc(env.name)}</strong>",
            short_sha(deployed.commit_sha) if deployed else "nothing deployed yet",
            when(deployed.applied_at, tz) if deployed else "—",
            deployed_by(store, deployed) if deployed else "—",
            held,
        ]
        if env.is_fleet:
            row[1:4] = _fleet_revisions(ctx, store, env.name, deployed) or row[1:4]
        env_rows.append(row)
    active = store.list_rollouts(states=_values(ACTIVE), limit=100)
    active_rows = [
        [
            rollout_link(r),
            f"{short_sha(r.commit_sha)} {esc(r.message.splitlines()[0] if r.message else '')}"
            f"<br><small>by {esc(r.author)}</small>",
            esc(r.environment),
            f'<span class="stage" data-rollout="{esc(r.id)}" data-state="{esc(r.state)}">'
            f"{state_badge(r.state)}</span>",
            waiting.reason(r, now, tz),
        ]
        for r in reversed(active)  # oldest first: the front of the queue on top
    ]
    history = store.list_rollouts(states=_values(TERMINAL), limit=15)
    history_rows = [
        [
            rollout_link(r),
            f"{short_sha(r.commit_sha)} {esc(r.message.splitlines()[0] if r.message else '')}",
            esc(r.environment),
            f'<span class="stage" data-rollout="{esc(r.id)}" data-state="{esc(r.state)}">'
            f"{state_badge(r.state)}</span>",
            esc(r.reason or ""),
            when(r.updated_at, tz),
        ]
        for r in history
    ]
    rollbacks = list(reversed(store.events(kinds=["rollback"], limit=10)))
    rollback_rows = [
        [
            when(e.at, tz),
            esc(e.environment or ""),
            f'<a href="/rollouts/{esc(e.rollout_id)}"><code>{esc(e.rollout_id)}</code></a>'
            if e.rollout_id
            else "—",
            short_sha(str(e.details.get("to") or "")) if e.details.get("to") else "nothing",
            esc(e.details.get("summary") or ""),
        ]
        for e in rollbacks
    ]
    return (
        '<section aria-labelledby="h-envs"><h2 id="h-envs">Environments</h2>'
        + table(
            "Deployed revision per environment",
            ["environment", "deployed", "since", "by rollout", "hold"],
            env_rows,
            class_="envs",
        )
        + '</section><section aria-labelledby="h-active"><h2 id="h-active">'
        "Active and queued rollouts</h2>"
        + table(
            "Active and queued rollouts, oldest first",
            ["rollout", "commit", "environment", "stage", "waiting for"],
            active_rows,
            class_="active",
        )
        + '</section><section aria-labelledby="h-history"><h2 id="h-history">Recent history</h2>'
        + table(
            "Finished rollouts, newest first",
            ["rollout", "commit", "environment", "result", "reason", "when"],
            history_rows,
            class_="history",
        )
        + table("Rollbacks", ["when", "environment", "rollout", "back to", "result"], rollback_rows)
        + "</section>"
    )
