"""One fleet status for every channel: each cluster's running revision, each
wave's phase, the next wave and its window, the soak and the halt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rollout.core.fleet_status import NextWindow, WavePhase, fleet_status
from rollout.core.waves import ClusterProgress, ClusterState, PlannedWave, WavePlan

NEW, OLD = "n" * 40, "o" * 40
T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
WINDOW = NextWindow(T0 + timedelta(hours=5), T0 + timedelta(hours=7))
PLAN = WavePlan(
    (
        PlannedWave(0, "canary", ("eu-1",)),
        PlannedWave(1, "europe", ("eu-2", "eu-3"), max_parallel=2, soak=None),
        PlannedWave(2, "americas", ("us-1",)),
    )
)


def _row(cluster: str, state: ClusterState, **kw: object) -> ClusterProgress:
    return ClusterProgress(cluster, state, NEW, OLD, **kw)  # type: ignore[arg-type]


def _phases(status: object) -> dict[str, WavePhase]:
    return {w.name: w.phase for w in status.waves}  # type: ignore[attr-defined]


def test_before_the_first_wave_every_cluster_runs_the_old_revision() -> None:
    rows = {c: _row(c, ClusterState.PENDING) for c in PLAN.clusters}
    status = fleet_status("production", PLAN, rows, T0, next_window=WINDOW)
    assert _phases(status) == {
        "canary": WavePhase.NEXT,
        "europe": WavePhase.PENDING,
        "americas": WavePhase.PENDING,
    }
    assert status.next_wave == "canary" and status.next_window == WINDOW
    assert status.revisions() == {OLD: ("eu-1", "eu-2", "eu-3", "us-1")}
    assert status.progress_text() == "wave 1/3 canary next: 0/1 cluster(s) verified"


def test_mid_wave_shows_changing_clusters_and_the_wave_after() -> None:
    rows = {
        "eu-1": _row("eu-1", ClusterState.VERIFIED, verified_at=T0),
        "eu-2": _row("eu-2", ClusterState.VERIFIED, verified_at=T0),
        "eu-3": _row("eu-3", ClusterState.APPLYING),
        "us-1": _row("us-1", ClusterState.PENDING),
    }
    status = fleet_status("production", PLAN, rows, T0, next_window=WINDOW)
    assert _phases(status) == {
        "canary": WavePhase.DONE,
        "europe": WavePhase.RUNNING,
        "americas": WavePhase.PENDING,
    }
    assert status.current is not None and status.current.verified == 1
    assert status.next_wave == "americas" and status.next_window == WINDOW
    assert status.revisions() == {NEW: ("eu-1", "eu-2"), "changing": ("eu-3",), OLD: ("us-1",)}
    line = {c.cluster: c for c in status.clusters}["eu-3"]
    assert line.changing and line.revision is None and line.target == NEW
    assert status.progress_text() == "wave 2/3 europe running: 1/2 cluster(s) verified"


def test_a_soaking_wave_says_until_when() -> None:
    plan = WavePlan(
        (
            PlannedWave(0, "canary", ("eu-1",), soak=timedelta(minutes=30)),
            PlannedWave(1, "rest", ("eu-2",)),
        )
    )
    rows = {"eu-1": _row("eu-1", ClusterState.VERIFIED, verified_at=T0)}
    status = fleet_status("production", plan, rows, T0 + timedelta(minutes=10))
    assert _phases(status) == {"canary": WavePhase.DONE, "rest": WavePhase.SOAKING}
    assert status.next_wave == "rest"
    assert status.soak_until == T0 + timedelta(minutes=30)
    # after the soak the wave is simply next
    later = fleet_status("production", plan, rows, T0 + timedelta(minutes=31))
    assert _phases(later)["rest"] is WavePhase.NEXT and later.soak_until is None


def test_a_failed_canary_halts_and_the_later_waves_are_skipped() -> None:
    rows = {
        "eu-1": _row("eu-1", ClusterState.ROLLED_BACK, failure="smoke: web -> db refused"),
        "eu-2": _row("eu-2", ClusterState.PENDING),
        "eu-3": _row("eu-3", ClusterState.SKIPPED),
        "us-1": _row("us-1", ClusterState.SKIPPED),
    }
    status = fleet_status("production", PLAN, rows, T0, next_window=WINDOW)
    assert _phases(status) == {
        "canary": WavePhase.HALTED,
        "europe": WavePhase.SKIPPED,
        "americas": WavePhase.SKIPPED,
    }
    assert status.halted and not status.finished
    assert status.next_wave is None and status.next_window is None
    assert status.revisions() == {OLD: ("eu-1", "eu-2", "eu-3", "us-1")}
    assert status.progress_text() == (
        "wave 1/3 canary halted: 0/1 cluster(s) verified; failed: eu-1"
    )


def test_a_finished_fleet_runs_the_new_revision_everywhere() -> None:
    rows = {c: _row(c, ClusterState.VERIFIED, verified_at=T0) for c in PLAN.clusters}
    status = fleet_status("production", PLAN, rows, T0, next_window=WINDOW)
    assert status.finished and status.next_wave is None and status.next_window is None
    assert status.revisions() == {NEW: ("eu-1", "eu-2", "eu-3", "us-1")}
    assert status.progress_text() == "all 3 wave(s) done: 4 cluster(s) verified"
