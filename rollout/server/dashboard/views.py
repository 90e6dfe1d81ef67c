"""What the pages show, gathered from the store, the approval rules and the windows.

Shared by the rollouts page (and its live fragment) and the rollout page:
the stage a rollout is at, and why it waits (approvals missing and from
whom, a hold, the next usable window).
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from rollout.core.lifecycle import ACTIVE, TERMINAL, State
from rollout.core.windows import GateRules, current_or_next_window
from rollout.errors import RolloutError
from rollout.server.context import ServerContext, ServerStore
from rollout.server.dashboard.markup import esc, short_sha, state_badge, table, when
from rollout.store.records import DeploymentRecord, RolloutRecord
from rollout.windows_rules import SettingsWindowGate

STAGES: tuple[tuple[State, str], ...] = (
    (State.DETECTED, "detected"),
    (State.VALIDATED, "validated"),
    (State.STAGING_APPLIED, "staging applied"),
    (State.STAGING_VERIFIED, "staging verified"),
    (State.AWAITING_APPROVAL, "awaiting approval"),
    (State.APPROVED, "approved"),
    (State.SCHEDULED, "scheduled"),
    (State.PRODUCTION_APPLIED, "applied"),
    (State.PRODUCTION_VERIFIED, "verified"),
    (State.DONE, "done"),
)
FAILED = {State.INVALID, State.STAGING_FAILED, State.PRODUCTION_FAILED, State.REJECTED}


class DashboardStore(ServerStore, Protocol):
    """The store as the dashboard reads it (`rollout.store.Store` satisfies it)."""

    def last_deployment(
        self, environment: str, status: str = "applied"
    ) -> DeploymentRecord | None: ...


def stage_steps(rollout: RolloutRecord) -> str:
    """An ordered list of stages with the current one marked (`aria-current="step"`)."""
    try:
        state = State(rollout.state)
    except ValueError:
        return state_badge(rollout.state)
    order = [s for s, _ in STAGES]
    current = order.index(state) if state in order else -1
    items = []
    for index, (_stage, label) in enumerate(STAGES):
        cls = "done" if current > index or state == State.DONE else "todo"
        extra = ""
        if index == current:
            cls, extra = "current", ' aria-current="step"'
        items.append(f'<li class="step step-{cls}"{extra}>{esc(label)}</li>')
    tail = ""
    if current < 0:
        tail = f'<li class="step step-end" aria-current="step">{state_badge(rollout.state)}</li>'
    return f'<ol class="stages" aria-label="Stages">{"".join(items)}{tail}</ol>'


class Waiting:
    """Why a rollout waits; window rules are cached per environment and year."""

    def __init__(self, ctx: ServerContext) -> None:
        self._ctx = ctx
        self._gate = SettingsWindowGate(ctx.settings)

    def rules(self, environment: str, now: datetime) -> GateRules:
        """The window rules of `environment` (ConfigError for an unknown one)."""
        return self._gate.rules(environment, now)

    def window_text(self, environment: str, now: datetime, tz: ZoneInfo) -> str:
        try:
            window = current_or_next_window(self._gate.rules(environment, now), now)
        except RolloutError as exc:
            return esc(exc.message)
        if window is None:
            return "no usable window in the coming year"
        if window.start <= now:
            return f"window open now, until {when(window.end, tz)}"
        return f"next window {when(window.start, tz)} – {when(window.end, tz)}"

    def reason(self, rollout: RolloutRecord, now: datetime, tz: ZoneInfo) -> str:
        """HTML: approvals missing and from whom, a hold, the next window."""
        lines: list[str] = []
        if rollout.reason and rollout.reason.startswith("blocked: "):
            lines.append(f'<strong class="blocked">{esc(rollout.reason)}</strong>')
        hold = self._ctx.store.hold_of(rollout.environment)
        if hold is not None and hold.held and rollout.state in _GATED:
            lines.append(
                f"{esc(rollout.environment)} is on hold"
                f"{': ' + esc(hold.reason) if hold.reason else ''} (by {esc(hold.actor)})"
            )
        if rollout.state == State.AWAITING_APPROVAL.value:
            try:
                status = self._ctx.approvals.status(rollout)
            except RolloutError as exc:
                lines.append(esc(exc.message))
                status = None
            if status is not None:
                lines.append(
                    f"approvals {len(status.approvers)}/{status.required}"
                    + (f" (by {esc(', '.join(status.approvers))})" if status.approvers else "")
                )
                for group, count in sorted(status.missing_groups.items()):
                    lines.append(f"needs {count} from group {esc(group)}")
                if status.who_can_approve:
                    lines.append(f"can approve: {esc(', '.join(status.who_can_approve))}")
        if rollout.state == State.SCHEDULED.value and isinstance(rollout.plan, Mapping):
            at = rollout.plan.get("scheduled_at")
            if isinstance(at, str):
                with contextlib.suppress(ValueError):
                    lines.append(f"scheduled for {when(datetime.fromisoformat(at), tz)}")
        if rollout.state in _GATED:
            lines.append(self.window_text(rollout.environment, now, tz))
        blocked = bool(rollout.reason and rollout.reason.startswith("blocked: "))
        if rollout.reason and not blocked and rollout.state != State.AWAITING_APPROVAL.value:
            lines.append(esc(rollout.reason))
        return "<br>".join(lines) or "—"


_GATED = {State.AWAITING_APPROVAL.value, State.APPROVED.value, State.SCHEDULED.value}


def _values(states: Collection[State]) -> list[str]:
    return sorted(s.value for s in states)


def rollout_link(rollout: RolloutRecord) -> str:
    return f'<a href="/rollouts/{esc(rollout.id)}"><code>{esc(rollout.id)}</code></a>'


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
        env_rows.append(
            [
                f"<strong>{esc(env.name)}</strong>",
                short_sha(deployed.commit_sha) if deployed else "nothing deployed yet",
                when(deployed.applied_at, tz) if deployed else "—",
                f'<a href="/rollouts/{esc(deployed.rollout_id)}"><code>'
                f"{esc(deployed.rollout_id)}</code></a>"
                if deployed and deployed.rollout_id
                else "—",
                held,
            ]
        )
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
