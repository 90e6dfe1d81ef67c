"""next_step, driven to the end by a simulated fleet: waves in order, at most
max_parallel at once, soak honoured, the first failure halts before the next wave,
and a restart at any point (the same recorded progress) resumes without repeats."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rollout.core.waves import (
    IN_FLIGHT,
    ClusterProgress,
    ClusterSpec,
    ClusterState,
    Finished,
    Halt,
    Soak,
    WavePlan,
    WaveSpec,
    Work,
    next_step,
    plan_waves,
    running_revision,
)

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
NEW, OLD = "new", "old"


def _plan(sizes: list[int], parallel: list[int], rollback_wave: list[bool]) -> WavePlan:
    clusters, waves = [], []
    for w, size in enumerate(sizes):
        names = tuple(f"c{w}-{i}" for i in range(size))
        clusters += [ClusterSpec(n) for n in names]
        waves.append(
            WaveSpec(
                f"w{w}",
                clusters=names,
                max_parallel=parallel[w],
                soak=timedelta(minutes=w + 1),
                rollback_wave=rollback_wave[w],
            )
        )
    return plan_waves(clusters, waves)


Run = tuple[list[list[str]], dict[str, ClusterProgress], object, dict[str, datetime]]


def _simulate(plan: WavePlan, fails: str | None) -> Run:
    """Drive the plan: the batches applied, final progress, last step, start times."""
    progress = {c: ClusterProgress(c, ClusterState.PENDING, NEW, OLD) for c in plan.clusters}
    started: dict[str, datetime] = {}
    now = T0
    batches: list[list[str]] = []
    for _ in range(500):
        step = next_step(plan, progress, now)
        if isinstance(step, Finished):
            return batches, progress, step, started
        if isinstance(step, Soak):
            assert step.until > now
            now = step.until
            continue
        if isinstance(step, Halt):
            if not step.rollback and not step.skip:
                return batches, progress, step, started
            for c in step.rollback:
                progress[c] = replace(progress[c], state=ClusterState.ROLLED_BACK)
            for c in step.skip:
                progress[c] = replace(progress[c], state=ClusterState.SKIPPED)
            continue
        assert isinstance(step, Work)
        batch = [*step.resume, *step.new]
        assert 0 < len(batch) <= step.wave.max_parallel
        batches.append(batch)
        for c in batch:
            started.setdefault(c, now)
            assert progress[c].state in (ClusterState.PENDING, *IN_FLIGHT)
            if c == fails:
                progress[c] = replace(progress[c], state=ClusterState.ROLLING_BACK, failure="x")
            else:
                progress[c] = replace(progress[c], state=ClusterState.VERIFIED, verified_at=now)
        now += timedelta(seconds=30)
    raise AssertionError("did not finish in 500 steps")


shapes = st.integers(1, 4).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(1, 5), min_size=n, max_size=n),
        st.lists(st.integers(1, 3), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
    )
)


@settings(max_examples=150, deadline=None)
@given(shapes)
def test_a_good_revision_reaches_every_cluster_wave_by_wave(shape: tuple) -> None:  # type: ignore[type-arg]
    plan = _plan(*shape)
    batches, progress, last, started = _simulate(plan, fails=None)

    assert isinstance(last, Finished)
    applied = [c for batch in batches for c in batch]
    assert applied == list(plan.clusters)  # each once, in plan (wave) order
    assert all(running_revision(p) == NEW for p in progress.values())
    for wave in plan.waves[1:]:
        previous = plan.waves[wave.index - 1]
        passed = max(progress[c].verified_at or T0 for c in previous.clusters)
        assert previous.soak is not None
        assert min(started[c] for c in wave.clusters) >= passed + previous.soak


@settings(max_examples=150, deadline=None)
@given(shapes, st.data())
def test_the_first_failure_halts_before_the_next_wave(shape: tuple, data: st.DataObject) -> None:  # type: ignore[type-arg]
    plan = _plan(*shape)
    failing = data.draw(st.sampled_from(plan.clusters))
    wave = plan.wave_of(failing)
    batches, progress, last, _ = _simulate(plan, fails=failing)

    assert isinstance(last, Halt)
    assert last.failed == (failing,)
    applied = {c for batch in batches for c in batch}
    later = {c for w in plan.waves[wave.index + 1 :] for c in w.clusters}
    assert not applied & later
    assert all(progress[c].state is ClusterState.SKIPPED for c in later)
    assert progress[failing].state is ClusterState.ROLLED_BACK
    assert running_revision(progress[failing]) == OLD
    for c in wave.clusters:
        if c in applied and c != failing:
            expected = ClusterState.ROLLED_BACK if wave.rollback_wave else ClusterState.VERIFIED
            assert progress[c].state is expected
    for w in plan.waves[: wave.index]:
        assert all(progress[c].state is ClusterState.VERIFIED for c in w.clusters)


def test_a_restart_resumes_in_flight_clusters_before_starting_new_ones() -> None:
    plan = _plan([4], [2], [False])
    progress = {
        "c0-0": ClusterProgress("c0-0", ClusterState.VERIFIED, NEW, verified_at=T0),
        "c0-1": ClusterProgress("c0-1", ClusterState.APPLYING, NEW),
    }
    step = next_step(plan, progress, T0)
    assert step == Work(plan.waves[0], ("c0-1",), ("c0-2",), starting=False)


def test_a_failure_beside_clusters_in_flight_lets_them_finish_first() -> None:
    plan = _plan([3], [3], [False])
    progress = {
        "c0-0": ClusterProgress("c0-0", ClusterState.ROLLING_BACK, NEW, failure="smoke"),
        "c0-1": ClusterProgress("c0-1", ClusterState.APPLIED, NEW),
    }
    assert next_step(plan, progress, T0) == Work(plan.waves[0], ("c0-1",), (), starting=False)
    progress["c0-1"] = replace(progress["c0-1"], state=ClusterState.VERIFIED)
    assert next_step(plan, progress, T0) == Halt(("c0-0",), ("c0-0",), ("c0-2",))


def test_the_next_wave_waits_for_the_soak_of_the_last() -> None:
    plan = _plan([1, 1], [1, 1], [False, False])
    progress = {"c0-0": ClusterProgress("c0-0", ClusterState.VERIFIED, NEW, verified_at=T0)}
    step = next_step(plan, progress, T0 + timedelta(seconds=20))
    assert step == Soak(plan.waves[0], plan.waves[1], T0 + timedelta(minutes=1))
    later = next_step(plan, progress, T0 + timedelta(minutes=1))
    assert later == Work(plan.waves[1], (), ("c1-0",), starting=True)


@settings(max_examples=150, deadline=None)
@given(shapes, st.data())
def test_a_stop_at_any_point_rolls_back_every_cluster_reached(
    shape: tuple,  # type: ignore[type-arg]
    data: st.DataObject,
) -> None:
    plan = _plan(*shape)
    progress = {c: ClusterProgress(c, ClusterState.PENDING, NEW, OLD) for c in plan.clusters}
    # Some clusters verified, some in flight (a person stops the rollout mid-wave).
    for c in plan.clusters:
        state = data.draw(
            st.sampled_from([ClusterState.PENDING, ClusterState.APPLYING, ClusterState.VERIFIED])
        )
        progress[c] = replace(progress[c], state=state, verified_at=T0)
    reached = {c for c, p in progress.items() if p.state is not ClusterState.PENDING}
    for _ in range(50):
        step = next_step(plan, progress, T0, stopped=True)
        if isinstance(step, Work):  # clusters in flight finish first; nothing new starts
            assert not step.new and step.resume
            for c in step.resume:
                progress[c] = replace(progress[c], state=ClusterState.VERIFIED)
            continue
        assert isinstance(step, Halt)
        if not step.rollback and not step.skip:
            break
        for c in step.rollback:
            progress[c] = replace(progress[c], state=ClusterState.ROLLED_BACK)
        for c in step.skip:
            progress[c] = replace(progress[c], state=ClusterState.SKIPPED)
    else:
        raise AssertionError("did not halt")
    assert step.failed == ()
    assert {c for c, p in progress.items() if p.state is ClusterState.ROLLED_BACK} == reached
    assert all(running_revision(p) == OLD for p in progress.values())
