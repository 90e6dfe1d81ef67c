"""Set-up for smoke integration tests: namespaces, a ProbePods client, a policy table."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client as k8s

from rollout.kube.probes import ProbePods
from rollout.smoke.plan import SmokePlan, build_plan
from rollout.smoke.probe import ENV_LABEL
from rollout.smoke.runner import RunOptions
from rollout.smoke.spec import parse_smoke_file, suite_for
from tests.harness.apiserver import ApiServer
from tests.harness.fake_node import FakeSource, FakeTarget


@dataclass(frozen=True)
class World:
    """Two fresh namespaces, `web` and `api`, and an env name unique to the test."""

    web: str
    api: str
    env: str

    @property
    def namespaces(self) -> tuple[str, str]:
        return self.web, self.api


@pytest.fixture
def world(apiserver: ApiServer) -> World:
    suffix = uuid.uuid4().hex[:6]
    web = apiserver.create_namespace(f"web-{suffix}", {"team": "web"})
    api = apiserver.create_namespace(f"api-{suffix}", {"team": "api"})
    return World(web, api, f"staging-{suffix}")


@pytest.fixture
def probe_pods(apiserver: ApiServer) -> Iterator[ProbePods]:
    with apiserver.client() as api:
        yield ProbePods(api)


def create_pod(apiserver: ApiServer, namespace: str, name: str, labels: dict[str, str]) -> None:
    body = {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "automountServiceAccountToken": False,
            "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}],
        },
    }
    with apiserver.client() as api:
        k8s.CoreV1Api(api).create_namespaced_pod(namespace, body)


def plan_of(world: World, tests: list[dict[str, Any]], **suite: Any) -> SmokePlan:
    spec = parse_smoke_file({"tests": tests})
    return build_plan(suite_for(spec, world.env, **suite), world.namespaces, default_timeout=2)


def options(world: World, **overrides: Any) -> RunOptions:
    base: dict[str, Any] = {
        "environment": world.env,
        "start_timeout": 20.0,
        "parallelism": 4,
        "poll_interval": 0.1,
    }
    return RunOptions(**{**base, **overrides})


def leftover_pods(probe_pods: ProbePods, world: World) -> list[str]:
    return [
        f"{p.namespace}/{p.name}"
        for ns in world.namespaces
        for p in probe_pods.list(ns, {ENV_LABEL: world.env})
    ]


Rule = tuple[str, Mapping[str, str], str, Mapping[str, str], int]


def policy_table(world: World, allowed: list[Rule]) -> Callable[..., bool]:
    """A default-deny cluster: DNS from everywhere, plus `allowed` (src ns, src labels,
    dst ns, dst labels, port) between pods; nothing else."""

    def connectivity(source: FakeSource, target: FakeTarget, port: int, protocol: str) -> bool:
        if target.kind == "dns":
            return True
        for src_ns, src_labels, dst_ns, dst_labels, rule_port in allowed:
            if (
                source.namespace == src_ns
                and all(source.labels.get(k) == v for k, v in src_labels.items())
                and target.kind == "pod"
                and target.namespace == dst_ns
                and all(target.labels.get(k) == v for k, v in dst_labels.items())
                and port == rule_port
            ):
                return True
        return False

    return connectivity
