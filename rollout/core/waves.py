"""Fleets: an environment of many clusters, rolled out in waves (pure: no I/O, no clock).

An environment with `clusters:` is applied wave by wave. This module holds
the rules, as functions of the configuration and of the recorded per-cluster
progress (the store keeps one row per rollout, environment and cluster):

- :func:`plan_waves` turns the configured clusters and waves into an ordered
  :class:`WavePlan`, or lists every problem (unknown cluster, a selector that
  matches nothing, a cluster in two waves or in none).
- :func:`next_step` says what to do now: work on some clusters of the current
  wave (resuming those a crash interrupted first, then new ones up to
  `max_parallel`), wait for a wave's soak, halt and roll back, or finish.
- :func:`running_revision` says which revision a cluster runs, from its row.

Per-cluster states (`ClusterState`)::

    pending -> applying -> applied -> verified
                   |          |          \\-> rolling_back (on_failure: wave) -> rolled_back
                   \\-> rolling_back -> rolled_back     (validate/apply/smoke failed)
                   \\-> failed                          (failed, rollback_on_failure: false)
    pending -> skipped                                  (the rollout halted before it)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

DEFAULT_WAVE = "all"


class ClusterState(StrEnum):
    """Where one cluster of a fleet is in one rollout."""

    PENDING = "pending"
    APPLYING = "applying"
    APPLIED = "applied"
    VERIFIED = "verified"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"
    SKIPPED = "skipped"


# Audit event: a person stopped a fleet rollout mid-way (`rollout reject` while its
# waves run); details `reason`. The engine halts it and rolls back what it reached.
STOP_REQUESTED = "fleet.stop_requested"
# Work started on the cluster and not finished: resumed first after a restart.
IN_FLIGHT = frozenset({ClusterState.APPLYING, ClusterState.APPLIED})
# A cluster in one of these halts the rollout.
HALTING = frozenset({ClusterState.ROLLING_BACK, ClusterState.ROLLED_BACK, ClusterState.FAILED})
FINAL = frozenset(
    {
        ClusterState.VERIFIED,
        ClusterState.ROLLED_BACK,
        ClusterState.FAILED,
        ClusterState.SKIPPED,
    }
)

_CLUSTER_NEXT: dict[ClusterState, frozenset[ClusterState]] = {
    ClusterState.PENDING: frozenset({ClusterState.APPLYING, ClusterState.SKIPPED}),
    ClusterState.APPLYING: frozenset(
        {ClusterState.APPLIED, ClusterState.ROLLING_BACK, ClusterState.FAILED}
    ),
    ClusterState.APPLIED: frozenset(
        {ClusterState.VERIFIED, ClusterState.ROLLING_BACK, ClusterState.FAILED}
    ),
    ClusterState.VERIFIED: frozenset({ClusterState.ROLLING_BACK}),
    ClusterState.ROLLING_BACK: frozenset({ClusterState.ROLLED_BACK}),
}


def cluster_predecessors(target: ClusterState) -> frozenset[ClusterState]:
    """The states a cluster may reach `target` from in one step (for compare-and-set)."""
    return frozenset(s for s, nexts in _CLUSTER_NEXT.items() if target in nexts)


# --- the plan ----------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterSpec:
    """A configured cluster: its name and the labels wave selectors match."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WaveSpec:
    """A configured wave: clusters by name or by selector, and how it runs."""

    name: str
    clusters: tuple[str, ...] = ()
    selector: Mapping[str, str] | None = None
    max_parallel: int = 1
    soak: timedelta | None = None
    rollback_wave: bool = False
    needs_approval: bool = False


@dataclass(frozen=True)
class PlannedWave:
    """A wave of the plan: its clusters resolved, in order."""

    index: int
    name: str
    clusters: tuple[str, ...]
    max_parallel: int = 1
    soak: timedelta | None = None
    rollback_wave: bool = False
    needs_approval: bool = False


@dataclass(frozen=True)
class WavePlan:
    waves: tuple[PlannedWave, ...]

    def wave_of(self, cluster: str) -> PlannedWave:
        """The wave holding `cluster`; KeyError for a cluster in none."""
        for wave in self.waves:
            if cluster in wave.clusters:
                return wave
        raise KeyError(cluster)

    @property
    def clusters(self) -> tuple[str, ...]:
        """Every cluster, in the order they are rolled out."""
        return tuple(c for wave in self.waves for c in wave.clusters)


