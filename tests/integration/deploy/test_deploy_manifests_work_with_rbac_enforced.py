"""deploy/ applied with `kubectl apply -k` to an empty apiserver that enforces RBAC;
then, as the ServiceAccount it creates (a token from the TokenRequest API, no
other rights), every operation of the service: `rollout check` passes, `rollout
apply` of the example repository creates namespaces, policies and the state
ConfigMap, probe pods are created, read and deleted where smoke tests put them,
the leader Lease is taken and renewed; anything else (Secrets) is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rollout.cli.main import cli
from rollout.devcluster.kubeapi import write_kubeconfig
from rollout.kube.client import ApiRefusal, KubeClient
from rollout.kube.permissions import PERMISSIONS
from tests.harness import ApiServer, KubeBinaries
from tests.harness.apiserver import SERVICE_ACCOUNT_ISSUER

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[3]
SA = "system:serviceaccount:netpol-rollout:netpol-rollout"


def _service_account_kubeconfig(server: ApiServer, path: Path) -> Path:
    rest = server.rest()
    answer = rest.request(
        "POST",
        "/api/v1/namespaces/netpol-rollout/serviceaccounts/netpol-rollout/token",
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"audiences": [SERVICE_ACCOUNT_ISSUER], "expirationSeconds": 3600},
        },
    )
    for permission in PERMISSIONS:  # RBAC is served from a cache: wait until it is in
        if permission.scope == "cluster":
            rule = {
                "apiGroups": [permission.group],
                "resources": [permission.resource],
                "verbs": list(permission.verbs),
            }
            rest.wait_authorized(SA, [rule], None)
    return write_kubeconfig(
        path,
        cluster="deploy",
        server=server.url,
        ca_path=server.ca_path,
        user="netpol-rollout",
        credentials={"token": str(answer["status"]["token"])},
    )


def _example_repository(tmp_path: Path) -> Path:
    repo = tmp_path / "policies"
    shutil.copytree(ROOT / "examples" / "policy-repo", repo)
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "example"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True)
    return repo


def _config_as(repo: Path, kubeconfig: Path) -> Path:
    """deploy/rollout.yaml with the example repository and the ServiceAccount's kubeconfig
    (in the cluster it would use its mounted token: the same identity)."""
    config = yaml.safe_load((ROOT / "deploy" / "rollout.yaml").read_text())
    config["repository"] = {"path": str(repo), "subdirectory": "k8s/network-policies"}
    for env in config["environments"]:
        env["cluster"] = {"kubeconfig": str(kubeconfig)}
    config["store"] = {"url": f"sqlite:///{repo.parent / 'state.db'}"}
    config["server"].pop("session_key")
    path = repo.parent / "rollout.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_deploy_manifests_give_the_service_account_exactly_what_it_needs(
    apiserver_factory: Callable[..., ApiServer],
    kube_binaries: KubeBinaries,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = apiserver_factory(name="deploy")
    try:
        kubectl = [str(kube_binaries.kubectl), "--kubeconfig", str(server.kubeconfig_path)]
        applied = subprocess.run(
            [*kubectl, "apply", "-k", str(ROOT / "deploy")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert applied.returncode == 0, applied.stderr
        for line in ("deployment.apps/netpol-rollout", "configmap/netpol-rollout-config"):
            assert line in applied.stdout
        kubeconfig = _service_account_kubeconfig(server, tmp_path / "sa.kubeconfig")
        monkeypatch.setenv("ROLLOUT_KUSTOMIZE", f"{kube_binaries.kubectl} kustomize")
        config = _config_as(_example_repository(tmp_path), kubeconfig)
        runner = CliRunner()

        checked = runner.invoke(cli, ["check", "-c", str(config), "-o", "json"])
        assert checked.exit_code == 0, checked.output
        results = {(c["environment"], c["name"]): c for c in json.loads(checked.output)["checks"]}
        assert results[("staging", "rbac")]["status"] == "ok"
        assert results[("staging", "namespaces")]["status"] == "ok"
        assert results[("staging", "state")]["status"] == "ok"

        first = runner.invoke(cli, ["apply", "-c", str(config), "--env", "staging"])
        assert first.exit_code == 0, first.output
        assert "applied: staging is at" in first.output

        with KubeClient.from_kubeconfig(kubeconfig) as client:
            state = client.request(
                "GET", "/api/v1/namespaces/netpol-rollout/configmaps/netpol-rollout-staging"
            )
            assert state["data"]["environment"] == "staging"
            # Probe pods, where the example's smoke tests start them.
            for namespace in ("backend", "default"):
                pods = f"/api/v1/namespaces/{namespace}/pods"
                probe = {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": "probe"},
                    "spec": {
                        "automountServiceAccountToken": False,
                        "containers": [{"name": "p", "image": "busybox:1.36"}],
                    },
                }
                server.ensure_service_account(namespace, "default")
                client.request("POST", pods, body=probe)
                client.request("GET", f"{pods}/probe")
                client.request("GET", pods)
                client.request("DELETE", f"{pods}/probe")
            client.request("GET", "/api/v1/namespaces/backend/services")
            # The leader Lease.
            leases = "/apis/coordination.k8s.io/v1/namespaces/netpol-rollout/leases"
            lease = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": "netpol-rollout-leader"},
                "spec": {"holderIdentity": "replica-0", "leaseDurationSeconds": 15},
            }
            created = client.request("POST", leases, body=lease)
            client.request("PUT", f"{leases}/netpol-rollout-leader", body=created)
            # Nothing beyond that.
            with pytest.raises(ApiRefusal) as denied:
                client.request("GET", "/api/v1/namespaces/netpol-rollout/secrets")
            assert denied.value.status == 403
            with pytest.raises(ApiRefusal) as denied:
                client.request("DELETE", "/api/v1/namespaces/backend")
            assert denied.value.status == 403
    finally:
        server.stop()
