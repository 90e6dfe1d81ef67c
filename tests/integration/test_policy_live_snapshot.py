"""`--live`: namespaces, pods and services read from a real apiserver feed the engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from kubernetes import client as k8s

from rollout.cli.main import cli
from rollout.kube.snapshot import read_snapshot
from rollout.policy import analyze, load_cluster
from tests.harness import ApiServer

pytestmark = pytest.mark.integration

POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: db-from-web, namespace: {ns}}}
spec:
  podSelector: {{matchLabels: {{app: db}}}}
  ingress:
    - from: [{{podSelector: {{matchLabels: {{app: web}}}}}}]
      ports: [{{port: pg}}]
"""


def _pod(name: str, app: str, port: int, port_name: str) -> k8s.V1Pod:
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=name, labels={"app": app}),
        spec=k8s.V1PodSpec(
            containers=[
                k8s.V1Container(
                    name="main",
                    image="registry.invalid/none:1",
                    ports=[k8s.V1ContainerPort(container_port=port, name=port_name)],
                )
            ]
        ),
    )


@pytest.fixture
def shop(apiserver: ApiServer, kube_namespace: str) -> str:
    with apiserver.client() as api:
        core = k8s.CoreV1Api(api)
        core.create_namespaced_pod(kube_namespace, _pod("web", "web", 8080, "http"))
        core.create_namespaced_pod(kube_namespace, _pod("db", "db", 5432, "pg"))
        core.create_namespaced_pod(kube_namespace, _pod("other", "other", 80, "http"))
        core.create_namespaced_service(
            kube_namespace,
            k8s.V1Service(
                metadata=k8s.V1ObjectMeta(name="db"),
                spec=k8s.V1ServiceSpec(
                    selector={"app": "db"}, ports=[k8s.V1ServicePort(port=5432, target_port="pg")]
                ),
            ),
        )
    return kube_namespace


def test_snapshot_reads_namespaces_pods_and_services(apiserver: ApiServer, shop: str) -> None:
    with apiserver.client() as api:
        objects = read_snapshot(api)
    kinds = {
        (o["kind"], o["metadata"]["name"])
        for o in objects
        if o["metadata"].get("namespace") in (shop, None)
    }
    assert {("Namespace", shop), ("Pod", "web"), ("Pod", "db"), ("Service", "db")} <= kinds
    model = load_cluster(objects)
    assert model.namespaces[shop].labels["kubernetes.io/metadata.name"] == shop
    svc = next(s for s in model.services if s.namespace == shop)
    assert svc.ports[0].target_port == "pg"


def test_policies_from_files_apply_to_live_pods(
    apiserver: ApiServer, shop: str, tmp_path: Path
) -> None:
    with apiserver.client() as api:
        objects = read_snapshot(api)
    import yaml

    objects.append(yaml.safe_load(POLICY.format(ns=shop)))
    a = analyze(load_cluster(objects))
    assert a.allowed(shop, "web", shop, "db", 5432)
    assert not a.allowed(shop, "other", shop, "db", 5432)


def test_cli_live_option_reads_the_environments_cluster(
    apiserver: ApiServer, shop: str, tmp_path: Path
) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY.format(ns=shop))
    (tmp_path / "rollout.yaml").write_text(
        "repository: {path: .}\n"
        "environments:\n"
        f"  - name: staging\n    namespaces: [{shop}]\n    overlay: overlays/staging\n"
        f"    cluster: {{kubeconfig: {apiserver.kubeconfig_path}}}\n"
    )
    result = CliRunner().invoke(
        cli,
        [
            "policy",
            "explain",
            str(tmp_path / "policy.yaml"),
            "--live",
            "staging",
            "--config",
            str(tmp_path / "rollout.yaml"),
            "--from",
            f"{shop}/other",
            "--to",
            f"{shop}/db",
            "--port",
            "5432/TCP",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "DENIED" in result.output and "db-from-web" in result.output