class WavePlanError(ValueError):
    """The configured clusters and waves do not make a plan; `problems` says why.

    Each problem starts with the field path inside the environment
    (`waves[1].clusters[0]: ...`), so configuration errors can name it.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


def plan_waves(clusters: Sequence[ClusterSpec], waves: Sequence[WaveSpec]) -> WavePlan:
    """Resolve `waves` over `clusters`; without waves, one wave of every cluster in order.

    Raises WavePlanError listing every problem: a duplicate cluster or wave
    name, a wave with both or neither of clusters and selector, an unknown
    cluster, a selector matching no cluster, a cluster in two waves or in none.
    """
    problems: list[str] = []
    known: dict[str, ClusterSpec] = {}
    for index, cluster in enumerate(clusters):
        if cluster.name in known:
            problems.append(f"clusters[{index}].name: duplicate cluster {cluster.name!r}")
        known[cluster.name] = cluster
    if not clusters:
        problems.append("clusters: list at least one cluster")
    if not waves:
        if problems:
            raise WavePlanError(problems)
        return WavePlan((PlannedWave(0, DEFAULT_WAVE, tuple(known)),))
    placed: dict[str, int] = {}
    planned: list[PlannedWave] = []
    names: set[str] = set()
    for index, wave in enumerate(waves):
        where = f"waves[{index}]"
        if wave.name in names:
            problems.append(f"{where}.name: duplicate wave {wave.name!r}")
        names.add(wave.name)
        members = _members(wave, known, where, problems)
        for name in members:
            if name in placed:
                first = placed[name]
                problems.append(
                    f"{where}: cluster {name!r} is already in wave {waves[first].name!r} "
                    f"(waves[{first}]): a cluster belongs to exactly one wave"
                )
            else:
                placed[name] = index
        planned.append(
            PlannedWave(
                index=index,
                name=wave.name,
                clusters=tuple(m for m in members if placed.get(m) == index),
                max_parallel=wave.max_parallel,
                soak=wave.soak,
                rollback_wave=wave.rollback_wave,
                needs_approval=wave.needs_approval,
            )
        )
        if wave.max_parallel < 1:
            problems.append(f"{where}.max_parallel: must be >= 1, got {wave.max_parallel}")
    for index, cluster in enumerate(clusters):
        if cluster.name not in placed:
            problems.append(
                f"clusters[{index}]: cluster {cluster.name!r} is in no wave (name it in a "
                "wave's clusters, or give it labels a wave's selector matches)"
            )
    if problems:
        raise WavePlanError(problems)
    return WavePlan(tuple(planned))


def _members(
    wave: WaveSpec, known: Mapping[str, ClusterSpec], where: str, problems: list[str]
) -> tuple[str, ...]:
    if wave.clusters and wave.selector is not None:
        problems.append(f"{where}: give clusters or selector, not both")
        return ()
    if wave.selector is not None:
        matched = tuple(
            name
            for name, spec in known.items()
            if all(spec.labels.get(k) == v for k, v in wave.selector.items())
        )
        if not matched:
            wanted = ", ".join(f"{k}={v}" for k, v in sorted(wave.selector.items())) or "{}"
            problems.append(f"{where}.selector: {wanted} matches no cluster")
        return matched
    if not wave.clusters:
        problems.append(f"{where}: name its clusters (clusters: [...]) or give a selector")
        return ()
    for index, name in enumerate(wave.clusters):
        if name not in known:
            listing = ", ".join(known) or "none"
            problems.append(
                f"{where}.clusters[{index}]: no cluster {name!r} in clusters (known: {listing})"
            )
    return tuple(name for name in wave.clusters if name in known)


# --- progress and the next step ------------------------------------------------------


@dataclass(frozen=True)
class ClusterProgress:
    """One cluster's recorded state in one rollout."""

    cluster: str
    state: ClusterState
    commit_sha: str
    previous_sha: str | None = None
    updated_at: datetime | None = None
    verified_at: datetime | None = None
    failure: str | None = None
    """Why this cluster failed (None: it did not, even if rolled back with its wave)."""


