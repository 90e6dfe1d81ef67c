"""kill -9 of `rollout serve` in the middle of an apply (staging and production) and
while a rollout waits, scheduled, for its window: after a restart the rollout ends
where it should, with nothing written, moved or announced twice."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s

from tests.e2e.conftest import NAMESPACE, Deployment
from tests.e2e.support.notifying import (
    StandIns,
    all_delivered,
    assert_delivered_once,
    assert_nothing_twice,
    stand_ins,
    undelivered,
    wire_notifications,
)
from tests.e2e.support.world import (
    MANY,
    configure,
    count_policies,
    environment,
    many_policies,
    sqlite_url,
    state_store,
)
from tests.harness.apiserver import ApiServer

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _kill9(deployment: Deployment, in_flight: Counter[str]) -> None:
    """kill -9, then note the notifications a restart may legitimately send again."""
    deployment.kill9()
    with state_store(sqlite_url(deployment)) as store:
        in_flight.update(undelivered(store))


def _kill_mid_apply(
    deployment: Deployment, count: Callable[[], int], what: str, in_flight: Counter[str]
) -> int:
    """kill -9 as soon as the first objects of the apply appear; returns how many had."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        seen = count()
        if seen:
            _kill9(deployment, in_flight)
            assert seen < MANY, f"the {what} apply finished before the kill ({seen} objects)"
            return seen
        time.sleep(0.02)
    raise AssertionError(f"the {what} apply never started\n{deployment.logs[-1].read_text()}")


@pytest.fixture
def standins(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Any:
    with stand_ins() as running:
        wire_notifications(deployment, running, monkeypatch)
        yield running


def _finish(
    deployment: Deployment,
    standins: StandIns,
    rollout_id: str,
    sha: str,
    in_flight: Counter[str],
) -> None:
    deployment.wait_for(
        lambda: _delivered(deployment, rollout_id), "every notification to be delivered", 30
    )
    assert deployment.terminate() == 0
    with state_store(sqlite_url(deployment)) as store:
        assert_nothing_twice(store, rollout_id, sha)
        assert_delivered_once(store, rollout_id, standins, sha, in_flight)
    standins.assert_clean()


def _delivered(deployment: Deployment, rollout_id: str) -> bool:
    with state_store(sqlite_url(deployment)) as store:
        return all_delivered(store, rollout_id)


def test_kill9_mid_apply_in_staging_and_in_production_converges(
    deployment: Deployment, standins: StandIns
) -> None:
    in_flight: Counter[str] = Counter()
    deployment.start()
    sha = deployment.remote.push(many_policies("many"), f"{MANY} policies")
    staged = _kill_mid_apply(
        deployment, count_policies(deployment.staging, "many"), "staging", in_flight
    )
    deployment.start()
    rollout = deployment.wait_state(sha, "awaiting_approval", timeout=60)
    assert count_policies(deployment.staging, "many")() == MANY
    assert count_policies(deployment.production, "many")() == 0

    deployment.api("POST", f"/rollouts/{rollout['id']}/approve")
    produced = _kill_mid_apply(
        deployment, count_policies(deployment.production, "many"), "production", in_flight
    )
    deployment.start()
    deployment.wait_state(sha, "done", timeout=60)
    assert count_policies(deployment.production, "many")() == MANY
    _finish(deployment, standins, rollout["id"], sha, in_flight)
    assert 0 < staged < MANY and 0 < produced < MANY


def test_kill9_while_scheduled_applies_once_when_the_window_opens(
    deployment: Deployment, standins: StandIns
) -> None:
    frozen_until = (datetime.now(UTC) + timedelta(seconds=20)).replace(microsecond=0)

    def freeze_production(config: dict[str, Any]) -> None:
        environment(config, "production")["windows"] = {
            "freezes": [
                {
                    "start": (frozen_until - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                    "end": frozen_until.strftime("%Y-%m-%dT%H:%M:%S"),
                    "reason": "e2e freeze",
                    "timezone": "UTC",
                }
            ]
        }

    configure(deployment, freeze_production)
    deployment.start()
    sha = deployment.remote.push(
        {
            "policies/staging/api.yaml": _api_policy(),
            "policies/production/api.yaml": _api_policy(),
        },
        "open api",
    )
    rollout = deployment.wait_state(sha, "awaiting_approval", timeout=30)
    deployment.api("POST", f"/rollouts/{rollout['id']}/approve")
    deployment.wait_state(sha, "scheduled", timeout=15)
    # Quiet first, so every notification so far must never be sent again.
    deployment.wait_for(lambda: _delivered(deployment, rollout["id"]), "notifications", 10)
    assert datetime.now(UTC) < frozen_until, "too slow: the freeze ended before the kill"
    in_flight: Counter[str] = Counter()
    _kill9(deployment, in_flight)
    assert not in_flight
    deployment.start()
    deployment.wait_state(sha, "done", timeout=45)
    assert "api" in _names(deployment.production)
    with state_store(sqlite_url(deployment)) as store:
        [applied] = store.deployments("production")
        assert applied.applied_at >= frozen_until  # not a moment before the window
    _finish(deployment, standins, rollout["id"], sha, in_flight)


def _api_policy() -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "api", "namespace": NAMESPACE},
            "spec": {
                "podSelector": {"matchLabels": {"app": "api"}},
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": [{"port": 9090, "protocol": "TCP"}]}],
            },
        }
    )


def _names(server: ApiServer) -> set[str]:
    with server.client() as api:
        items = k8s.NetworkingV1Api(api).list_namespaced_network_policy(NAMESPACE).items
    return {p.metadata.name for p in items}
