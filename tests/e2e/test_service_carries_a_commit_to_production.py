"""End to end: a pushed commit goes through staging, an approval, production;
a bad commit stops before production; kill -9 at each stage converges."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rollout.store import open_store
from tests.e2e.conftest import Deployment, policy

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _both(name: str, port: int) -> dict[str, str]:
    return {
        f"policies/staging/{name}.yaml": policy(name, port),
        f"policies/production/{name}.yaml": policy(name, port),
    }


def test_commit_goes_through_staging_approval_and_production(deployment: Deployment) -> None:
    deployment.start()
    sha = deployment.remote.push(_both("api", 9090), "open api")
    rollout = deployment.wait_state(sha, "awaiting_approval")
    assert deployment.policies(deployment.staging)["api"] == 9090
    assert "api" not in deployment.policies(deployment.production)

    outcome = deployment.api("POST", f"/rollouts/{rollout['id']}/approve")
    assert outcome
    deployment.wait_state(sha, "done")
    assert deployment.policies(deployment.production)["api"] == 9090

    docs = deployment.remote.push({"README.md": "not a policy\n"}, "docs only")
    bad = deployment.remote.push(
        {"policies/staging/broken.yaml": "kind: NetworkPolicy\nmetadata: {name: x}\n"}, "broken"
    )
    failed = deployment.wait_state(bad, "invalid")
    assert failed["reason"]
    assert deployment.rollout_for(docs) is None
    assert "broken" not in deployment.policies(deployment.staging)
    assert deployment.terminate() == 0


def test_kill9_at_each_stage_converges_without_duplicates(deployment: Deployment) -> None:
    deployment.start()
    sha = deployment.remote.push(_both("api", 9090), "open api")
    deployment.wait_for(lambda: deployment.rollout_for(sha) is not None, "detection", 30)
    deployment.kill9()  # right after detection (or a little later)
    deployment.start()
    rollout = deployment.wait_state(sha, "awaiting_approval")
    deployment.kill9()  # awaiting approval
    deployment.start()
    deployment.api("POST", f"/rollouts/{rollout['id']}/approve")
    deployment.wait_state(sha, "done")
    deployment.kill9()
    deployment.start()  # nothing left to do: nothing is repeated
    deployment.wait_state(sha, "done")
    deployment.terminate()

    store = open_store(f"sqlite:///{deployment.root / 'state.db'}", clock=lambda: datetime.now(UTC))
    try:
        assert [r.commit_sha for r in store.list_rollouts()] == [sha]
        assert [d.commit_sha for d in store.deployments("production")] == [sha]
        assert [d.commit_sha for d in store.deployments("staging")] == [sha]
        keys = [i.idempotency_key for i in store.outbox_items(rollout_id=rollout["id"])]
        assert len(keys) == len(set(keys))
        moves = [
            (e.details["from"], e.details["to"])
            for e in store.events(rollout_id=rollout["id"], kinds=["state.changed"])
        ]
        assert len(moves) == len(set(moves))  # no transition happened twice
    finally:
        store.close()
