"""Apply against the real apiserver: create, update, prune, leave hand-made
policies alone, and re-apply an unchanged revision without a single write."""

from __future__ import annotations

from typing import Any

import pytest

from rollout.core.objects import MANAGED_BY_LABEL
from rollout.kube.apply import KubeCluster
from tests.harness import ApiServer
from tests.integration.apply import driver
from tests.integration.apply.conftest import Setup
from tests.integration.apply.policy_repo import PolicyRepo, policy

pytestmark = pytest.mark.integration


def _live(cluster: KubeCluster, namespace: str) -> dict[str, dict[str, Any]]:
    items = cluster.client.request(
        "GET", f"/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies"
    )["items"]
    return {p["metadata"]["name"]: p for p in items}


def test_create_update_prune_and_noop(
    repo: PolicyRepo,
    setup: Setup,
    cluster: KubeCluster,
    namespaces: list[str],
    apiserver: ApiServer,
) -> None:
    shop, pay = namespaces
    # A policy made by hand, without our label: must survive every prune.
    cluster.client.request(
        "POST",
        f"/apis/networking.k8s.io/v1/namespaces/{shop}/networkpolicies",
        body=policy("hand-made", shop, ports=(9000,)),
    )
    repo.write("shop.yaml", policy("allow-web", shop), policy("deny-all", shop, app=None, ports=()))
    repo.write("pay.yaml", policy("allow-api", pay, app="api", ports=(443,)))
    first = repo.commit("first")

    report = driver.apply(setup, cluster, first)
    assert report.status == "applied" and report.recorded
    assert report.plan.counts == {"create": 3, "update": 0, "delete": 0, "unchanged": 0}
    live = _live(cluster, shop)
    assert set(live) == {"allow-web", "deny-all", "hand-made"}
    meta = live["allow-web"]["metadata"]
    assert meta["labels"][MANAGED_BY_LABEL] == "netpol-rollout"
    assert meta["annotations"]["netpol-rollout.io/environment"] == "staging"
    assert meta["annotations"]["netpol-rollout.io/commit-sha"] == first
    assert meta["annotations"]["netpol-rollout.io/source-path"].endswith(
        "overlays/staging/shop.yaml"
    )
    assert any(m["manager"] == "netpol-rollout" for m in meta["managedFields"])
    assert driver.state(setup, cluster).read().commit_sha == first  # type: ignore[union-attr]

    # Re-apply of the same revision: nothing to do, zero writes.
    before = cluster.client.writes
    again = driver.apply(setup, cluster, first)
    assert again.status == "unchanged" and not again.recorded
    assert again.plan.counts["unchanged"] == 3
    assert cluster.client.writes == before

    # Update one policy, drop another: update + prune.
    repo.write("shop.yaml", policy("allow-web", shop, ports=(80, 8080)))
    second = repo.commit("second")
    report = driver.apply(setup, cluster, second)
    assert report.status == "applied"
    assert report.plan.counts == {"create": 0, "update": 1, "delete": 1, "unchanged": 1}
    live = _live(cluster, shop)
    assert set(live) == {"allow-web", "hand-made"}
    ports = [p["port"] for p in live["allow-web"]["spec"]["ingress"][0]["ports"]]
    assert ports == [80, 8080]
    # Unchanged object keeps the commit of its last write.
    pay_live = _live(cluster, pay)["allow-api"]["metadata"]["annotations"]
    assert pay_live["netpol-rollout.io/commit-sha"] == first


def test_prune_switched_off_keeps_removed_policies(
    repo: PolicyRepo,
    apiserver: ApiServer,
    cluster: KubeCluster,
    namespaces: list[str],
    state_namespace: str,
) -> None:
    shop, _ = namespaces
    setup = Setup(
        repo.config(
            apiserver.kubeconfig_path, namespaces, state_namespace=state_namespace, prune=False
        )
    )
    repo.write("a.yaml", policy("one", shop), policy("two", shop, app="db"))
    driver.apply(setup, cluster, repo.commit())
    repo.write("a.yaml", policy("one", shop))
    report = driver.apply(setup, cluster, repo.commit())
    assert report.plan.counts["delete"] == 0 and not report.plan.pruning
    assert set(_live(cluster, shop)) == {"one", "two"}


def test_rollback_to_an_earlier_sha_prunes_what_the_later_one_added(
    repo: PolicyRepo, setup: Setup, cluster: KubeCluster, namespaces: list[str]
) -> None:
    shop, _ = namespaces
    repo.write("a.yaml", policy("base", shop))
    good = repo.commit("good")
    repo.write("a.yaml", policy("base", shop, ports=(81,)), policy("extra", shop, app="x"))
    bad = repo.commit("bad")
    driver.apply(setup, cluster, good)
    driver.apply(setup, cluster, bad)
    assert set(_live(cluster, shop)) == {"base", "extra"}

    report = driver.apply(setup, cluster, good)
    assert report.status == "applied" and report.previous_sha == bad
    assert report.plan.counts == {"create": 0, "update": 1, "delete": 1, "unchanged": 0}
    live = _live(cluster, shop)
    assert set(live) == {"base"}
    assert live["base"]["spec"]["ingress"][0]["ports"][0]["port"] == 80
    assert driver.state(setup, cluster).read().commit_sha == good  # type: ignore[union-attr]
