"""Fleet status for the channels: a rollout's recorded cluster rows, its configured
waves and the next wave's window, as `rollout.core.fleet_status.FleetStatus`
and its JSON (the API's `fleet`, the dashboard, Slack and the PR comment).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rollout.config.schema import Settings
from rollout.core.fleet_status import FleetStatus, NextWindow, fleet_status
from rollout.core.waves import (
    ClusterProgress,
    ClusterState,
    PlannedWave,
    WavePlan,
    WavePlanError,
)
from rollout.core.windows import current_or_next_window
from rollout.errors import ConfigError
from rollout.store.records import FleetClusterRecord
from rollout.windows_rules import gate_rules, years_between

__all__ = [
    "fleet_status_of",
    "plan_from_rows",
    "progress_from_rows",
    "rollout_fleets",
]


def plan_from_rows(rows: Sequence[FleetClusterRecord]) -> WavePlan:
    """The plan this rollout recorded (the configuration may have changed since)."""
    waves: dict[tuple[int, str], list[FleetClusterRecord]] = {}
    for row in sorted(rows, key=lambda r: (r.wave_index, r.position)):
        waves.setdefault((row.wave_index, row.wave), []).append(row)
    return WavePlan(
        tuple(
            PlannedWave(index, name, tuple(r.cluster for r in members))
            for (index, name), members in sorted(waves.items())
        )
    )


def progress_from_rows(rows: Sequence[FleetClusterRecord]) -> dict[str, ClusterProgress]:
    return {
        row.cluster: ClusterProgress(
            cluster=row.cluster,
            state=ClusterState(row.state),
            commit_sha=row.commit_sha,
            previous_sha=row.previous_sha,
            updated_at=row.updated_at,
            verified_at=row.verified_at,
            failure=row.failure,
        )
        for row in rows
    }


def fleet_status_of(
    settings: Settings,
    environment: str,
    rows: Sequence[FleetClusterRecord],
    now: datetime,
) -> FleetStatus | None:
    """`environment`'s status in one rollout, from its rows (none yet: the configured
    plan, every cluster pending). None if the environment is not a fleet (or no
    longer configured and nothing was recorded)."""
    try:
        env = settings.environment(environment)
    except ConfigError:
        env = None
    if rows:
        plan = plan_from_rows(rows)
    elif env is not None and env.is_fleet:
        try:
            plan = env.wave_plan()
        except WavePlanError:
            return None
    else:
        return None
    progress = progress_from_rows(rows)
    # Soak times come from the configuration: rows record where clusters are, not how long to wait.
    configured = {w.name: w for w in ((env.waves if env is not None else None) or ())}
    plan = WavePlan(
        tuple(
            PlannedWave(
                w.index,
                w.name,
                w.clusters,
                soak=configured[w.name].soak if w.name in configured else None,
            )
            for w in plan.waves
        )
    )
    status = fleet_status(environment, plan, progress, now)
    if status.next_wave is None or env is None:
        return status
    window = _wave_window(settings, environment, status.next_wave, status.soak_until or now)
    return fleet_status(environment, plan, progress, now, next_window=window)


def _wave_window(
    settings: Settings, environment: str, wave_name: str, after: datetime
) -> NextWindow | None:
    """The current or next window of `wave_name` (its own rule, else the environment's);
    None without a window rule, or with no window within the search horizon."""
    years = years_between(after, after)
    rules = gate_rules(settings, environment, years=years, wave=wave_name)
    if not rules.enabled:
        return None  # no window rule: the wave may start any time
    window = current_or_next_window(rules, after)
    return None if window is None else NextWindow(window.start, window.end)


def rollout_fleets(
    settings: Settings,
    environment: str,
    rows: Sequence[FleetClusterRecord],
    now: datetime,
) -> list[FleetStatus]:
    """Every fleet environment of one rollout: those with recorded rows (in
    configuration order), and `environment` (where the rollout is) if it is a fleet."""
    names = [e.name for e in settings.environments]
    wanted = {r.environment for r in rows} | {environment}
    ordered = sorted(wanted, key=lambda n: names.index(n) if n in names else len(names))
    statuses = [
        fleet_status_of(settings, name, [r for r in rows if r.environment == name], now)
        for name in ordered
    ]
    return [s for s in statuses if s is not None]
