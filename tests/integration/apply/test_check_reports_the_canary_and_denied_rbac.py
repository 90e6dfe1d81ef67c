"""`rollout check` against real apiservers: `--canary` passes on a cluster whose
network enforces the default deny and fails on one that enforces nothing; a
service account lacking one verb fails the RBAC check, which names the verb,
the resource and the namespace (SelfSubjectAccessReview as that account)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rollout.cli.main import cli
from rollout.kube.client import KubeClient
from tests.harness import ApiServer, KubeBinaries
from tests.harness.fake_node import FakeNode, FakeSource, FakeTarget, allow_everything
from tests.integration.apply.policy_repo import PolicyRepo, policy
from tests.integration.deploy.test_deploy_manifests_work_with_rbac_enforced import (
    ROOT,
    _config_as,
    _example_repository,
    _service_account_kubeconfig,
)

pytestmark = pytest.mark.integration


def _checks(*args: str) -> tuple[int, dict[tuple[str, str], dict[str, Any]]]:
    result = CliRunner().invoke(cli, ["check", *args, "-o", "json"])
    data = json.loads(result.stdout)
    return result.exit_code, {(c["environment"], c["name"]): c for c in data["checks"]}


def _deny_canary(source: FakeSource, target: FakeTarget, port: int, protocol: str) -> bool:
    return target.kind == "dns"  # a default deny that the network enforces


@pytest.mark.parametrize(
    ("connectivity", "status"), [(_deny_canary, "ok"), (allow_everything, "fail")]
)
def test_canary_tells_an_enforcing_network_from_one_that_is_not(
    repo: PolicyRepo,
    apiserver: ApiServer,
    namespaces: list[str],
    state_namespace: str,
    fake_node_factory: Callable[..., FakeNode],
    connectivity: Callable[..., bool],
    status: str,
) -> None:
    repo.write("policies.yaml", policy("allow-web", namespaces[0]))
    repo.commit("one policy")
    config = repo.config(apiserver.kubeconfig_path, namespaces, state_namespace=state_namespace)
    fake_node_factory(connectivity, namespaces=namespaces)

    code, checks = _checks("-c", str(config), "--env", "staging")
    without = checks[("staging", "canary")]
    assert without["status"] == "skip" and "--canary" in without["detail"]

    code, checks = _checks("-c", str(config), "--env", "staging", "--canary")
    canary = checks[("staging", "canary")]
    assert canary["status"] == status, canary
    assert (code == 1) == (status == "fail")


def _wait_denied(kubeconfig: Path, verb: str, namespace: str) -> None:
    """RBAC is served from a cache: wait until the removal is in force."""
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {
                "verb": verb,
                "group": "networking.k8s.io",
                "resource": "networkpolicies",
                "namespace": namespace,
            }
        },
    }
    with KubeClient.from_kubeconfig(kubeconfig) as client:
        for _ in range(100):
            answer = client.request(
                "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=review
            )
            if not answer["status"].get("allowed"):
                return
            time.sleep(0.1)
    raise AssertionError(f"{verb} networkpolicies in {namespace} is still allowed")


def test_a_service_account_lacking_a_verb_fails_the_rbac_check_naming_it(
    apiserver_factory: Callable[..., ApiServer],
    kube_binaries: KubeBinaries,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = apiserver_factory(name="rbac-denied")
    try:
        kubectl = [str(kube_binaries.kubectl), "--kubeconfig", str(server.kubeconfig_path)]
        subprocess.run(
            [*kubectl, "apply", "-k", str(ROOT / "deploy")], check=True, capture_output=True
        )
        kubeconfig = _service_account_kubeconfig(server, tmp_path / "sa.kubeconfig")
        config = _config_as(_example_repository(tmp_path), kubeconfig)
        monkeypatch.setenv("ROLLOUT_KUSTOMIZE", f"{kube_binaries.kubectl} kustomize")

        code, checks = _checks("-c", str(config), "--env", "staging")
        assert checks[("staging", "rbac")]["status"] == "ok"

        # The Role in `backend` loses `delete` on networkpolicies (a hand edit).
        role = json.loads(
            subprocess.run(
                [*kubectl, "get", "role", "-n", "backend", "netpol-rollout", "-o", "json"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        for rule in role["rules"]:
            if "networkpolicies" in rule["resources"]:
                rule["verbs"] = [v for v in rule["verbs"] if v != "delete"]
        subprocess.run(
            [*kubectl, "replace", "-f", "-"],
            input=json.dumps(role),
            check=True,
            text=True,
            capture_output=True,
        )
        _wait_denied(kubeconfig, "delete", "backend")

        code, checks = _checks("-c", str(config), "--env", "staging")
        assert code == 1
        rbac = checks[("staging", "rbac")]
        assert rbac["status"] == "fail"
        assert rbac["detail"] == "not allowed: delete networkpolicies.networking.k8s.io in backend"
        assert checks[("staging", "reachable")]["status"] == "ok"
    finally:
        server.stop()
