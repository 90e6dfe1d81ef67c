"""A failed smoke run in staging rolls staging back, through the real engine: the
engine's smoke step runs the real suite (probe pods on the apiserver, fake node),
and its rollback puts the previous revision's connectivity back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rollout.config.schema import Settings
from rollout.engine import RolloutEngine
from rollout.kube.probes import ProbePods
from rollout.ports import Commit, StageResult
from rollout.smoke.runner import run_smoke_suite
from rollout.smoke.spec import parse_smoke_file
from rollout.smoke.suite import options_for, plan_for, stage_result
from rollout.store import Store, open_store
from rollout.store.records import RolloutRecord
from tests.harness.apiserver import ApiServer
from tests.harness.fake_node import FakeNode, FakeSource, FakeTarget
from tests.integration.smoke.conftest import World, create_pod, policy_table
from tests.unit.engine.conftest import (
    Approvals,
    FakeClock,
    Gate,
    RecordingOps,
    RecordingScheduler,
    announce,
)

pytestmark = pytest.mark.integration

GOOD, BAD = "a" * 40, "b" * 40


@dataclass
class LiveSmokeOps(RecordingOps):
    """Apply/rollback switch the cluster's connectivity per revision; smoke is real."""

    settings: Settings | None = None
    probe_pods: ProbePods | None = None
    tables: dict[str, Callable[..., bool]] = field(default_factory=dict)
    spec: dict[str, object] = field(default_factory=dict)

    def connectivity(self, source: FakeSource, target: FakeTarget, port: int, proto: str) -> bool:
        sha = self.deployed.get("staging")
        return sha is not None and self.tables[sha](source, target, port, proto)

    def smoke(self, environment: str, sha: str, rollout_id: str) -> StageResult:
        self.calls.append(("smoke", environment, sha))
        assert self.settings is not None and self.probe_pods is not None
        env = self.settings.environment(environment)
        plan = plan_for(env, parse_smoke_file(self.spec))
        options = options_for(env, rollout_id=rollout_id, commit_sha=sha)
        return stage_result(run_smoke_suite(plan, self.probe_pods, options))


@dataclass
class Pipeline:
    engine: RolloutEngine
    ops: LiveSmokeOps
    clock: FakeClock
    store: Store

    def state(self, rollout_id: str) -> RolloutRecord:
        record = self.store.get_rollout(rollout_id)
        assert record is not None
        return record


@pytest.fixture
def rollback_on_failure() -> bool:
    return True  # the default; a test parametrizes it to False


@pytest.fixture
def pipeline(
    world: World, probe_pods: ProbePods, tmp_path: Path, rollback_on_failure: bool
) -> Iterator[Pipeline]:
    settings = Settings.model_validate(
        {
            "repository": {"path": "/tmp/policies"},
            "team": {"members": [{"name": "alice", "timezone": "UTC"}]},
            "environments": [
                {
                    "name": "staging",
                    "namespaces": list(world.namespaces),
                    "overlay": "staging",
                    "smoke": {
                        "timeout": "2s",
                        "start_timeout": "20s",
                        "rollback_on_failure": rollback_on_failure,
                    },
                },
                {
                    "name": "production",
                    "namespaces": list(world.namespaces),
                    "overlay": "production",
                    "approvals": {"required": 1},
                },
            ],
        }
    )
    web, api = {"app": "web"}, {"app": "api"}
    ops = LiveSmokeOps(settings=settings, probe_pods=probe_pods)
    ops.tables = {
        GOOD: policy_table(world, [(world.web, web, world.api, api, 8080)]),
        BAD: policy_table(world, []),  # the bad revision forgot the web -> api rule
    }
    ops.spec = {
        "tests": [
            {
                "name": "web-to-api",
                "from": {"namespace": world.web, "labels": web},
                "to": {"namespace": world.api, "labels": api},
                "port": 8080,
                "expect": "allow",
            }
        ]
    }
    clock = FakeClock()
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", clock=clock)
    engine = RolloutEngine(
        settings, store, ops, Gate(), Approvals(), RecordingScheduler(), announce, clock
    )
    try:
        yield Pipeline(engine, ops, clock, store)
    finally:
        store.close()


def test_failed_staging_smoke_rolls_staging_back_and_blocks_production(
    apiserver: ApiServer,
    world: World,
    pipeline: Pipeline,
    fake_node_factory: Callable[..., FakeNode],
) -> None:
    engine, ops = pipeline.engine, pipeline.ops
    create_pod(apiserver, world.api, "api-0", {"app": "api"})
    fake_node_factory(ops.connectivity, namespaces=world.namespaces)

    good = engine.detect(Commit(GOOD, "Bob", "bob@example.com", "good"), None)
    engine.drive_all()
    assert pipeline.state(good.id).state == "awaiting_approval"  # staging verified

    pipeline.clock.advance(seconds=5)
    bad = engine.detect(Commit(BAD, "Bob", "bob@example.com", "bad"), GOOD)
    engine.drive_all()

    record = pipeline.state(bad.id)
    assert record.state == "staging_failed"
    assert ("rollback", "staging", GOOD) in ops.calls
    assert ops.deployed["staging"] == GOOD  # the good revision's connectivity is back
    assert ops.applies("production") == []
    smoke = record.smoke["staging"]
    assert smoke["ok"] is False
    assert "failing: web-to-api" in smoke["summary"]


@pytest.mark.parametrize("rollback_on_failure", [False])
def test_without_rollback_on_failure_staging_keeps_the_failed_revision(
    apiserver: ApiServer,
    world: World,
    pipeline: Pipeline,
    fake_node_factory: Callable[..., FakeNode],
) -> None:
    engine, ops = pipeline.engine, pipeline.ops
    create_pod(apiserver, world.api, "api-0", {"app": "api"})
    fake_node_factory(ops.connectivity, namespaces=world.namespaces)

    good = engine.detect(Commit(GOOD, "Bob", "bob@example.com", "good"), None)
    engine.drive_all()
    assert pipeline.state(good.id).state == "awaiting_approval"

    pipeline.clock.advance(seconds=5)
    bad = engine.detect(Commit(BAD, "Bob", "bob@example.com", "bad"), GOOD)
    engine.drive_all()

    record = pipeline.state(bad.id)
    assert record.state == "staging_failed"
    assert not [call for call in ops.calls if call[0] == "rollback"]
    assert ops.deployed["staging"] == BAD  # the failed apply is kept, as configured
    assert ops.applies("production") == []
    assert record.smoke["staging"]["ok"] is False
