"""What a fleet rollout looks like now (pure): each cluster's revision, each wave's
progress, the wave that comes next and when.

One :class:`FleetStatus` is what `rollout status`, the API, Slack, the PR
comment and the dashboard all show, built once by :func:`fleet_status` from
the wave plan and the recorded per-cluster rows (`rollout.core.waves`), so
no channel words a cluster's state its own way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from rollout.core.waves import (
    HALTING,
    ClusterProgress,
    ClusterState,
    Soak,
    WavePlan,
    Work,
    next_step,
    running_revision,
)

_NOT_STARTED = frozenset({ClusterState.PENDING, ClusterState.SKIPPED})


class WavePhase(StrEnum):
    """Where one wave is: the words every channel shows."""

    DONE = "done"  # every cluster verified
    RUNNING = "running"  # some cluster started, none failed
    HALTED = "halted"  # a cluster of it failed or was rolled back
    SOAKING = "soaking"  # next, waiting for the previous wave's soak
    NEXT = "next"  # next, waiting for its window (or a further approval)
    PENDING = "pending"  # later
    SKIPPED = "skipped"  # never started: the rollout halted before it


@dataclass(frozen=True)
class ClusterLine:
    """One cluster: its wave, state, the revision it runs and the one rolled out.

    `revision` is None while the cluster is changing (applying, rolling back)
    or when it ran nothing of ours before."""

    cluster: str
    wave: str
    state: ClusterState
    revision: str | None
    target: str
    failure: str | None = None

    @property
    def changing(self) -> bool:
        return self.state in (ClusterState.APPLYING, ClusterState.ROLLING_BACK)


@dataclass(frozen=True)
class WaveLine:
    """One wave: its clusters, how many are verified, and its phase."""

    index: int
    name: str
    clusters: tuple[str, ...]
    verified: int
    phase: WavePhase


@dataclass(frozen=True)
class NextWindow:
    """The half-open interval [start, end) in which a wave may start."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class FleetStatus:
    """A fleet environment in one rollout; see the module docstring."""

    environment: str
    clusters: tuple[ClusterLine, ...]
    waves: tuple[WaveLine, ...]
    next_wave: str | None = None
    next_window: NextWindow | None = None
    soak_until: datetime | None = None

    @property
    def current(self) -> WaveLine | None:
        """The wave being worked on or halted in; else None (not started, or done)."""
        return next(
            (w for w in self.waves if w.phase in (WavePhase.RUNNING, WavePhase.HALTED)), None
        )

    @property
    def finished(self) -> bool:
        return all(w.phase is WavePhase.DONE for w in self.waves)

    @property
    def halted(self) -> bool:
        return any(w.phase is WavePhase.HALTED for w in self.waves)

    def progress_text(self) -> str:
        """`wave 2/3 europe: 1/2 clusters verified`, `all 3 waves done`, ..."""
        total = len(self.waves)
        if self.finished:
            return f"all {total} wave(s) done: {len(self.clusters)} cluster(s) verified"
        wave = self.current or next((w for w in self.waves if w.phase is not WavePhase.DONE), None)
        if wave is None:  # only skipped waves are left
            return f"halted: {self.verified_count()}/{len(self.clusters)} cluster(s) verified"
        text = (
            f"wave {wave.index + 1}/{total} {wave.name} {wave.phase}: "
            f"{wave.verified}/{len(wave.clusters)} cluster(s) verified"
        )
        failed = [c.cluster for c in self.clusters if c.failure is not None]
        if failed:
            text += f"; failed: {', '.join(failed)}"
        return text

    def verified_count(self) -> int:
        return sum(1 for c in self.clusters if c.state is ClusterState.VERIFIED)

    def revisions(self) -> dict[str, tuple[str, ...]]:
        """Which clusters run which revision (`changing` and `none` for the others),
        in the order the revisions first appear in the plan."""
        by_revision: dict[str, list[str]] = {}
        for line in self.clusters:
            key = "changing" if line.changing else (line.revision or "none")
            by_revision.setdefault(key, []).append(line.cluster)
        return {k: tuple(v) for k, v in by_revision.items()}


