"""An engine over a real SQLite store, with ports that record what they were asked."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rollout.config.schema import Settings
from rollout.engine import RolloutEngine
from rollout.ports import ChangeAnalysis, Commit, StageResult
from rollout.store import Store, open_store
from rollout.store.records import OutboxItem, RolloutRecord


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class RecordingOps:
    """EnvironmentOps that remembers every call and what each cluster holds."""

    deployed: dict[str, str | None] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    invalid: set[str] = field(default_factory=set)
    failing_smoke: set[tuple[str, str]] = field(default_factory=set)
    failing_apply: set[tuple[str, str]] = field(default_factory=set)

    def validate(self, environment: str, sha: str) -> StageResult:
        self.calls.append(("validate", environment, sha))
        if sha in self.invalid:
            return StageResult(False, "kustomize failed")
        return StageResult(True, "2 objects valid")

    def apply(self, environment: str, sha: str, rollout_id: str) -> StageResult:
        self.calls.append(("apply", environment, sha))
        if (environment, sha) in self.failing_apply:
            return StageResult(False, "refused by the apiserver")
        self.deployed[environment] = sha
        return StageResult(True, "applied", {"content_hash": f"h-{sha}"})

    def deployed_sha(self, environment: str) -> str | None:
        return self.deployed.get(environment)

    def rollback(self, environment: str, to_sha: str | None, rollout_id: str) -> StageResult:
        self.calls.append(("rollback", environment, str(to_sha)))
        self.deployed[environment] = to_sha
        return StageResult(True, "rolled back", {"content_hash": f"h-{to_sha}"})

    def smoke(self, environment: str, sha: str, rollout_id: str) -> StageResult:
        self.calls.append(("smoke", environment, sha))
        if (environment, sha) in self.failing_smoke:
            return StageResult(False, "1 of 3 checks failed", {"failed": 1})
        return StageResult(True, "3 checks passed", {"passed": 3})

    def analyse(self, environment: str, old_sha: str | None, new_sha: str) -> ChangeAnalysis:
        return ChangeAnalysis({"opened": 1}, {"findings": []}, {"opened": []})

    def applies(self, environment: str) -> list[str]:
        return [c[2] for c in self.calls if c[0] == "apply" and c[1] == environment]


@dataclass
class Gate:
    """Open or closed; a fleet's waves listed in `closed_waves` are closed on their own."""

    open_: bool = True
    next_: datetime | None = None
    closed_waves: dict[str, datetime] = field(default_factory=dict)
    asked: list[tuple[str, str | None]] = field(default_factory=list)

    def usable_now(self, environment: str, now: datetime, *, wave: str | None = None) -> bool:
        self.asked.append((environment, wave))
        if wave in self.closed_waves:
            return now >= self.closed_waves[wave]
        return self.open_

    def next_start(
        self, environment: str, now: datetime, *, wave: str | None = None
    ) -> datetime | None:
        if wave in self.closed_waves:
            return max(now, self.closed_waves[wave])
        return now if self.open_ else self.next_


@dataclass
class Approvals:
    granted_: bool = False

    stages: dict[str, bool] = field(default_factory=dict)

    def granted(self, rollout_id: str, environment: str, now: datetime) -> tuple[bool, str]:
        # A fleet's wave (`env/wave`) has its own approvals: none until given in `stages`.
        granted = self.stages.get(environment, "/" not in environment and self.granted_)
        return granted, "alice approved" if granted else "needs 1 more approval"


@dataclass
class RecordingScheduler:
    wakes: dict[str, datetime] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)

    def wake_at(self, rollout_id: str, at: datetime) -> None:
        self.wakes[rollout_id] = at

    def cancel(self, rollout_id: str) -> None:
        self.cancelled.append(rollout_id)
        self.wakes.pop(rollout_id, None)


def announce(rollout: RolloutRecord, event: str, details: Mapping[str, Any]) -> list[OutboxItem]:
    return [
        OutboxItem(
            channel="slack",
            event=event,
            idempotency_key=f"{rollout.id}:{rollout.environment}:{event}{_wave(details)}:slack",
            payload={"state": rollout.state, "environment": rollout.environment},
            rollout_id=rollout.id,
        )
    ]


def _wave(details: Mapping[str, Any]) -> str:
    """A fleet's `wave.passed` is one event per wave (the announcer's sequence)."""
    return f":{details['wave']}" if "wave" in details else ""


SETTINGS = {
    "repository": {"path": "/tmp/policies"},
    "team": {"members": [{"name": "alice", "timezone": "UTC"}]},
    "environments": [
        {"name": "staging", "namespaces": ["apps"], "overlay": "staging"},
        {
            "name": "production",
            "namespaces": ["apps"],
            "overlay": "production",
            "approvals": {"required": 1},
        },
    ],
}


@dataclass
class World:
    engine: RolloutEngine
    store: Store
    ops: RecordingOps
    gate: Gate
    approvals: Approvals
    scheduler: RecordingScheduler
    clock: FakeClock
    settings: Settings

    def commit(self, sha: str, previous: str | None = None) -> RolloutRecord:
        self.clock.advance(seconds=1)
        return self.engine.detect(Commit(sha, "Bob", "bob@example.com", f"change {sha}"), previous)

    def state(self, rollout_id: str) -> str:
        record = self.store.get_rollout(rollout_id)
        assert record is not None
        return record.state

    def rebuilt(self) -> RolloutEngine:
        """A new engine on the same store and clusters: a restarted process."""
        return RolloutEngine(
            self.settings,
            self.store,
            self.ops,
            self.gate,
            self.approvals,
            self.scheduler,
            announce,
            self.clock,
        )


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = FakeClock()
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", clock=clock)
    settings = Settings.model_validate(SETTINGS)
    ops, gate, approvals, scheduler = RecordingOps(), Gate(), Approvals(), RecordingScheduler()
    engine = RolloutEngine(settings, store, ops, gate, approvals, scheduler, announce, clock)
    try:
        yield World(engine, store, ops, gate, approvals, scheduler, clock, settings)
    finally:
        store.close()
