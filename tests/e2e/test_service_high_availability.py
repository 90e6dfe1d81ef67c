"""Two `rollout serve` replicas on PostgreSQL and the harness Lease: one leads; kill -9
of the leader in the middle of a rollout hands over within the lease duration,
the follower finishes the rollout, and only ever one replica applies."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes import client as k8s

from rollout.server.auth import hash_token
from tests.e2e.conftest import TOKEN, Deployment
from tests.e2e.support.replicas import Replica, postgres_database, replicas
from tests.e2e.support.world import MANY, configure, count_policies, many_policies, state_store

POSTGRES_URL_ENV = "NETPOL_TEST_POSTGRES_URL"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.integration,
    pytest.mark.postgres,
    # before the module's apiservers start, not after
    pytest.mark.skipif(
        not os.environ.get(POSTGRES_URL_ENV),
        reason=f"{POSTGRES_URL_ENV} is not set (hack/ci-postgres.sh starts one)",
    ),
]
LEASE_SECONDS = 4
HANDOVER_SLACK = 3.0  # acquisition polling and process start-up noise


@pytest.fixture
def store_url() -> Iterator[str]:
    admin = os.environ.get(POSTGRES_URL_ENV)
    if not admin:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set (hack/ci-postgres.sh starts one)")
    with postgres_database(admin) as url:
        yield url


def _lease_holder(deployment: Deployment) -> str | None:
    with deployment.staging.client() as api:
        try:
            lease = k8s.CoordinationV1Api(api).read_namespaced_lease(
                "netpol-rollout-leader", "netpol-rollout"
            )
        except k8s.ApiException as exc:
            if exc.status == 404:
                return None
            raise
    return lease.spec.holder_identity


def _wait_role(deployment: Deployment, replica: Replica, role: str, timeout: float) -> float:
    deployment.wait_for(lambda: replica.role() == role, f"{replica.identity} as {role}", timeout)
    return time.monotonic()


def test_leader_killed_mid_rollout_hands_over_and_only_one_replica_applies(
    deployment: Deployment, store_url: str
) -> None:
    def high_availability(config: dict[str, Any]) -> None:
        config["store"] = {"url": store_url}
        config["server"]["leader_election"] = True
        config["server"]["lease_duration"] = f"{LEASE_SECONDS}s"

    configure(deployment, high_availability)
    with state_store(store_url) as store:
        store.create_token("alice", hash_token(TOKEN))
    lease = deployment.staging.kubeconfig_path
    with replicas(deployment.root, deployment.config, lease, 2) as (first, second):
        first.start()
        _wait_role(deployment, first, "leader", 30)
        second.start()
        _wait_role(deployment, second, "follower", 30)
        assert _lease_holder(deployment) == first.identity
        deployment.port = second.port  # every replica serves the API: ask the follower

        sha = deployment.remote.push(many_policies("ha"), f"{MANY} policies")
        staged = count_policies(deployment.staging, "ha")
        deadline = time.monotonic() + 30
        while (seen := staged()) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        killed = first.kill9()  # the leader dies mid-apply
        assert 0 < seen < MANY, f"not mid-apply: {seen} of {MANY} objects at the kill"
        took_over = _wait_role(deployment, second, "leader", LEASE_SECONDS + HANDOVER_SLACK + 5)
        handover = took_over - killed
        assert handover <= LEASE_SECONDS + HANDOVER_SLACK, f"handover took {handover:.1f}s"
        assert _lease_holder(deployment) == second.identity

        rollout = deployment.wait_state(sha, "awaiting_approval", timeout=60)
        assert staged() == MANY
        deployment.api("POST", f"/rollouts/{rollout['id']}/approve")
        deployment.wait_state(sha, "done", timeout=60)
        assert count_policies(deployment.production, "ha")() == MANY
        assert second.terminate() == 0

    # The killed leader moved the rollout only before it died; the follower only
    # after it led; no transition or deployment twice.
    first_moves, second_moves = first.transitions(), second.transitions()
    assert not any("production" in m or "awaiting_approval" in m for m in first_moves)
    assert any("-> done" in m for m in second_moves)
    assert not set(first_moves) & set(second_moves), (first_moves, second_moves)
    leads = [r for r in second.records() if "leads" in r.get("message", "")]
    assert len(leads) == 1
    assert all(_at(r) >= _at(leads[0]) for r in _moves(second))  # never while following
    first_after_kill = [
        r for r in first.records() if _at(r) > _at(leads[0])
    ]  # nothing written by the dead leader after the handover
    assert first_after_kill == []
    with state_store(store_url) as store:
        assert [d.commit_sha for d in store.deployments("staging")] == [sha]
        assert [d.commit_sha for d in store.deployments("production")] == [sha]
        moves = [
            (e.details["from"], e.details["to"])
            for e in store.events(rollout_id=rollout["id"], kinds=["state.changed"])
        ]
        assert len(moves) == len(set(moves))


def _moves(replica: Replica) -> list[dict[str, Any]]:
    return [r for r in replica.records() if r.get("logger") == "rollout.engine" and "to" in r]


def _at(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(record["ts"])).astimezone(UTC)
