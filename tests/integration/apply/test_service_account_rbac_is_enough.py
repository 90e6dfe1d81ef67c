"""The ServiceAccount limited by `rollout rbac`'s output can dry-run, apply, prune and
record the deployed revision; it cannot touch anything else."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from rollout.kube.apply import KubeCluster
from rollout.kube.client import ApiRefusal, KubeClient
from rollout.kube.permissions import rbac_manifests
from tests.harness import ApiServer
from tests.integration.apply import driver
from tests.integration.apply.conftest import Setup
from tests.integration.apply.policy_repo import PolicyRepo, policy

pytestmark = pytest.mark.integration


def _install_rbac(
    admin: KubeCluster, namespaces: list[str], state_namespace: str, suffix: str
) -> list[dict[str, Any]]:
    """The RBAC `rollout rbac` prints for these namespaces (deploy/rbac.yaml is that
    output for deploy/rollout.yaml); returns the state namespace Role's rules."""
    self_rules: list[dict[str, Any]] = []
    manifests = rbac_manifests(
        namespaces,
        [state_namespace],
        service_account=(state_namespace, "netpol-rollout"),
        lease_namespace=state_namespace,
    )
    for doc in manifests:
        if doc["kind"] == "Namespace":
            continue  # the test made them
        meta: dict[str, Any] = doc["metadata"]
        if str(doc["kind"]).startswith("Cluster"):
            meta["name"] += f"-{suffix}"
            if "roleRef" in doc:
                doc["roleRef"]["name"] += f"-{suffix}"
        if doc["kind"] == "Role" and meta.get("namespace") == state_namespace:
            self_rules = doc["rules"]
        group = "rbac.authorization.k8s.io/v1"
        plural = {
            "Role": "roles",
            "RoleBinding": "rolebindings",
            "ClusterRole": "clusterroles",
            "ClusterRoleBinding": "clusterrolebindings",
        }[str(doc["kind"])]
        ns = f"/namespaces/{meta['namespace']}" if "namespace" in meta else ""
        admin.client.request("POST", f"/apis/{group}{ns}/{plural}", body=doc)
    return self_rules


def test_rbac_limited_service_account_applies_and_prunes(
    repo: PolicyRepo,
    apiserver: ApiServer,
    cluster: KubeCluster,
    namespaces: list[str],
    state_namespace: str,
) -> None:
    shop, pay = namespaces
    apiserver.ensure_service_account(state_namespace, "netpol-rollout")
    self_rules = _install_rbac(cluster, namespaces, state_namespace, uuid.uuid4().hex[:6])
    kubeconfig = apiserver.service_account_kubeconfig(state_namespace, "netpol-rollout", self_rules)

    setup = Setup(repo.config(kubeconfig, namespaces, state_namespace=state_namespace))
    repo.write("a.yaml", policy("one", shop), policy("two", pay, app="api"))
    repo.write(
        "ns.yaml",
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": shop, "labels": {"team": "shop"}},
        },
    )
    first = repo.commit()
    with KubeCluster(KubeClient.from_kubeconfig(kubeconfig)) as limited:
        assert driver.apply(setup, limited, first).status == "applied"
        repo.write("a.yaml", policy("one", shop))
        second = repo.commit()
        report = driver.apply(setup, limited, second)
        assert report.status == "applied" and report.plan.counts["delete"] == 1
        assert driver.state(setup, limited).read().commit_sha == second  # type: ignore[union-attr]
        # ...and nothing beyond its brief: no secrets, no policies elsewhere.
        with pytest.raises(ApiRefusal) as denied:
            limited.client.request("GET", f"/api/v1/namespaces/{shop}/secrets")
        assert denied.value.status == 403
        with pytest.raises(ApiRefusal):
            limited.client.request(
                "GET", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies"
            )
    labels = cluster.client.request("GET", f"/api/v1/namespaces/{shop}")["metadata"]["labels"]
    assert labels["team"] == "shop"
