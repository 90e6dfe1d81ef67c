"""`rollout serve` as a subprocess rolling a fleet out: a staging apiserver and a
production fleet of four real apiservers in three waves (canary; eu-west + us-east
in parallel; ap-south behind its own window). A good commit reaches every cluster
in wave order and the last wave only once its window opens; a commit whose smoke
tests fail in the canary never reaches the second wave and is rolled back there; a
rejection between waves stops the fleet and rolls back the clusters it reached;
kill -9 in the middle of the second wave converges without applying a finished
cluster again."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from kubernetes import client as k8s

from rollout.devcluster.fleet import DevFleet
from rollout.server.auth import hash_token
from rollout.store import StageEvent
from tests.e2e.conftest import NAMESPACE, TOKEN, Deployment, Remote, free_port, policy
from tests.e2e.support.world import (
    MANY,
    configure,
    count_policies,
    environment,
    many_policies,
    sqlite_url,
    state_store,
)
from tests.harness.apiserver import ApiServer, KubeBinaries

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

STAGING = "fleet-staging"
PRODUCTION = ("canary", "eu-west", "us-east", "ap-south")
WAVES = {"canary": ("canary",), "west": ("eu-west", "us-east"), "apac": ("ap-south",)}
GOOD_PORT, BAD_PORT = 8080, 9999
SOAK = 10  # seconds the canary wave soaks in the rejection test


@pytest.fixture(scope="module")
def fleet(fleet_factory: Callable[..., DevFleet[ApiServer]]) -> DevFleet[ApiServer]:
    started = fleet_factory((STAGING, *PRODUCTION))
    for cluster in started.clusters:
        cluster.apiserver.create_namespace(NAMESPACE)
        cluster.apiserver.create_namespace("netpol-rollout")
    return started


def _server(fleet: DevFleet[ApiServer], name: str) -> ApiServer:
    return fleet[name].apiserver


def _smoke(kubectl: Path) -> dict[str, Any]:
    """A real check against the cluster under test: the live `web` policy must allow
    ingress on 8080 (the bad commit moves production's to 9999)."""
    check = (
        f"'{kubectl}' get networkpolicy web -n {NAMESPACE} "
        f"-o jsonpath='{{.spec.ingress[0].ports[0].port}}' | grep -qx {GOOD_PORT}"
    )
    return {
        "dns_check": False,
        "cni_canary": False,
        "timeout": "20s",
        "scripts": [{"name": "web-port", "command": check, "timeout": "30s"}],
    }


class FleetDeployment(Deployment):
    """The e2e deployment, patient with a service that starts slowly on a loaded machine."""

    def start(self) -> None:
        log = self.root / f"serve-{len(self.logs)}.log"
        self.logs.append(log)
        env = {**os.environ, "ROLLOUT_DRIVE_TICK": "0.5"}
        with log.open("wb") as out:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "rollout", "serve", "-c", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self.wait_for(self._answers, "the service to be ready", timeout=120)

    def _answers(self) -> bool:
        try:
            return requests.get(f"{self.url}/readyz", timeout=5).status_code == 200
        except requests.RequestException:
            return False


@pytest.fixture
def deployment(
    tmp_path: Path, fleet: DevFleet[ApiServer], kube_binaries: KubeBinaries
) -> Iterator[Deployment]:
    for cluster in fleet.clusters:  # each test starts from empty clusters
        with cluster.apiserver.client() as api:
            k8s.NetworkingV1Api(api).delete_collection_namespaced_network_policy(NAMESPACE)
            core = k8s.CoreV1Api(api)
            for cm in core.list_namespaced_config_map("netpol-rollout").items:
                core.delete_namespaced_config_map(cm.metadata.name, "netpol-rollout")
    remote = Remote(tmp_path)
    remote.push(
        {
            "policies/staging/web.yaml": policy("web", GOOD_PORT),
            "policies/production/web.yaml": policy("web", GOOD_PORT),
            "policies/smoke-tests.yaml": yaml.safe_dump({"tests": []}),
        },
        "initial",
    )
    port = free_port()
    store_url = f"sqlite:///{tmp_path / 'state.db'}"
    smoke = _smoke(kube_binaries.kubectl)
    labels = {"canary": {"tier": "canary"}}
    regions = {"canary": "europe", "eu-west": "europe", "us-east": "americas", "ap-south": "apac"}
    config = {
        "repository": {
            "url": f"file://{remote.bare}",
            "subdirectory": "policies",
            "poll_interval": "1s",
        },
        "team": {"members": [{"name": "alice", "timezone": "UTC"}]},
        "environments": [
            {
                "name": "staging",
                "cluster": {"kubeconfig": str(_server(fleet, STAGING).kubeconfig_path)},
                "namespaces": [NAMESPACE],
                "overlay": "staging",
                "allowed_kinds": ["NetworkPolicy"],
                "smoke": smoke,
            },
            {
                "name": "production",
                "namespaces": [NAMESPACE],
                "overlay": "production",
                "allowed_kinds": ["NetworkPolicy"],
                "smoke": smoke,
                "approvals": {"required": 1, "members": ["alice"], "allow_self_approval": True},
                "clusters": [
                    {
                        "name": name,
                        "kubeconfig": str(_server(fleet, name).kubeconfig_path),
                        "region": regions[name],
                        "labels": labels.get(name, {}),
                    }
                    for name in PRODUCTION
                ],
                "waves": [
                    {"name": "canary", "selector": {"tier": "canary"}},
                    {"name": "west", "clusters": list(WAVES["west"]), "max_parallel": 2},
                    {"name": "apac", "selector": {"region": "apac"}},
                ],
            },
        ],
        "store": {"url": store_url},
        "server": {"listen": f"127.0.0.1:{port}"},
    }
    path = tmp_path / "rollout.yaml"
    path.write_text(yaml.safe_dump(config))
    with state_store(store_url) as store:
        store.create_token("alice", hash_token(TOKEN))
    staging = _server(fleet, STAGING)
    deployed = FleetDeployment(tmp_path, remote, staging, _server(fleet, "canary"), path, port)
    try:
        yield deployed
    finally:
        if deployed.process is not None:
            deployed.kill9()


def _web_port(server: ApiServer) -> int | None:
    with server.client() as api:
        items = k8s.NetworkingV1Api(api).list_namespaced_network_policy(NAMESPACE).items
    ports = [p.spec.ingress[0].ports[0].port for p in items if p.metadata.name == "web"]
    return ports[0] if ports else None


def _cluster_events(deployment: Deployment, rollout_id: str, kind: str) -> list[StageEvent]:
    with state_store(sqlite_url(deployment)) as store:
        return store.events(rollout_id=rollout_id, kinds=[f"fleet.cluster.{kind}"], limit=None)


def _states(deployment: Deployment, rollout_id: str) -> dict[str, str]:
    with state_store(sqlite_url(deployment)) as store:
        return {r.cluster: r.state for r in store.fleet_clusters(rollout_id, "production")}


def _freeze_apac(config: dict[str, Any], *, until: datetime) -> None:
    """The last wave (apac) frozen for the three hours up to `until`."""
    environment(config, "production")["waves"][2]["windows"] = {
        "freezes": [
            {
                "start": (until - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S"),
                "end": until.strftime("%Y-%m-%dT%H:%M:%S"),
                "reason": "apac team asleep",
                "timezone": "UTC",
            }
        ]
    }


def _approve_when_asked(deployment: Deployment, sha: str) -> str:
    rollout = deployment.wait_state(sha, "awaiting_approval", timeout=60)
    deployment.api("POST", f"/rollouts/{rollout['id']}/approve")
    return str(rollout["id"])


def test_a_good_commit_reaches_every_cluster_wave_by_wave_inside_each_window(
    deployment: Deployment, fleet: DevFleet[ApiServer]
) -> None:
    # The last wave has its own window: frozen until a moment the test picks.
    opens = (datetime.now(UTC) + timedelta(seconds=75)).replace(microsecond=0)

    def apac_window(config: dict[str, Any]) -> None:
        _freeze_apac(config, until=opens)

    configure(deployment, apac_window)
    deployment.start()
    sha = deployment.remote.push(
        {"policies/production/api.yaml": policy("api", 9090)}, "open api in production"
    )
    rollout_id = _approve_when_asked(deployment, sha)

    deployment.wait_for(
        lambda: all(
            _states(deployment, rollout_id).get(c) == "verified" for c in ("canary", *WAVES["west"])
        ),
        "the first two waves to pass",
        timeout=60,
    )
    assert datetime.now(UTC) < opens, "too slow: the apac window opened before wave 2 passed"
    assert _states(deployment, rollout_id)["ap-south"] == "pending"
    assert _web_port(_server(fleet, "ap-south")) is None  # nothing applied there yet
    deployment.wait_state(sha, "done", timeout=150)

    applying = {
        e.details["cluster"]: e.at for e in _cluster_events(deployment, rollout_id, "applying")
    }
    verified = {
        e.details["cluster"]: e.at for e in _cluster_events(deployment, rollout_id, "verified")
    }
    assert set(verified) == set(PRODUCTION)
    # In wave order: each wave starts after every cluster of the one before passed.
    assert verified["canary"] <= min(applying[c] for c in WAVES["west"])
    assert max(verified[c] for c in WAVES["west"]) <= applying["ap-south"]
    assert applying["ap-south"] >= opens  # not a moment before its window
    for name in PRODUCTION:
        with _server(fleet, name).client() as api:
            live = k8s.NetworkingV1Api(api).list_namespaced_network_policy(NAMESPACE).items
        assert {p.metadata.name for p in live} == {"web", "api"}, name
    assert deployment.terminate() == 0


def test_a_commit_failing_smoke_in_the_canary_never_reaches_the_second_wave(
    deployment: Deployment, fleet: DevFleet[ApiServer]
) -> None:
    deployment.start()
    good = deployment.remote.push(
        {"policies/production/api.yaml": policy("api", 9090)}, "open api in production"
    )
    _approve_when_asked(deployment, good)
    deployment.wait_state(good, "done", timeout=120)

    bad = deployment.remote.push(
        {"policies/production/web.yaml": policy("web", BAD_PORT)}, "move web to 9999"
    )
    rollout_id = _approve_when_asked(deployment, bad)
    failed = deployment.wait_state(bad, "production_failed", timeout=90)

    assert _states(deployment, rollout_id) == {
        "canary": "rolled_back",
        "eu-west": "skipped",
        "us-east": "skipped",
        "ap-south": "skipped",
    }
    assert [e.details["cluster"] for e in _cluster_events(deployment, rollout_id, "applying")] == [
        "canary"
    ]
    for name in PRODUCTION:  # the canary is back on 8080; no other cluster ever saw 9999
        assert _web_port(_server(fleet, name)) == GOOD_PORT, name
    reason = str(failed["reason"])
    assert reason.startswith("halted after canary: ")
    assert f"canary {good[:12]} (rolled_back)" in reason
    assert f"eu-west {good[:12]} (skipped)" in reason
    assert deployment.terminate() == 0


def test_a_rejection_between_waves_stops_the_fleet_and_rolls_back_what_it_reached(
    deployment: Deployment, fleet: DevFleet[ApiServer]
) -> None:
    def apac_frozen(config: dict[str, Any]) -> None:  # the last wave waits all test long
        _freeze_apac(config, until=datetime.now(UTC) + timedelta(hours=2))
        # and the canary soaks before the next wave
        environment(config, "production")["waves"][0]["soak"] = f"{SOAK}s"

    configure(deployment, apac_frozen)
    deployment.start()
    sha = deployment.remote.push(
        {"policies/production/api.yaml": policy("api", 9090)}, "open api in production"
    )
    rollout_id = _approve_when_asked(deployment, sha)
    reached = ("canary", *WAVES["west"])
    deployment.wait_for(
        lambda: all(_states(deployment, rollout_id).get(c) == "verified" for c in reached),
        "the first two waves to pass",
        timeout=90,
    )

    applying = {
        e.details["cluster"]: e.at for e in _cluster_events(deployment, rollout_id, "applying")
    }
    (canary_verified,) = _cluster_events(deployment, rollout_id, "verified")[:1]
    assert canary_verified.details["cluster"] == "canary"
    for name in WAVES["west"]:  # not before the canary's soak ended
        assert applying[name] >= canary_verified.at + timedelta(seconds=SOAK), name

    answer = deployment.api(
        "POST", f"/rollouts/{rollout_id}/reject", json={"reason": "errors up in europe"}
    )
    assert answer["message"].startswith(f"alice stopped {rollout_id}: no further cluster")
    failed = deployment.wait_state(sha, "production_failed", timeout=90)

    assert _states(deployment, rollout_id) == {
        **{c: "rolled_back" for c in reached},
        "ap-south": "skipped",
    }
    for name in PRODUCTION:  # nothing of ours ran before: the reached clusters are empty again
        with _server(fleet, name).client() as api:
            live = k8s.NetworkingV1Api(api).list_namespaced_network_policy(NAMESPACE).items
        assert live == [], (name, [p.metadata.name for p in live])
    assert str(failed["reason"]).startswith(
        "stopped by alice: errors up in europe; rolled back where it reached."
    )
    assert deployment.terminate() == 0


def test_kill9_in_the_middle_of_a_wave_converges_without_applying_twice(
    deployment: Deployment, fleet: DevFleet[ApiServer]
) -> None:
    deployment.start()
    sha = deployment.remote.push(many_policies("many"), f"{MANY} policies")
    rollout_id = _approve_when_asked(deployment, sha)
    canary = _server(fleet, "canary")
    eu_west = count_policies(_server(fleet, "eu-west"), "many")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and eu_west() == 0:
        time.sleep(0.02)
    deployment.kill9()
    seen = eu_west()
    assert 0 < seen < MANY, f"the kill missed the middle of wave 2 ({seen} objects)"
    states = _states(deployment, rollout_id)
    assert states["canary"] == "verified" and states["ap-south"] == "pending", states
    versions = _resource_versions(canary)

    deployment.start()
    deployment.wait_state(sha, "done", timeout=300)

    for name in PRODUCTION:
        assert count_policies(_server(fleet, name), "many")() == MANY, name
    assert _resource_versions(canary) == versions  # the finished canary was not applied again
    for kind in ("applying", "applied", "verified"):
        clusters = [e.details["cluster"] for e in _cluster_events(deployment, rollout_id, kind)]
        assert sorted(clusters) == sorted(PRODUCTION), (kind, clusters)
    with state_store(sqlite_url(deployment)) as store:
        assert [d.commit_sha for d in store.deployments("production")] == [sha]
    assert deployment.terminate() == 0


def _resource_versions(server: ApiServer) -> dict[str, str]:
    with server.client() as api:
        items = k8s.NetworkingV1Api(api).list_namespaced_network_policy(NAMESPACE).items
    return {p.metadata.name: p.metadata.resource_version for p in items}
