"""A fleet environment's apply: its clusters, wave by wave (docs/fleets.md).

The rules live in `rollout.core.waves` (pure); this drives them. Every
cluster is validated, applied, smoke-tested and recorded on its own row of
the store before the next thing happens to it, so after a crash the rows say
exactly what is left:

- `applying` is recorded *before* the apply; on restart a cluster whose own
  state ConfigMap already names the revision is recorded applied without a
  second apply, any other is applied again (server-side apply of the same
  revision converges, it does not apply twice).
- `applied` clusters are smoke-tested again; `rolling_back` ones rolled back
  again (to the same revision, idempotent).

The rollout stays `production_applied` while its waves run; a wave waiting
for its window, a soak or a further approval schedules a wake-up and says
what it waits for. It ends `production_verified` when every cluster passed,
or `production_failed` after the first failure halted it (failed cluster,
and with `on_failure: wave` its wave, rolled back; later waves skipped),
announcing which clusters run which revision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from rollout.config import Settings
from rollout.config.schema import Environment
from rollout.core.lifecycle import State
from rollout.core.waves import (
    STOP_REQUESTED,
    ClusterState,
    Finished,
    Halt,
    PlannedWave,
    Soak,
    WavePlan,
    Work,
    cluster_target,
    next_step,
    progress_of,
    wave_stage,
)
from rollout.engine.fleet_analysis import fleet_analysis
from rollout.engine.fleet_report import (
    describe_plan,
    describe_revisions,
    plan_json,
    revisions,
    stage_summary,
)
from rollout.engine.transitions import SYSTEM, Announcer, Progress, Transitions
from rollout.errors import ClusterError
from rollout.ports import (
    ApprovalCheck,
    ChangeAnalysis,
    Clock,
    EnvironmentOps,
    Scheduler,
    StageResult,
    WindowGate,
)
from rollout.store import FleetClusterRecord, PlannedCluster, Store
from rollout.store.records import RolloutRecord

log = logging.getLogger(__package__)

# The most clusters of one wave worked on at once, whatever max_parallel says.
MAX_THREADS = 16


class FleetRollout:
    """Starts, advances and halts the fleet apply of rollouts (one step at a time)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        ops: EnvironmentOps,
        gate: WindowGate,
        approvals: ApprovalCheck,
        scheduler: Scheduler,
        transitions: Transitions,
        announce: Announcer,
        clock: Clock,
        *,
        break_glass: Callable[[RolloutRecord], bool] = lambda _rollout: False,
    ) -> None:
        self._settings = settings
        self._store = store
        self._ops = ops
        self._gate = gate
        self._approvals = approvals
        self._scheduler = scheduler
        self._transitions = transitions
        self._announce = announce
        self._clock = clock
        self._break_glass = break_glass
        # Waves announced by this process; after a restart they are enqueued again
        # and the outbox's idempotency keys (one per wave) drop the repeats.
        self._announced: set[tuple[str, str]] = set()

    # --- starting ------------------------------------------------------------------

    def first_wave(self, environment: str) -> str:
        """The name of the first wave of `environment`'s fleet (its window opens the apply)."""
        return self._settings.environment(environment).wave_plan().waves[0].name

    def analyse(self, environment: str, sha: str) -> ChangeAnalysis:
        """The change on every cluster, merged (`rollout.engine.fleet_analysis`): the
        first cluster's diff for reviewers, every cluster's openings for risk rules."""
        plan = self._settings.environment(environment).wave_plan()
        targets = [cluster_target(environment, c) for c in plan.clusters]

        def one(target: str) -> ChangeAnalysis:
            return self._ops.analyse(target, self._ops.deployed_sha(target), sha)

        with ThreadPoolExecutor(min(MAX_THREADS, len(targets)), "fleet-analyse") as pool:
            analyses = list(pool.map(one, targets))
        return fleet_analysis(list(zip(plan.clusters, analyses, strict=True)))

    def begin(self, rollout: RolloutRecord) -> Progress:
        """Record every cluster pending, then move the rollout to production_applied."""
        env = self._settings.environment(rollout.environment)
        plan = env.wave_plan()
        self._start_rows(rollout, env, plan)
        summary = describe_plan(plan)
        return self._transitions.move(
            rollout,
            State.PRODUCTION_APPLIED,
            "",
            details={"summary": f"rolling out to {summary}", "fleet": plan_json(plan)},
        )

    def _start_rows(
        self, rollout: RolloutRecord, env: Environment, plan: WavePlan
    ) -> list[FleetClusterRecord]:
        last = self._store.last_deployment(env.name)
        before = last.commit_sha if last is not None else None
        planned = [
            PlannedCluster(
                cluster=cluster,
                wave=wave.name,
                wave_index=wave.index,
                position=position,
                previous_sha=self._store.last_verified_sha(env.name, cluster) or before,
            )
            for wave in plan.waves
            for position, cluster in enumerate(wave.clusters)
        ]
        return self._store.start_fleet(rollout.id, env.name, rollout.commit_sha, planned)

    # --- advancing -----------------------------------------------------------------

    def step(self, rollout: RolloutRecord) -> Progress:
        """One step of a rollout in production_applied on a fleet environment."""
        env = self._settings.environment(rollout.environment)
        plan = env.wave_plan()
        rows = self._store.fleet_clusters(rollout.id, env.name)
        if {r.cluster for r in rows} != set(plan.clusters):
            rows = self._start_rows(rollout, env, plan)
        now = self._clock()
        self._announce_passed_waves(rollout, plan, rows)
        stop = self._stop_request(rollout)
        step = next_step(plan, progress_of(rows), now, stopped=stop is not None)
        if isinstance(step, Finished):
            return self._finish(rollout, env, plan, rows)
        if isinstance(step, Soak):
            self._scheduler.wake_at(rollout.id, step.until)
            why = (
                f"wave {step.wave.name} passed; soaking until {step.until.isoformat()} "
                f"before wave {step.next_wave.name}"
            )
            return Progress(rollout.id, False, rollout.state, why)
        if isinstance(step, Halt):
            return self._halt(rollout, env, step, rows, stop)
        return self._work(rollout, env, step, rows, now)

    def _announce_passed_waves(
        self, rollout: RolloutRecord, plan: WavePlan, rows: Sequence[FleetClusterRecord]
    ) -> None:
        """`wave.passed` once for every wave whose clusters are all verified."""
        verified = {r.cluster for r in rows if r.state == ClusterState.VERIFIED.value}
        for wave in plan.waves:
            if not set(wave.clusters) <= verified:
                break
            key = (rollout.id, wave.name)
            if key in self._announced:
                continue
            details = {"wave": wave.name, "summary": f"wave {wave.name} passed"}
            self._store.enqueue(self._announce(rollout, "wave.passed", details))
            self._announced.add(key)
            log.info(
                "rollout %s: wave %s passed",
                rollout.id,
                wave.name,
                extra={"rollout_id": rollout.id, "wave": wave.name},
            )

    def _work(
        self,
        rollout: RolloutRecord,
        env: Environment,
        work: Work,
        rows: Sequence[FleetClusterRecord],
        now: datetime,
    ) -> Progress:
        batch = list(work.resume)
        waiting = self._may_not_start(rollout, env, work.wave, now, starting=work.starting)
        if waiting is None:
            batch += work.new
        if not batch:
            return Progress(rollout.id, False, rollout.state, waiting)
        by_name = {r.cluster: r for r in rows}
        self._scheduler.cancel(rollout.id)
        errors: list[BaseException] = []
        with ThreadPoolExecutor(min(len(batch), MAX_THREADS), "fleet") as pool:
            futures = [pool.submit(self._run_cluster, rollout, env, by_name[c]) for c in batch]
            for future in futures:
                error = future.exception()
                if error is not None:
                    errors.append(error)
        if errors:
            # Each cluster's progress is recorded; the step is retried for the rest.
            raise errors[0]
        return Progress(rollout.id, True, rollout.state)

    def _may_not_start(
        self,
        rollout: RolloutRecord,
        env: Environment,
        wave: PlannedWave,
        now: datetime,
        *,
        starting: bool,
    ) -> str | None:
        """Why no new cluster of `wave` may start now (None: they may)."""
        hold = self._store.hold_of(env.name)
        if hold is not None and hold.held:
            return f"{env.name} is on hold: {hold.reason or ''}".strip(": ")
        if starting and wave.needs_approval:
            stage = wave_stage(env.name, wave.name)
            granted, why = self._approvals.granted(rollout.id, stage, now)
            if not granted:
                self._request_wave_approval(rollout, env, wave)
                return f"wave {wave.name} needs a further approval: {why}"
        # Break-glass (recorded for the rollout) opens every wave's window, as one cluster's.
        glass = self._break_glass(rollout)
        if not glass and not self._gate.usable_now(env.name, now, wave=wave.name):
            start = self._gate.next_start(env.name, now, wave=wave.name)
            if start is None:
                return f"no usable window for wave {wave.name} ahead"
            self._scheduler.wake_at(rollout.id, start)
            return f"wave {wave.name} waits for its window at {start.isoformat()}"
        return None

    def _request_wave_approval(
        self, rollout: RolloutRecord, env: Environment, wave: PlannedWave
    ) -> None:
        kind = "fleet.wave.approval_requested"
        asked = self._store.events(rollout_id=rollout.id, kinds=[kind], limit=None)
        if any(e.details.get("wave") == wave.name for e in asked):
            return
        self._store.record_event(
            kind,
            actor=SYSTEM,
            channel="system",
            rollout_id=rollout.id,
            environment=env.name,
            details={"wave": wave.name, "clusters": list(wave.clusters)},
        )

    def _run_cluster(
        self, rollout: RolloutRecord, env: Environment, row: FleetClusterRecord
    ) -> None:
        """Validate, apply and smoke-test one cluster, recording each stage on its row."""
        target = cluster_target(env.name, row.cluster)
        sha = rollout.commit_sha
        state = ClusterState(row.state)
        if state is ClusterState.PENDING:
            if self._move(rollout, row, [ClusterState.PENDING], ClusterState.APPLYING) is None:
                return
            state = ClusterState.APPLYING
        if state is ClusterState.APPLYING:
            if self._ops.deployed_sha(target) == sha:
                # Applied before a crash, not yet recorded: record it, never apply again.
                result = StageResult(True, f"{target} already at {sha[:12]}")
            else:
                result = self._ops.validate(target, sha)
                if result.ok:
                    result = self._ops.apply(target, sha, rollout.id)
            if not result.ok:
                self._failed(rollout, env, row, ClusterState.APPLYING, result, rollback=True)
                return
            self._move(
                rollout, row, [ClusterState.APPLYING], ClusterState.APPLIED, stage_summary(result)
            )
            state = ClusterState.APPLIED
        if state is ClusterState.APPLIED:
            result = self._ops.smoke(target, sha, rollout.id)
            if not result.ok:
                rollback = env.smoke.rollback_on_failure
                self._failed(rollout, env, row, ClusterState.APPLIED, result, rollback=rollback)
                return
            self._move(
                rollout,
                row,
                [ClusterState.APPLIED],
                ClusterState.VERIFIED,
                {"smoke": result.summary, "summary": result.summary},
            )

    def _failed(
        self,
        rollout: RolloutRecord,
        env: Environment,
        row: FleetClusterRecord,
        current: ClusterState,
        result: StageResult,
        *,
        rollback: bool,
    ) -> None:
        to = ClusterState.ROLLING_BACK if rollback else ClusterState.FAILED
        log.warning(
            "rollout %s: %s/%s failed: %s",
            rollout.id,
            env.name,
            row.cluster,
            result.summary,
            extra={"rollout_id": rollout.id, "cluster": row.cluster},
        )
        self._move(rollout, row, [current], to, stage_summary(result), failure=result.summary)

    def _move(
        self,
        rollout: RolloutRecord,
        row: FleetClusterRecord,
        from_states: Sequence[ClusterState],
        to: ClusterState,
        details: Mapping[str, Any] | None = None,
        *,
        failure: str | None = None,
    ) -> FleetClusterRecord | None:
        moved = self._store.move_fleet_cluster(
            rollout.id,
            row.environment,
            row.cluster,
            [s.value for s in from_states],
            to.value,
            failure=failure,
            details=dict(details or {}),
            actor=SYSTEM,
        )
        if moved is not None:
            log.info(
                "rollout %s: %s/%s %s -> %s",
                rollout.id,
                row.environment,
                row.cluster,
                row.state if row.state in {s.value for s in from_states} else from_states[0],
                to.value,
                extra={"rollout_id": rollout.id, "cluster": row.cluster, "to": to.value},
            )
        return moved

    # --- ending --------------------------------------------------------------------

    def _finish(
        self,
        rollout: RolloutRecord,
        env: Environment,
        plan: WavePlan,
        rows: Sequence[FleetClusterRecord],
    ) -> Progress:
        last = self._store.last_deployment(env.name)
        if last is None or last.rollout_id != rollout.id or last.commit_sha != rollout.commit_sha:
            self._store.record_deployment(env.name, rollout.commit_sha, "", rollout_id=rollout.id)
        clusters = revisions(rows)
        # What a single cluster announces on its apply, once every cluster runs the
        # commit; its idempotency key drops a repeat after a restart.
        applied = {
            "summary": f"production applied at {rollout.commit_sha[:12]} on {len(rows)} "
            f"cluster(s) in {len(plan.waves)} wave(s)",
            "environment": env.name,
            "clusters": clusters,
        }
        self._store.enqueue(self._announce(rollout, "production.applied", applied))
        summary = f"{len(rows)} cluster(s) verified in {len(plan.waves)} wave(s)"
        return self._transitions.move(
            rollout,
            State.PRODUCTION_VERIFIED,
            "smoke.passed",
            details={
                "summary": summary,
                "environment": env.name,
                "clusters": clusters,
            },
        )

    def _halt(
        self,
        rollout: RolloutRecord,
        env: Environment,
        halt: Halt,
        rows: Sequence[FleetClusterRecord],
        stop: str | None = None,
    ) -> Progress:
        by_name = {r.cluster: r for r in rows}
        for cluster in halt.rollback:
            self._roll_back(rollout, env, by_name[cluster])
        for cluster in halt.skip:
            self._move(
                rollout,
                by_name[cluster],
                [ClusterState.PENDING],
                ClusterState.SKIPPED,
                {"summary": "the rollout halted before this cluster's wave"},
            )
        rows = self._store.fleet_clusters(rollout.id, env.name)
        failed = [r for r in rows if r.cluster in halt.failed]
        why = "; ".join(f"{r.cluster}: {r.failure}" for r in failed) or "a cluster failed"
        if stop is not None and not failed:
            reason = f"{stop}; rolled back where it reached. Now running: "
        else:
            reason = f"halted after {why}. Now running: "
        reason += describe_revisions(rows)
        return self._transitions.move(
            rollout,
            State.PRODUCTION_FAILED,
            "production.failed",
            reason=reason,
            details={
                "summary": reason,
                "environment": env.name,
                "failed": [r.cluster for r in failed],
                "clusters": revisions(rows),
            },
        )

    def _stop_request(self, rollout: RolloutRecord) -> str | None:
        """`stopped by NAME: REASON` if a person stopped this rollout's waves, else None."""
        events = self._store.events(rollout_id=rollout.id, kinds=[STOP_REQUESTED], limit=1)
        if not events:
            return None
        return f"stopped by {events[0].actor}: {events[0].details.get('reason') or 'no reason'}"

    def _roll_back(self, rollout: RolloutRecord, env: Environment, row: FleetClusterRecord) -> None:
        if row.state == ClusterState.VERIFIED.value:
            # Its wave failed (on_failure: wave): it goes back with the failing cluster.
            moved = self._move(
                rollout,
                row,
                [ClusterState.VERIFIED],
                ClusterState.ROLLING_BACK,
                {"summary": "rolled back with its wave"},
            )
            if moved is None:
                return
            row = moved
        target = cluster_target(env.name, row.cluster)
        result = self._ops.rollback(target, row.previous_sha, rollout.id)
        if not result.ok:
            raise ClusterError(f"rolling {target} back failed: {result.summary}")
        self._move(
            rollout,
            row,
            [ClusterState.ROLLING_BACK],
            ClusterState.ROLLED_BACK,
            {"summary": f"rolled back to {(row.previous_sha or 'nothing')[:12]}"},
        )

    def roll_back_touched(self, rollout: RolloutRecord) -> str:
        """When a step is parked: roll back every cluster this rollout touched; what failed."""
        env = self._settings.environment(rollout.environment)
        problems: list[str] = []
        for row in self._store.fleet_clusters(rollout.id, env.name):
            state = ClusterState(row.state)
            if state in (ClusterState.APPLYING, ClusterState.APPLIED):
                row = self._move(rollout, row, [state], ClusterState.ROLLING_BACK) or row
                state = ClusterState(row.state)
            if state in (ClusterState.VERIFIED, ClusterState.ROLLING_BACK):
                try:
                    self._roll_back(rollout, env, row)
                except Exception as exc:  # the reason says so; the rest still goes back
                    problems.append(f"{row.cluster}: {exc}")
            elif state is ClusterState.PENDING:
                self._move(rollout, row, [state], ClusterState.SKIPPED)
        return "; ".join(problems)
