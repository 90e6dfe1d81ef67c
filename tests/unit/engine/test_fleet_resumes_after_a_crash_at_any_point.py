"""A crash (the process dies: a BaseException, no cleanup) at any point of a fleet
rollout, then a restarted engine on the same store: every cluster ends on the new
revision, none applied twice once its apply was complete, none forgotten."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from rollout.ports import StageResult
from tests.unit.engine.conftest import RecordingOps, World
from tests.unit.engine.fleet_world import CLUSTERS, approved, cluster_states, fleet

__all__ = ["fleet"]


class Crash(BaseException):
    """kill -9: nothing after it runs in this process."""


@dataclass
class CrashingOps(RecordingOps):
    """Dies once, at (operation, target, before|after its effect)."""

    crash_at: tuple[str, str, str] | None = None
    crashed: list[tuple[str, str, str]] = field(default_factory=list)

    def _maybe(self, op: str, target: str, when: str) -> None:
        if self.crash_at == (op, target, when):
            self.crash_at = None
            self.crashed.append((op, target, when))
            raise Crash(f"killed {when} {op} of {target}")

    def validate(self, environment: str, sha: str) -> StageResult:
        self._maybe("validate", environment, "before")
        return super().validate(environment, sha)

    def apply(self, environment: str, sha: str, rollout_id: str) -> StageResult:
        self._maybe("apply", environment, "before")
        result = super().apply(environment, sha, rollout_id)
        self._maybe("apply", environment, "after")
        return result

    def smoke(self, environment: str, sha: str, rollout_id: str) -> StageResult:
        self._maybe("smoke", environment, "before")
        result = super().smoke(environment, sha, rollout_id)
        self._maybe("smoke", environment, "after")
        return result

    def rollback(self, environment: str, to_sha: str | None, rollout_id: str) -> StageResult:
        self._maybe("rollback", environment, "before")
        result = super().rollback(environment, to_sha, rollout_id)
        self._maybe("rollback", environment, "after")
        return result


POINTS = [
    (op, f"production/{cluster}", when)
    for cluster in CLUSTERS
    for op in ("validate", "apply", "smoke")
    for when in ("before", "after")
    if not (op == "validate" and when == "after")
]


def _restart_until_done(world: World, rollout: str) -> None:
    for _ in range(5):
        try:
            world.engine.drive_all()
            world.clock.advance(minutes=5)
            world.engine.drive_all()
        except Crash:
            world.engine = world.rebuilt()  # a new process on the same store and clusters
            continue
        if world.state(rollout) in ("done", "production_failed"):
            return
    raise AssertionError(f"not finished: {world.state(rollout)}")


@pytest.mark.parametrize("point", POINTS, ids=["-".join(p) for p in POINTS])
def test_a_crash_anywhere_converges_without_applying_twice(
    fleet: World, point: tuple[str, str, str]
) -> None:
    ops = CrashingOps(crash_at=point)
    fleet.ops = ops
    fleet.engine = fleet.rebuilt()
    rollout = approved(fleet)

    _restart_until_done(fleet, rollout)

    assert ops.crashed == [point]
    assert fleet.state(rollout) == "done"
    assert set(cluster_states(fleet, rollout).values()) == {"verified"}
    assert all(ops.deployed[f"production/{c}"] == "good1" for c in CLUSTERS)
    applies = Counter(c[1] for c in ops.calls if c[0] == "apply" and "/" in c[1])
    # A cluster whose apply completed before the crash is recorded, not applied again
    # (its own state names the revision); one killed before it applied is applied once.
    assert applies == Counter({f"production/{c}": 1 for c in CLUSTERS})
    verified = fleet.store.events(rollout_id=rollout, kinds=["fleet.cluster.verified"])
    assert sorted(e.details["cluster"] for e in verified) == sorted(CLUSTERS)


def test_a_crash_during_a_rollback_finishes_the_rollback_after_restart(fleet: World) -> None:
    ops = CrashingOps(crash_at=("rollback", "production/canary-1", "before"))
    ops.failing_smoke.add(("production/canary-1", "bad"))
    fleet.ops = ops
    fleet.engine = fleet.rebuilt()
    rollout = approved(fleet, "bad")

    _restart_until_done(fleet, rollout)

    assert fleet.state(rollout) == "production_failed"
    assert cluster_states(fleet, rollout)["canary-1"] == "rolled_back"
    assert ops.deployed["production/canary-1"] is None  # nothing of ours before
    assert not [
        c
        for c in ops.calls
        if c[0] == "apply" and c[1] != "production/canary-1" and c[1] != "staging"
    ]


def test_a_crash_before_the_fleet_is_marked_verified_announces_production_applied_once(
    fleet: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    rollout = approved(fleet)
    transition = fleet.store.transition
    crashed: list[str] = []

    def dies_once_before_verified(*args: Any, **kwargs: Any) -> Any:
        if args[2] == "production_verified" and not crashed:
            crashed.append(args[0])
            raise Crash("killed after production.applied was queued")
        return transition(*args, **kwargs)

    monkeypatch.setattr(fleet.store, "transition", dies_once_before_verified)

    _restart_until_done(fleet, rollout)

    assert crashed == [rollout]
    assert fleet.state(rollout) == "done"
    applied = [
        i for i in fleet.store.outbox_items(rollout_id=rollout) if i.event == "production.applied"
    ]
    # Queued by both processes; the outbox kept one per channel.
    assert [i.idempotency_key for i in applied] == [
        f"{rollout}:production:production.applied:slack"
    ]
