"""The rollout engine's driver: detection, the driving loop and the step for each state.

Transitions are recorded by `rollout.engine.transitions`; deployments and
rollbacks by `rollout.engine.deployments`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from rollout.config import Settings
from rollout.core.lifecycle import ACTIVE, SUPERSEDABLE, State
from rollout.engine.deployments import Deployments
from rollout.engine.fleet import FleetRollout
from rollout.engine.retries import PARKED, StepRetries, describe, retrying
from rollout.engine.transitions import (
    SYSTEM,
    Announcer,
    Progress,
    TransitionHook,
    Transitions,
    stage_details,
)
from rollout.errors import ClusterError, ConfigError, GitError
from rollout.ports import (
    ApprovalCheck,
    Clock,
    Commit,
    CommitCheck,
    EnvironmentOps,
    Fence,
    Scheduler,
    StageResult,
    WindowGate,
)
from rollout.store import Store
from rollout.store.records import RolloutRecord

# The engine's one logger: see `rollout.engine.transitions`.
log = logging.getLogger(__package__)

BREAK_GLASS = "window.break_glass"
MAX_LISTED = 10_000


class RolloutEngine:
    """Drives rollouts through the lifecycle using the ports it is given."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        ops: EnvironmentOps,
        gate: WindowGate,
        approvals: ApprovalCheck,
        scheduler: Scheduler,
        announce: Announcer,
        clock: Clock,
        *,
        fence: Fence = lambda: True,
        on_transition: TransitionHook | None = None,
        commit_check: CommitCheck | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._ops = ops
        self._gate = gate
        self._approvals = approvals
        self._scheduler = scheduler
        self._announce = announce
        self._clock = clock
        self._fence = fence
        self._commit_check = commit_check
        self._transitions = Transitions(store, announce, on_transition)
        self._deployments = Deployments(store, ops)
        self._fleet = FleetRollout(
            settings,
            store,
            ops,
            gate,
            approvals,
            scheduler,
            self._transitions,
            announce,
            clock,
            break_glass=self._break_glass,
        )
        self._environments = [env.name for env in settings.environments]
        self._lock = threading.RLock()
        self._retries = StepRetries()

    # --- detection -------------------------------------------------------------

    def detect(self, commit: Commit, previous_sha: str | None) -> RolloutRecord:
        """Start a rollout for `commit` (once per commit), superseding older pending ones."""
        with self._lock:
            existing = self._store.list_rollouts(commit_sha=commit.sha, limit=1)
            if existing:
                return existing[0]
            # The rollout, its authors and its announcement commit together.
            rollout = self._store.create_rollout(
                environment=self._environments[0],
                commit_sha=commit.sha,
                previous_sha=previous_sha,
                author=commit.author,
                author_email=commit.author_email,
                message=commit.message,
                state=State.DETECTED.value,
                actor=SYSTEM,
                details={"previous_sha": previous_sha},
                artifacts={"plan": _people(commit)} if commit.authors else None,
                outbox_for=lambda created: self._announce(created, "rollout.detected", {}),
            )
            log.info(
                "rollout %s detected for %s",
                rollout.id,
                commit.sha[:12],
                extra={"rollout_id": rollout.id},
            )
            self._supersede_older(rollout)
            return rollout

    def _supersede_older(self, newest: RolloutRecord) -> None:
        pending = self._store.list_rollouts(
            states=[s.value for s in SUPERSEDABLE], limit=MAX_LISTED
        )
        for older in pending:
            if older.id == newest.id or older.created_at > newest.created_at:
                continue
            if self._environments.index(older.environment) > 1:
                continue  # already reached production; only later gates remain
            self._transitions.move(
                older,
                State.SUPERSEDED,
                "",
                reason=f"superseded by {newest.id} ({newest.commit_sha[:12]})",
                details={"superseded_by": newest.id},
                superseded_by=newest.id,
            )
            self._scheduler.cancel(older.id)

    # --- driving ---------------------------------------------------------------

    def active(self) -> list[RolloutRecord]:
        """Every rollout not in a final state, oldest first."""
        found = self._store.list_rollouts(states=[s.value for s in ACTIVE], limit=MAX_LISTED)
        return list(reversed(found))

    def drive_all(self, max_steps: int = 100) -> list[Progress]:
        """Advance every active rollout until none can move (bounded)."""
        done: list[Progress] = []
        for _ in range(max_steps):
            moved = False
            for rollout in self.active():
                if not self._fence():
                    return done
                progress = self.advance(rollout.id)
                done.append(progress)
                moved = moved or progress.moved
            if not moved:
                break
        return done

    def advance(self, rollout_id: str) -> Progress:
        """Take one step for one rollout, if it can take one now."""
        with self._lock:
            rollout = self._store.get_rollout(rollout_id)
            if rollout is None:
                return Progress(rollout_id, False, "unknown")
            step = self._STEPS.get(State(rollout.state))
            if step is None:
                return Progress(rollout.id, False, rollout.state)
            if not self._fence():
                return Progress(rollout.id, False, rollout.state, "not the leader")
            busy = self._environment_busy(rollout)
            if busy is not None:
                return Progress(rollout.id, False, rollout.state, busy)
            now = self._clock()
            series = self._retries.waiting(rollout.id, rollout.state, now)
            if series is not None:
                return retrying(rollout, series)
            try:
                progress = step(self, rollout)
            except Exception as exc:  # retried with backoff, then parked: see engine.retries
                return self._step_failed(rollout, exc, now)
            self._retries.succeeded(rollout.id)
            if not progress.moved and is_blocked(rollout):
                self._store.set_blocked(rollout.id, None)
            return progress

    def _step_failed(self, rollout: RolloutRecord, exc: Exception, now: datetime) -> Progress:
        series = self._retries.failed(rollout.id, rollout.state, exc, now)
        extra = {"rollout_id": rollout.id, "state": rollout.state, "attempt": series.attempts}
        if isinstance(exc, BLOCKING):
            # Credentials that do not load, a cluster or repository that does not
            # answer: the environment, not the commit. Say so where people look
            # (status, API, dashboard: `blocked: reason`), in one log line.
            before = rollout.reason
            self._store.set_blocked(rollout.id, exc.message)
            if before != f"blocked: {exc.message}":
                log.warning(
                    "rollout %s blocked in %s: %s",
                    rollout.id,
                    rollout.state,
                    exc.message,
                    extra=extra,
                )
        elif series.attempts == 1:
            log.exception("step failed; retrying with backoff", extra=extra)
        else:
            log.warning("step failed again: %s", series.error, extra=extra)
        parked = PARKED.get(State(rollout.state))
        if parked is None or not self._retries.should_park(series):
            return retrying(rollout, series)
        self._retries.succeeded(rollout.id)
        state, event = parked
        reason = (
            f"parked after {series.attempts} failed attempts of the {rollout.state} step: "
            f"{series.error}"
        )
        if state is not State.INVALID and self._is_fleet(rollout.environment):
            undone = self._fleet.roll_back_touched(rollout)
            if undone:
                reason += f"; rolling clusters of {rollout.environment} back failed: {undone}"
        elif state is not State.INVALID:
            try:
                self._deployments.rollback(rollout, rollout.environment)
            except Exception as rollback_exc:  # the reason says so; nothing else can
                log.exception("rollback of a parked rollout failed", extra=extra)
                reason += f"; rolling {rollout.environment} back failed too: "
                reason += describe(rollback_exc)
        log.error("rollout %s parked: %s", rollout.id, reason, extra=extra)
        return self._transitions.move(
            rollout, state, event, reason=reason, details={"summary": reason, "parked": True}
        )

    def _environment_busy(self, rollout: RolloutRecord) -> str | None:
        """One rollout at a time per environment: an older one applied there blocks us."""
        if State(rollout.state) not in (State.VALIDATED, State.APPROVED, State.SCHEDULED):
            return None
        for other in self.active():
            if other.id == rollout.id or other.created_at > rollout.created_at:
                continue
            occupying = State(other.state) in (State.STAGING_APPLIED, State.PRODUCTION_APPLIED)
            if occupying and other.environment == rollout.environment:
                return f"waiting for {other.id} to finish in {rollout.environment}"
        return None

    # --- steps -------------------------------------------------------------------

    def _validate(self, rollout: RolloutRecord) -> Progress:
        checked: dict[str, Any] = {}
        if self._commit_check is not None:
            # Before anything else: a commit that fails it is never staged anywhere.
            verdict = self._commit_check(rollout.commit_sha)
            if not verdict.ok:
                return self._transitions.fail(rollout, State.INVALID, "rollout.validated", verdict)
            checked = dict(verdict.details)
        result = self._ops.validate(rollout.environment, rollout.commit_sha)
        if not result.ok:
            return self._transitions.fail(rollout, State.INVALID, "rollout.validated", result)
        return self._transitions.move(
            rollout,
            State.VALIDATED,
            "rollout.validated",
            details=stage_details(result),
            artifacts={"plan": {**_mapping(rollout.plan), **checked}} if checked else None,
        )

    def _apply_staging(self, rollout: RolloutRecord) -> Progress:
        env = rollout.environment
        result = self._ops.apply(env, rollout.commit_sha, rollout.id)
        if not result.ok:
            self._deployments.rollback(rollout, env)
            return self._transitions.fail(
                rollout, State.STAGING_FAILED, "staging.rolled_back", result
            )
        self._deployments.record(rollout, env, result)
        return self._transitions.move(
            rollout,
            State.STAGING_APPLIED,
            "staging.applied",
            details=stage_details(result),
            artifacts={"plan": {**_mapping(rollout.plan), "staging": dict(result.details)}},
        )

    def _verify_staging(self, rollout: RolloutRecord) -> Progress:
        return self._verify(rollout, State.STAGING_VERIFIED, State.STAGING_FAILED)

    def _verify(self, rollout: RolloutRecord, passed: State, failed: State) -> Progress:
        env = rollout.environment
        recorded = _mapping(rollout.smoke).get(env)
        if isinstance(recorded, Mapping) and recorded.get("ok") is False:
            # The verdict was recorded before a crash interrupted the rollback:
            # never re-test the rolled-back revision and call it a pass.
            result = StageResult(False, str(recorded.get("summary", "smoke tests failed")))
        else:
            result = self._ops.smoke(env, rollout.commit_sha, rollout.id)
            smoke = {
                **_mapping(rollout.smoke),
                env: {"ok": result.ok, "summary": result.summary, "report": dict(result.details)},
            }
            rollout = self._store.set_artifacts(rollout.id, {"smoke": smoke})
        summary: dict[str, Any] = {"summary": result.summary, "environment": env}
        if result.ok:
            return self._transitions.move(rollout, passed, "smoke.passed", details=summary)
        staging = failed == State.STAGING_FAILED
        if staging:
            self._store.enqueue(self._announce(rollout, "smoke.failed", summary))
        if self._settings.environment(env).smoke.rollback_on_failure:
            self._deployments.rollback(rollout, env)
            event = "staging.rolled_back" if staging else "production.failed"
        else:
            # The rollout still fails; the failing revision stays for inspection.
            self._deployments.skip_rollback(rollout, env, result)
            summary["rollback"] = "skipped"
            # Staging: smoke.failed was the announcement; nothing was rolled back.
            event = "" if staging else "production.failed"
        return self._transitions.move(
            rollout, failed, event, reason=result.summary, details=summary
        )

    def _request_approval(self, rollout: RolloutRecord) -> Progress:
        target = self._next_environment(rollout.environment)
        if target is None:
            return self._transitions.move(rollout, State.DONE, "", details={"final": True})
        if self._is_fleet(target):
            analysis = self._fleet.analyse(target, rollout.commit_sha)
        else:
            analysis = self._ops.analyse(target, self._ops.deployed_sha(target), rollout.commit_sha)
        artifacts = {
            "diff": dict(analysis.diff),
            "lint": dict(analysis.lint),
            "risk": dict(analysis.risk),
        }
        if self._settings.environment(target).approvals is None:
            return self._transitions.move(
                rollout,
                State.APPROVED,
                "approval.granted",
                details={"environment": target, "required": 0},
                environment=target,
                artifacts=artifacts,
            )
        return self._transitions.move(
            rollout,
            State.AWAITING_APPROVAL,
            "approval.requested",
            details={"environment": target},
            environment=target,
            artifacts=artifacts,
        )

    def _check_approval(self, rollout: RolloutRecord) -> Progress:
        # Approvals normally move the rollout themselves (rollout.approvals_service);
        # this catches quorum reached in another way (e.g. configuration changed).
        granted, why = self._approvals.granted(rollout.id, rollout.environment, self._clock())
        if not granted:
            return Progress(rollout.id, False, rollout.state, why)
        return self._transitions.move(
            rollout,
            State.APPROVED,
            "approval.granted",
            details={"environment": rollout.environment, "why": why},
        )

    def _apply_gated(self, rollout: RolloutRecord) -> Progress:
        target = rollout.environment
        now = self._clock()
        if self._is_fleet(target):
            return self._begin_fleet(rollout, target, now)
        if self._ops.deployed_sha(target) == rollout.commit_sha:
            # Applied before a crash, not yet recorded: record it, never apply again.
            self._scheduler.cancel(rollout.id)
            return self._record_gated_apply(rollout, target, StageResult(True, "already applied"))
        hold = self._store.hold_of(target)
        if hold is not None and hold.held:
            why = f"{target} is on hold: {hold.reason or ''}".strip(": ")
            return Progress(rollout.id, False, rollout.state, why)
        if not self._break_glass(rollout) and not self._gate.usable_now(target, now):
            return self._schedule(rollout, target, now)
        self._scheduler.cancel(rollout.id)
        result = self._ops.apply(target, rollout.commit_sha, rollout.id)
        if not result.ok:
            self._deployments.rollback(rollout, target)
            return self._transitions.fail(
                rollout, State.PRODUCTION_FAILED, "production.failed", result
            )
        return self._record_gated_apply(rollout, target, result)

    def _begin_fleet(self, rollout: RolloutRecord, target: str, now: datetime) -> Progress:
        """A fleet starts with its first wave, inside that wave's window (see engine.fleet)."""
        hold = self._store.hold_of(target)
        if hold is not None and hold.held:
            why = f"{target} is on hold: {hold.reason or ''}".strip(": ")
            return Progress(rollout.id, False, rollout.state, why)
        wave = self._fleet.first_wave(target)
        if not self._break_glass(rollout) and not self._gate.usable_now(target, now, wave=wave):
            return self._schedule(rollout, target, now, wave=wave)
        self._scheduler.cancel(rollout.id)
        return self._fleet.begin(rollout)

    def _is_fleet(self, environment: str) -> bool:
        return self._settings.environment(environment).is_fleet

    def _break_glass(self, rollout: RolloutRecord) -> bool:
        events = self._store.events(rollout_id=rollout.id, kinds=[BREAK_GLASS], limit=1)
        return any(e.environment in (None, rollout.environment) for e in events)

    def _record_gated_apply(
        self, rollout: RolloutRecord, target: str, result: StageResult
    ) -> Progress:
        self._deployments.record(rollout, target, result)
        return self._transitions.move(
            rollout, State.PRODUCTION_APPLIED, "production.applied", details=stage_details(result)
        )

    def _schedule(
        self, rollout: RolloutRecord, target: str, now: datetime, *, wave: str | None = None
    ) -> Progress:
        start = self._gate.next_start(target, now, wave=wave)
        if start is None:
            where = f"wave {wave} of {target}" if wave else target
            return Progress(rollout.id, False, rollout.state, f"no usable window for {where} ahead")
        self._scheduler.wake_at(rollout.id, start)
        at = start.isoformat()
        plan = _mapping(rollout.plan)
        if State(rollout.state) == State.SCHEDULED and plan.get("scheduled_at") == at:
            return Progress(rollout.id, False, rollout.state, f"scheduled for {at}")
        return self._transitions.move(
            rollout,
            State.SCHEDULED,
            "production.scheduled",
            details={"environment": target, "at": at},
            artifacts={"plan": {**plan, "scheduled_at": at}},
        )

    def _verify_gated(self, rollout: RolloutRecord) -> Progress:
        if self._is_fleet(rollout.environment):
            return self._fleet.step(rollout)
        return self._verify(rollout, State.PRODUCTION_VERIFIED, State.PRODUCTION_FAILED)

    _STEPS: ClassVar[dict[State, Callable[[RolloutEngine, RolloutRecord], Progress]]] = {
        State.DETECTED: _validate,
        State.VALIDATED: _apply_staging,
        State.STAGING_APPLIED: _verify_staging,
        State.STAGING_VERIFIED: _request_approval,
        State.AWAITING_APPROVAL: _check_approval,
        State.APPROVED: _apply_gated,
        State.SCHEDULED: _apply_gated,
        State.PRODUCTION_APPLIED: _verify_gated,
        State.PRODUCTION_VERIFIED: _request_approval,
    }

    # --- helpers -----------------------------------------------------------------

    def _next_environment(self, environment: str) -> str | None:
        index = self._environments.index(environment)
        return self._environments[index + 1] if index + 1 < len(self._environments) else None


# Errors of the environment rather than the commit: shown as `blocked: reason`.
BLOCKING = (ConfigError, ClusterError, GitError)


def is_blocked(rollout: RolloutRecord) -> bool:
    """The rollout's last step failed on something outside it (see `advance`)."""
    return bool(rollout.reason and rollout.reason.startswith("blocked: "))


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _people(commit: Commit) -> dict[str, Any]:
    people: dict[str, Any] = {"authors": list(commit.authors)}
    if commit.committers:
        people["committers"] = list(commit.committers)
    return people
