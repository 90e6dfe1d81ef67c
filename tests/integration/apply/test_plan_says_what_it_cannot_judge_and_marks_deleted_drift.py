"""`rollout plan` says what it could not judge instead of "No connectivity change." (a
first deploy of default-deny into namespaces where no pod runs yet), and marks a policy
deleted by hand as drift like one edited by hand (it was only `+ create`)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rollout.cli.main import cli
from rollout.kube.apply import KubeCluster
from tests.integration.apply import driver
from tests.integration.apply.conftest import Setup
from tests.integration.apply.policy_repo import PolicyRepo, policy

pytestmark = pytest.mark.integration


def _plan(setup: Setup, *args: str) -> str:
    result = CliRunner().invoke(
        cli, ["plan", "-c", str(setup.config_path), "--env", "staging", *args]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_a_first_deploy_into_namespaces_without_pods_is_not_called_no_change(
    repo: PolicyRepo, setup: Setup, namespaces: list[str]
) -> None:
    shop, _ = namespaces
    repo.write("deny.yaml", policy("default-deny-all", shop, app=None, ports=()))
    repo.commit("default deny")

    text = _plan(setup)
    data = json.loads(_plan(setup, "-o", "json"))

    assert "No connectivity change" not in text
    assert f"Not judged in {shop}" in text and "no pod runs there" in text
    assert data["connectivity"]["not_judged"] == [shop]


def test_a_policy_deleted_by_hand_is_drift(
    repo: PolicyRepo, setup: Setup, cluster: KubeCluster, namespaces: list[str]
) -> None:
    shop, _ = namespaces
    repo.write("web.yaml", policy("allow-web", shop), policy("allow-api", shop, app="api"))
    sha = repo.commit("two policies")
    driver.apply(setup, cluster, sha)
    cluster.client.request(
        "DELETE", f"/apis/networking.k8s.io/v1/namespaces/{shop}/networkpolicies/allow-web"
    )

    text = _plan(setup)
    data = json.loads(_plan(setup, "-o", "json"))

    (line,) = [ln for ln in text.splitlines() if f"NetworkPolicy/{shop}/allow-web" in ln]
    assert "create" in line and "(drift: deleted outside netpol-rollout)" in line
    (change,) = [c for c in data["changes"] if c["object"].endswith(f"/{shop}/allow-web")]
    assert (change["action"], change["drift"]) == ("create", True)
    (kept,) = [c for c in data["changes"] if c["object"].endswith(f"/{shop}/allow-api")]
    assert kept["drift"] is False