class ProgressRow(Protocol):
    """A recorded row of one cluster's progress (the store's `FleetClusterRecord`)."""

    @property
    def cluster(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def commit_sha(self) -> str: ...
    @property
    def previous_sha(self) -> str | None: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def verified_at(self) -> datetime | None: ...
    @property
    def failure(self) -> str | None: ...


def progress_of(rows: Iterable[ProgressRow]) -> dict[str, ClusterProgress]:
    """Recorded rows as the progress `next_step` reads, by cluster name."""
    return {
        r.cluster: ClusterProgress(
            cluster=r.cluster,
            state=ClusterState(r.state),
            commit_sha=r.commit_sha,
            previous_sha=r.previous_sha,
            updated_at=r.updated_at,
            verified_at=r.verified_at,
            failure=r.failure,
        )
        for r in rows
    }


@dataclass(frozen=True)
class Work:
    """Work on `clusters` of `wave` now: resume those in flight, start pending ones.

    `starting` is true when nothing of the wave has begun yet (its window and
    any further approval are checked first); `new` are the pending clusters
    this step may start, `resume` those a crash or an earlier step left
    half done."""

    wave: PlannedWave
    resume: tuple[str, ...]
    new: tuple[str, ...]
    starting: bool


@dataclass(frozen=True)
class Soak:
    """The previous wave passed; the next one starts at `until`."""

    wave: PlannedWave
    next_wave: PlannedWave
    until: datetime


@dataclass(frozen=True)
class Halt:
    """A cluster failed (or a person stopped the rollout): roll back `rollback` (in
    that order), skip `skip`, then fail.

    `failed` are the clusters that failed (not those rolled back with them)."""

    failed: tuple[str, ...]
    rollback: tuple[str, ...]
    skip: tuple[str, ...]


@dataclass(frozen=True)
class Finished:
    """Every cluster of every wave is verified."""


Step = Work | Soak | Halt | Finished


def next_step(
    plan: WavePlan,
    progress: Mapping[str, ClusterProgress],
    now: datetime,
    *,
    stopped: bool = False,
) -> Step:
    """What to do next, from the recorded progress alone (so a restart resumes exactly).

    A cluster without a row counts as pending. A failed cluster halts the
    rollout: clusters in flight beside it finish first, then it and (with
    `rollback_wave`) the verified rest of its wave are rolled back, and
    clusters never started are skipped. A rollout `stopped` by a person halts
    the same way, rolling back every cluster it reached. Otherwise the
    first wave not fully verified is worked on, after the previous wave's soak.
    """
    states = {c: _state(progress, c) for c in plan.clusters}
    halting = [c for c in plan.clusters if states[c] in HALTING]
    if halting or stopped:
        # Clusters started together with the one that failed finish first (a
        # crash may have interrupted them); then the halt.
        in_flight = tuple(c for c in plan.clusters if states[c] in IN_FLIGHT)
        if in_flight:
            return Work(plan.wave_of(in_flight[0]), in_flight, (), starting=False)
        return _halt(plan, progress, states, halting, every_wave=stopped)
    previous: PlannedWave | None = None
    for wave in plan.waves:
        if all(states[c] is ClusterState.VERIFIED for c in wave.clusters):
            previous = wave
            continue
        touched = [c for c in wave.clusters if states[c] is not ClusterState.PENDING]
        if not touched and previous is not None and previous.soak is not None:
            passed = [progress[c].verified_at for c in previous.clusters if c in progress]
            ends = [t for t in passed if t is not None]
            if ends:
                until = max(ends) + previous.soak
                if now < until:
                    return Soak(previous, wave, until)
        resume = tuple(c for c in wave.clusters if states[c] in IN_FLIGHT)
        room = max(wave.max_parallel - len(resume), 0)
        pending = [c for c in wave.clusters if states[c] is ClusterState.PENDING]
        return Work(wave, resume, tuple(pending[:room]), starting=not touched)
    return Finished()


def _state(progress: Mapping[str, ClusterProgress], cluster: str) -> ClusterState:
    found = progress.get(cluster)
    return found.state if found is not None else ClusterState.PENDING


def _halt(
    plan: WavePlan,
    progress: Mapping[str, ClusterProgress],
    states: Mapping[str, ClusterState],
    halting: Sequence[str],
    *,
    every_wave: bool = False,
) -> Halt:
    failed = tuple(c for c in halting if progress[c].failure is not None)
    rollback: list[str] = [c for c in halting if states[c] is ClusterState.ROLLING_BACK]
    for wave in plan.waves:
        if every_wave or (wave.rollback_wave and any(c in halting for c in wave.clusters)):
            rollback += [
                c for c in wave.clusters if states[c] is ClusterState.VERIFIED and c not in rollback
            ]
    skip = tuple(c for c in plan.clusters if states[c] is ClusterState.PENDING)
    return Halt(failed, tuple(rollback), skip)


def running_revision(row: ClusterProgress) -> str | None:
    """The revision the cluster runs after this row (None: unknown or nothing of ours).

    A cluster being applied or rolled back is changing; it is reported as
    None ("changing") rather than guessed."""
    if row.state in (ClusterState.APPLIED, ClusterState.VERIFIED, ClusterState.FAILED):
        return row.commit_sha
    if row.state in (ClusterState.PENDING, ClusterState.SKIPPED, ClusterState.ROLLED_BACK):
        return row.previous_sha
    return None


def cluster_target(environment: str, cluster: str) -> str:
    """The name one cluster of a fleet is addressed by in operations: `env/cluster`."""
    return f"{environment}/{cluster}"


def split_target(target: str) -> tuple[str, str | None]:
    """`env/cluster` -> (env, cluster); a plain environment name -> (name, None)."""
    environment, _, cluster = target.partition("/")
    return environment, cluster or None


def wave_awaiting_approval(
    plan: WavePlan, progress: Mapping[str, ClusterProgress], now: datetime
) -> PlannedWave | None:
    """The wave about to start that asks for a further approval (None: no such wave now)."""
    step = next_step(plan, progress, now)
    if isinstance(step, Work) and step.starting and step.wave.needs_approval:
        return step.wave
    return None


def wave_stage(environment: str, wave: str) -> str:
    """The stage a further approval before `wave` is recorded under: `env/wave`."""
    return f"{environment}/{wave}"