def fleet_status(
    environment: str,
    plan: WavePlan,
    progress: Mapping[str, ClusterProgress],
    now: datetime,
    *,
    next_window: NextWindow | None = None,
) -> FleetStatus:
    """The status of `environment` from its plan and recorded `progress`.

    A cluster without a row counts as pending. `next_window` is when the next
    wave may start (the caller knows its window rules); it is kept only when
    a wave is still to come.
    """
    states = {
        c: (progress[c].state if c in progress else ClusterState.PENDING) for c in plan.clusters
    }
    step = next_step(plan, progress, now)
    halted = any(s in HALTING for s in states.values())
    upcoming: str | None = None
    soak_until: datetime | None = None
    if isinstance(step, Soak):
        upcoming, soak_until = step.next_wave.name, step.until
    elif isinstance(step, Work) and step.starting and not halted:
        upcoming = step.wave.name

    waves: list[WaveLine] = []
    for wave in plan.waves:
        wave_states = [states[c] for c in wave.clusters]
        verified = sum(1 for s in wave_states if s is ClusterState.VERIFIED)
        if any(s in HALTING for s in wave_states):
            phase = WavePhase.HALTED
        elif verified == len(wave.clusters):
            phase = WavePhase.DONE
        elif all(s in _NOT_STARTED for s in wave_states) and (
            halted or ClusterState.SKIPPED in wave_states
        ):
            phase = WavePhase.SKIPPED  # the rollout halted before it
        elif any(s not in _NOT_STARTED for s in wave_states):
            phase = WavePhase.RUNNING
        elif wave.name == upcoming:
            phase = WavePhase.SOAKING if soak_until is not None else WavePhase.NEXT
        else:
            phase = WavePhase.PENDING
        waves.append(WaveLine(wave.index, wave.name, wave.clusters, verified, phase))

    if upcoming is None and not halted:
        # While a wave runs, the next one is the first wave still pending after it.
        upcoming = next((w.name for w in waves if w.phase is WavePhase.PENDING), None)
    clusters = tuple(_line(plan, c, states[c], progress.get(c)) for c in plan.clusters)
    return FleetStatus(
        environment=environment,
        clusters=clusters,
        waves=tuple(waves),
        next_wave=upcoming,
        next_window=next_window if upcoming is not None else None,
        soak_until=soak_until,
    )


def _line(
    plan: WavePlan, cluster: str, state: ClusterState, row: ClusterProgress | None
) -> ClusterLine:
    wave = plan.wave_of(cluster).name
    if row is None:
        return ClusterLine(cluster, wave, state, None, "")
    return ClusterLine(cluster, wave, state, running_revision(row), row.commit_sha, row.failure)


# --- JSON (the API's `fleets[]`, the webhook's `fleet`, the outbox payload) ---------


def fleet_to_json(status: FleetStatus) -> dict[str, Any]:
    """The wire form; `fleet_from_json` reads it back."""
    return {
        "environment": status.environment,
        "progress": status.progress_text(),
        "finished": status.finished,
        "halted": status.halted,
        "clusters": [
            {
                "cluster": c.cluster,
                "wave": c.wave,
                "state": str(c.state),
                "revision": c.revision,
                "target": c.target,
                "changing": c.changing,
                "failure": c.failure,
            }
            for c in status.clusters
        ],
        "waves": [
            {
                "index": w.index,
                "name": w.name,
                "clusters": list(w.clusters),
                "verified": w.verified,
                "phase": str(w.phase),
            }
            for w in status.waves
        ],
        "revisions": {k: list(v) for k, v in status.revisions().items()},
        "next_wave": status.next_wave,
        "next_window": (
            {"start": _ts(status.next_window.start), "end": _ts(status.next_window.end)}
            if status.next_window
            else None
        ),
        "soak_until": _ts(status.soak_until) if status.soak_until else None,
    }


def fleet_from_json(data: Mapping[str, Any]) -> FleetStatus:
    """Read back :func:`fleet_to_json` (KeyError/ValueError on another shape)."""
    window = data.get("next_window")
    soak = data.get("soak_until")
    return FleetStatus(
        environment=data["environment"],
        clusters=tuple(
            ClusterLine(
                c["cluster"],
                c["wave"],
                ClusterState(c["state"]),
                c.get("revision"),
                c.get("target", ""),
                c.get("failure"),
            )
            for c in data["clusters"]
        ),
        waves=tuple(
            WaveLine(
                int(w["index"]),
                w["name"],
                tuple(w["clusters"]),
                int(w["verified"]),
                WavePhase(w["phase"]),
            )
            for w in data["waves"]
        ),
        next_wave=data.get("next_wave"),
        next_window=NextWindow(_parse(window["start"]), _parse(window["end"])) if window else None,
        soak_until=_parse(soak) if soak else None,
    )


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no zone")
    return parsed.astimezone(UTC)
