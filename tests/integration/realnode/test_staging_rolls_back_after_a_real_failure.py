"""A commit whose staging smoke tests fail for real on the real node is rolled back by
the engine, and the real enforcer then lets the flow through again.

The engine is the product's; applying a revision writes its NetworkPolicies to the
real node's apiserver and waits until kube-router enforces them; the smoke stage is
the product's smoke run on real pods and packets. The bad revision moves the allowed
port (8080 -> 8081), so the expected allow is blocked by the enforcer, not by us."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rollout.config.schema import Settings
from rollout.devcluster.errors import DevApiError
from rollout.devcluster.real_node import RealNode
from rollout.engine import RolloutEngine
from rollout.kube.probes import ProbePods
from rollout.ports import Commit, StageResult
from rollout.smoke.runner import run_smoke_suite
from rollout.smoke.spec import parse_smoke_file
from rollout.smoke.suite import options_for, plan_for, stage_result
from rollout.store import open_store
from tests.harness.apiserver import ApiServer
from tests.integration.realnode.conftest import World, allow_from, default_deny_ingress
from tests.unit.engine.conftest import (
    Approvals,
    FakeClock,
    Gate,
    RecordingOps,
    RecordingScheduler,
    announce,
)

pytestmark = [pytest.mark.integration, pytest.mark.realnode]

GOOD, BAD = "a" * 40, "b" * 40


def _revision(world: World, port: int) -> list[dict[str, Any]]:
    ports = [{"port": port, "protocol": "TCP"}]
    return [
        default_deny_ingress(world.api),
        allow_from(world.api, "web-to-api", {"app": "api"}, {"team": "web"}, {"app": "web"}, ports),
    ]


@dataclass
class RealNodeOps(RecordingOps):
    """Apply and rollback put a revision's policies on the real node; smoke is real."""

    node: RealNode | None = None
    apiserver: ApiServer | None = None
    settings: Settings | None = None
    probe_pods: ProbePods | None = None
    revisions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    spec: dict[str, object] = field(default_factory=dict)
    smoke_nodes: list[str] = field(default_factory=list)

    def apply(self, environment: str, sha: str, rollout_id: str) -> StageResult:
        self._put(sha)
        return super().apply(environment, sha, rollout_id)

    def rollback(self, environment: str, to_sha: str | None, rollout_id: str) -> StageResult:
        self._put(to_sha)
        return super().rollback(environment, to_sha, rollout_id)

    def smoke(self, environment: str, sha: str, rollout_id: str) -> StageResult:
        self.calls.append(("smoke", environment, sha))
        assert self.settings is not None and self.probe_pods is not None
        env = self.settings.environment(environment)
        plan = plan_for(env, parse_smoke_file(self.spec))
        report = run_smoke_suite(plan, self.probe_pods, options_for(env, rollout_id=rollout_id))
        self.smoke_nodes.append(report.node)
        return stage_result(report)

    def _put(self, sha: str | None) -> None:
        """Create or replace the revision's policies; wait until kube-router enforces them."""
        assert self.node is not None and self.apiserver is not None and sha is not None
        rest = self.apiserver.rest()
        for policy in self.revisions[sha]:
            ns, name = policy["metadata"]["namespace"], policy["metadata"]["name"]
            path = f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies"
            try:
                current = rest.get(f"{path}/{name}")
            except DevApiError:
                rest.create(path, policy)
                continue
            body = {**policy, "metadata": {**policy["metadata"], **_version(current)}}
            rest.request("PUT", f"{path}/{name}", body)
        enforced = [
            (p["metadata"]["namespace"], p["metadata"]["name"]) for p in self.revisions[sha]
        ]
        self.node.wait_policies_enforced(enforced, timeout=30)


def _version(current: dict[str, Any]) -> dict[str, Any]:
    return {"resourceVersion": current["metadata"]["resourceVersion"]}


def test_a_real_smoke_failure_rolls_staging_back_and_the_enforcer_lets_the_flow_through(
    real_node: RealNode,
    real_node_apiserver: ApiServer,
    world: World,
    probe_pods: ProbePods,
    tmp_path: Path,
) -> None:
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
                        "image": real_node.probe_image,
                        "timeout": "3s",
                        "start_timeout": "60s",
                        "dns_check": False,  # the real node has no cluster DNS
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
    ops = RealNodeOps(
        node=real_node,
        apiserver=real_node_apiserver,
        settings=settings,
        probe_pods=probe_pods,
        revisions={GOOD: _revision(world, 8080), BAD: _revision(world, 8081)},
        spec={
            "tests": [
                {
                    "name": "web-to-api",
                    "from": {"namespace": world.web, "labels": {"app": "web"}},
                    "to": {"namespace": world.api, "labels": {"app": "api"}},
                    "port": 8080,
                    "expect": "allow",
                }
            ],
            "environments": {"staging": {"canary_namespace": world.api}},
        },
    )
    clock = FakeClock()
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", clock=clock)
    engine = RolloutEngine(
        settings, store, ops, Gate(), Approvals(), RecordingScheduler(), announce, clock
    )
    try:
        good = engine.detect(Commit(GOOD, "Bob", "bob@example.com", "good"), None)
        engine.drive_all()
        assert _state(store, good.id) == "awaiting_approval", _smoke(store, good.id)

        clock.advance(seconds=5)
        bad = engine.detect(Commit(BAD, "Bob", "bob@example.com", "bad"), GOOD)
        engine.drive_all()

        assert _state(store, bad.id) == "staging_failed"
        smoke = _smoke(store, bad.id)
        assert smoke["ok"] is False and "failing: web-to-api" in smoke["summary"]
        observed = {r["name"]: r["observed"] for r in smoke["report"]["results"]}
        assert observed["web-to-api"] == "blocked", observed  # kube-router blocked it
        assert ("rollback", "staging", GOOD) in ops.calls
        assert ops.applies("production") == []
        # Verified on the enforcer: the rolled-back policies let the flow through again.
        after = ops.smoke("staging", GOOD, "after-rollback")
        assert after.ok, after.summary
        assert ops.smoke_nodes == ["real", "real", "real"]
    finally:
        store.close()


def _state(store: Any, rollout_id: str) -> str:
    record = store.get_rollout(rollout_id)
    assert record is not None
    return str(record.state)


def _smoke(store: Any, rollout_id: str) -> dict[str, Any]:
    record = store.get_rollout(rollout_id)
    assert record is not None and isinstance(record.smoke, dict)
    return dict(record.smoke.get("staging") or {})
