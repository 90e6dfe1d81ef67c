"""Where a rollout stands: the stages it passed, what it waits for, how it ended.

Shared by the rollouts page (and its live fragment) and the rollout page.
Every statement comes from the recorded state transitions, the approval
rules and the windows, so a chip is marked done only when the rollout was
in that state, a finished rollout says how it ended (never what it "waits
for"), and an active one always says what happens next and since when.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from rollout.core.lifecycle import TERMINAL, State
from rollout.core.windows import GateRules, current_or_next_window
from rollout.errors import RolloutError
from rollout.fleet_view import fleet_status_of
from rollout.server.context import ServerContext
from rollout.server.dashboard.markup import esc, short_sha, state_badge, when
from rollout.store.records import RolloutRecord, StageEvent
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
STATE_EVENTS = ("rollout.created", "state.changed")
"""The event kinds that record which states a rollout was in."""

_GATED = {State.AWAITING_APPROVAL.value, State.APPROVED.value, State.SCHEDULED.value}
_OCCUPYING = {State.STAGING_APPLIED.value, State.PRODUCTION_APPLIED.value}
_QUEUED = {State.VALIDATED.value, State.APPROVED.value, State.SCHEDULED.value}
_TERMINAL = {s.value for s in TERMINAL}
_NEXT_STEP = {
    State.DETECTED.value: "validation of {env}: render, schema check, server dry-run",
    State.VALIDATED.value: "the apply to {env}",
    State.STAGING_APPLIED.value: "smoke tests in {env}",
    State.STAGING_VERIFIED.value: "the connectivity analysis for the next environment",
    State.PRODUCTION_APPLIED.value: "smoke tests in {env}",
    State.PRODUCTION_VERIFIED.value: "the next environment, or the end of the rollout",
}


def visited_states(events: Sequence[StageEvent]) -> list[str]:
    """The states a rollout was in, in order, from its `STATE_EVENTS`."""
    states: list[str] = []
    for event in events:
        if event.kind == "rollout.created":
            state = event.details.get("state")
        elif event.kind == "state.changed":
            state = event.details.get("to")
        else:
            continue
        if isinstance(state, str) and state not in states:
            states.append(state)
    return states


def stage_steps(rollout: RolloutRecord, visited: Collection[str]) -> str:
    """An ordered list of stages: passed ones done, skipped ones marked skipped, the
    current one `aria-current="step"`; a failure state is appended at the end."""
    reached = set(visited) | {rollout.state}
    order = [s.value for s, _ in STAGES]
    furthest = max((order.index(s) for s in reached if s in order), default=-1)
    items = []
    for index, (stage, label) in enumerate(STAGES):
        extra = ""
        if stage.value == rollout.state:
            cls, extra = "current", ' aria-current="step"'
        elif stage.value in reached:
            cls = "done"
        elif index < furthest:
            cls, label = "skipped", f"{label} (skipped)"
        else:
            cls = "todo"
        items.append(f'<li class="step step-{cls}"{extra}>{esc(label)}</li>')
    tail = ""
    if rollout.state not in order:
        tail = f'<li class="step step-end" aria-current="step">{state_badge(rollout.state)}</li>'
    return f'<ol class="stages" aria-label="Stages">{"".join(items)}{tail}</ol>'


def age(since: datetime, now: datetime) -> str:
    """`3 d 4 h`, `2 h 13 min`, `5 min`, `under a minute`."""
    minutes = int((now - since).total_seconds() // 60)
    days, rest = divmod(max(minutes, 0), 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else "under a minute"


class Waiting:
    """Why a rollout waits, or how it ended; window rules are cached per environment."""

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

    def label(self, rollout: RolloutRecord) -> str:
        """`Outcome` for a finished rollout, `Waiting for` for an active one."""
        return "Outcome" if rollout.state in _TERMINAL else "Waiting for"

    def reason(self, rollout: RolloutRecord, now: datetime, tz: ZoneInfo) -> str:
        """HTML: how a finished rollout ended, or what an active one waits for and since when."""
        events = self._ctx.store.events(rollout_id=rollout.id, limit=500)
        if rollout.state in _TERMINAL:
            return self._outcome(rollout, events, tz)
        lines = self._next(rollout, now, tz)
        changes = [e for e in events if e.kind in STATE_EVENTS]
        since = changes[-1].at if changes else rollout.updated_at
        lines.append(f"in this state since {when(since, tz)} ({age(since, now)})")
        return "<br>".join(lines)

    def _outcome(self, rollout: RolloutRecord, events: Sequence[StageEvent], tz: ZoneInfo) -> str:
        head = f"ended {state_badge(rollout.state)}"
        if rollout.reason:
            head += f": {esc(rollout.reason)}"
        lines = [head]
        for event in events:
            if event.kind != "rollback":
                continue
            to = event.details.get("to")
            back = f"to {short_sha(str(to))}" if to else "to nothing (first deploy)"
            verdict = "" if event.details.get("ok", True) else " FAILED"
            lines.append(
                f"{esc(event.environment or '')} rolled back {back}{verdict} {when(event.at, tz)}"
            )
        return "<br>".join(lines)

    def _next(self, rollout: RolloutRecord, now: datetime, tz: ZoneInfo) -> list[str]:
        env = rollout.environment
        lines: list[str] = []
        blocked = bool(rollout.reason and rollout.reason.startswith("blocked: "))
        if blocked:  # the next step cannot reach its environment (the engine's reason)
            lines.append(f'<strong class="blocked">{esc(rollout.reason)}</strong>')
        step = _NEXT_STEP.get(rollout.state)
        fleet = None
        if rollout.state == State.PRODUCTION_APPLIED.value:
            rows = self._ctx.store.fleet_clusters(rollout.id, env)
            fleet = fleet_status_of(self._ctx.settings, env, rows, now) if rows else None
        if fleet is not None:  # its waves, cluster by cluster, not one smoke run
            lines.append(f"the waves of {esc(env)}: {esc(fleet.progress_text())}")
        elif step is not None:
            lines.append(esc(step.format(env=env)))
        if rollout.state in _QUEUED:
            ahead = self._occupied_by(rollout)
            if ahead is not None:
                lines.append(f"queued behind {ahead} in {esc(env)}")
        hold = self._ctx.store.hold_of(env)
        if hold is not None and hold.held and rollout.state in _GATED:
            lines.append(
                f"{esc(env)} is on hold"
                f"{': ' + esc(hold.reason) if hold.reason else ''} (by {esc(hold.actor)})"
            )
        if rollout.state == State.AWAITING_APPROVAL.value:
            try:
                status = self._ctx.approvals.status(rollout)
            except RolloutError as exc:
                lines.append(esc(exc.message))
            else:
                if status is not None:
                    lines.append(esc(status.summary()))
        if rollout.state == State.SCHEDULED.value and isinstance(rollout.plan, Mapping):
            at = rollout.plan.get("scheduled_at")
            if isinstance(at, str):
                with contextlib.suppress(ValueError):
                    lines.append(f"scheduled for {when(datetime.fromisoformat(at), tz)}")
        if rollout.state in _GATED:
            lines.append(self.window_text(env, now, tz))
        if rollout.reason and not blocked and rollout.state != State.AWAITING_APPROVAL.value:
            lines.append(esc(rollout.reason))
        return lines

    def _occupied_by(self, rollout: RolloutRecord) -> str | None:
        """The older rollout applied in this environment that holds it (the engine's rule)."""
        for other in self._ctx.store.list_rollouts(states=sorted(_OCCUPYING), limit=20):
            if (
                other.id != rollout.id
                and other.environment == rollout.environment
                and other.created_at <= rollout.created_at
            ):
                return f'<a href="/rollouts/{esc(other.id)}"><code>{esc(other.id)}</code></a>'
        return None
