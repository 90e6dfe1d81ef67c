"""Set-up for real-node tests: fresh namespaces on the node's apiserver, policies, options."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from rollout.devcluster.real_node import RealNode
from rollout.kube.probes import ProbePods
from rollout.smoke.plan import SmokePlan, build_plan
from rollout.smoke.probe import ENV_LABEL
from rollout.smoke.runner import RunOptions
from rollout.smoke.spec import parse_smoke_file, suite_for
from tests.harness.apiserver import ApiServer
from tests.harness.real_node import network_policy


@dataclass(frozen=True)
class World:
    """Two fresh namespaces, `web` (team=web) and `api` (team=api), scheduled on the node."""

    web: str
    api: str
    env: str

    @property
    def namespaces(self) -> tuple[str, str]:
        return self.web, self.api


@pytest.fixture
def world(real_node_apiserver: ApiServer, real_node: RealNode) -> World:
    suffix = uuid.uuid4().hex[:6]
    web = real_node_apiserver.create_namespace(f"web-{suffix}", {"team": "web"})
    api = real_node_apiserver.create_namespace(f"api-{suffix}", {"team": "api"})
    for namespace in (web, api):
        real_node.watch_namespace(namespace)
    return World(web, api, f"staging-{suffix}")


@pytest.fixture
def probe_pods(real_node_apiserver: ApiServer) -> Iterator[ProbePods]:
    with real_node_apiserver.client() as api:
        yield ProbePods(api)


def apply_policies(node: RealNode, apiserver: ApiServer, policies: list[dict[str, Any]]) -> None:
    """Create the policies and wait until the enforcer has them in its rules."""
    rest = apiserver.rest()
    for policy in policies:
        namespace = policy["metadata"]["namespace"]
        rest.create(f"/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies", policy)
    node.wait_policies_enforced(
        [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in policies], timeout=30
    )


def default_deny_ingress(namespace: str) -> dict[str, Any]:
    return network_policy(
        namespace, "default-deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]}
    )


def allow_from(
    namespace: str,
    name: str,
    to: dict[str, str],
    from_ns: dict[str, str],
    from_pods: dict[str, str],
    ports: list[dict[str, Any]],
) -> dict[str, Any]:
    return network_policy(
        namespace,
        name,
        {
            "podSelector": {"matchLabels": to},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {"matchLabels": from_ns},
                            "podSelector": {"matchLabels": from_pods},
                        }
                    ],
                    "ports": ports,
                }
            ],
        },
    )


def plan_of(world: World, tests: list[dict[str, Any]], *, canary: bool = True) -> SmokePlan:
    spec = parse_smoke_file({"tests": tests})
    suite = suite_for(spec, world.env, dns_check=False, cni_canary=canary)
    return build_plan(suite, world.namespaces, default_timeout=3)


def options(world: World, node: RealNode, **overrides: Any) -> RunOptions:
    base: dict[str, Any] = {
        "environment": world.env,
        "image": node.probe_image,
        "start_timeout": 60.0,
        "parallelism": 4,
        "poll_interval": 0.2,
    }
    return RunOptions(**{**base, **overrides})


def web_to_api(world: World, port: int, expect: str, **extra: Any) -> dict[str, Any]:
    """An expectation from web/app=web to api/app=api on `port`."""
    return {
        "name": f"web-to-api-{port}",
        "from": {"namespace": world.web, "labels": {"app": "web"}},
        "to": {"namespace": world.api, "labels": {"app": "api"}},
        "port": port,
        "expect": expect,
        **extra,
    }


def baseline(world: World, node: RealNode, apiserver: ApiServer) -> None:
    """Default-deny ingress in both namespaces; web/app=web may reach api/app=api on 8080."""
    apply_policies(
        node,
        apiserver,
        [
            default_deny_ingress(world.web),
            default_deny_ingress(world.api),
            allow_from(
                world.api,
                "web-to-api",
                {"app": "api"},
                {"team": "web"},
                {"app": "web"},
                [{"port": 8080, "protocol": "TCP"}],
            ),
        ],
    )


def leftover_probe_pods(probe_pods: ProbePods, world: World) -> list[str]:
    """Probe and listener pods of the world's environment still in the apiserver."""
    return [
        f"{p.namespace}/{p.name}"
        for ns in world.namespaces
        for p in probe_pods.list(ns, {ENV_LABEL: world.env})
    ]
