"""Shaping a `Deployment` for a test: its config, policies, smoke spec, fake nodes, store."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import yaml
from kubernetes import client as k8s

from rollout.store import Store, open_store
from tests.e2e.conftest import NAMESPACE, Deployment, git
from tests.e2e.support.fake_cni import LivePolicyCni
from tests.harness.apiserver import ApiServer
from tests.harness.fake_node import FakeNode

DEFAULT_DENY = yaml.safe_dump(
    {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny", "namespace": NAMESPACE},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }
)

SMOKE_SPEC = yaml.safe_dump(
    {
        "tests": [
            {
                "name": "client-to-web",
                "from": {"namespace": NAMESPACE, "labels": {"app": "client"}},
                "to": {"namespace": NAMESPACE, "labels": {"app": "web"}},
                "port": 8080,
                "expect": "allow",
            }
        ]
    }
)


def configure(deployment: Deployment, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit the deployment's rollout.yaml in place (before `start`)."""
    config = yaml.safe_load(deployment.config.read_text())
    change(config)
    deployment.config.write_text(yaml.safe_dump(config))


def environment(config: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in config["environments"] if e["name"] == name)


def commit(deployment: Deployment, files: dict[str, str], message: str) -> str:
    """Commit in the work tree without pushing; returns the sha."""
    work = deployment.remote.work
    for path, text in files.items():
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "-m", message)
    return git(work, "rev-parse", "HEAD")


def push(deployment: Deployment) -> None:
    git(deployment.remote.work, "push", "origin", "main")


def ingress_ports(server: ApiServer) -> dict[str, list[int]]:
    """NetworkPolicies in the test namespace: name -> allowed ingress ports."""
    with server.client() as api:
        items = k8s.NetworkingV1Api(api).list_namespaced_network_policy(NAMESPACE).items
        return {
            p.metadata.name: sorted(
                port.port for rule in p.spec.ingress or [] for port in rule.ports or []
            )
            for p in items
        }


@contextlib.contextmanager
def fake_nodes(*servers: ApiServer) -> Iterator[list[FakeNode]]:
    """A fake node per cluster, enforcing that cluster's live policies."""
    cnis = [LivePolicyCni(s.kubeconfig_path) for s in servers]
    nodes = [
        FakeNode(s.kubeconfig_path, c, namespaces=[NAMESPACE])
        for s, c in zip(servers, cnis, strict=True)
    ]
    for node in nodes:
        node.__enter__()
    try:
        yield nodes
    finally:
        for node in nodes:
            node.stop()
        for cni in cnis:
            cni.close()
    errors = [e for node in nodes for e in node.errors]
    assert not errors, f"the fake nodes hit errors: {errors}"


@contextlib.contextmanager
def state_store(url: str) -> Iterator[Store]:
    store = open_store(url, clock=lambda: datetime.now(UTC))
    try:
        yield store
    finally:
        store.close()


def sqlite_url(deployment: Deployment) -> str:
    return f"sqlite:///{deployment.root / 'state.db'}"


MANY = 150  # enough policies that an apply takes a while to write


def many_policies(prefix: str) -> dict[str, str]:
    """MANY policies in both environments, so an apply takes a while to write."""
    files = {}
    for i in range(MANY):
        body = yaml.safe_dump(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": f"{prefix}-{i:03d}", "namespace": NAMESPACE},
                "spec": {
                    "podSelector": {"matchLabels": {"app": f"svc-{i}"}},
                    "policyTypes": ["Ingress"],
                    "ingress": [{"ports": [{"port": 8000 + i, "protocol": "TCP"}]}],
                },
            }
        )
        for env in ("staging", "production"):
            files[f"policies/{env}/{prefix}-{i:03d}.yaml"] = body
    return files


def count_policies(server: ApiServer, prefix: str) -> Callable[[], int]:
    """How many policies named `prefix-*` are live in `server`."""

    def count() -> int:
        with server.client() as api:
            items = k8s.NetworkingV1Api(api).list_namespaced_network_policy(NAMESPACE).items
        return sum(1 for p in items if p.metadata.name.startswith(prefix))

    return count
