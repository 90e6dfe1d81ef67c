"""Live smoke runs against the real apiserver, with the fake node playing the kubelet:
every verdict comes from a probe pod's termination message read through the API."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from rollout.kube.probes import ProbePods
from rollout.smoke.results import CNI_NOT_ENFORCING, to_junit, to_markdown
from rollout.smoke.runner import run_smoke_suite
from tests.harness.apiserver import ApiServer
from tests.harness.fake_node import FakeNode, allow_everything
from tests.integration.smoke.conftest import (
    World,
    create_pod,
    leftover_pods,
    options,
    plan_of,
    policy_table,
)

pytestmark = pytest.mark.integration

NodeFactory = Callable[..., FakeNode]


def _tests(world: World) -> list[dict[str, object]]:
    web = {"namespace": world.web, "labels": {"app": "web"}}
    return [
        {
            "name": "web-to-api",
            "from": web,
            "to": {"namespace": world.api, "labels": {"app": "api"}},
            "port": 8080,
            "expect": "allow",
        },
        {
            "name": "web-to-api-admin",
            "from": web,
            "to": {"namespace": world.api, "labels": {"app": "api"}},
            "port": 9090,
            "expect": "deny",
        },
        {
            "name": "api-to-web",
            "from": {"namespace": world.api, "labels": {"app": "api"}},
            "to": {"namespace": world.web, "labels": {"app": "web"}},
            "port": 80,
            "expect": "deny",
        },
        {
            "name": "web-to-internet",
            "from": web,
            "to": {"host": "203.0.113.7"},
            "port": 443,
            "expect": "deny",
            "timeout": "1s",
        },
    ]


def test_all_pass_and_every_pod_is_deleted(
    apiserver: ApiServer, world: World, probe_pods: ProbePods, fake_node_factory: NodeFactory
) -> None:
    create_pod(apiserver, world.api, "api-0", {"app": "api"})
    table = policy_table(world, [(world.web, {"app": "web"}, world.api, {"app": "api"}, 8080)])
    node = fake_node_factory(table, namespaces=world.namespaces)

    report = run_smoke_suite(plan_of(world, _tests(world)), probe_pods, options(world))

    assert report.passed, report.summary() + "\n" + "\n".join(r.message for r in report.failures)
    by_name = {r.name: r for r in report.results}
    assert by_name["web-to-api"].observed == "connected"
    assert by_name["web-to-api-admin"].observed == "blocked"
    assert {r.kind for r in report.results} == {"expectation", "dns", "canary"}
    assert not report.cni_not_enforcing
    # One probe pod per source: web/app=web, api/app=api, and the two bare DNS sources.
    assert len(node.probes_run) == 4
    assert leftover_pods(probe_pods, world) == []
    assert 'failures="0"' in to_junit(report)
    assert to_markdown(report).startswith("### ✅")


def test_expected_allow_that_is_blocked_fails(
    apiserver: ApiServer, world: World, probe_pods: ProbePods, fake_node_factory: NodeFactory
) -> None:
    create_pod(apiserver, world.api, "api-0", {"app": "api"})
    fake_node_factory(policy_table(world, []), namespaces=world.namespaces)

    report = run_smoke_suite(plan_of(world, _tests(world)[:1]), probe_pods, options(world))

    assert not report.passed
    (failure,) = report.failures
    assert failure.name == "web-to-api"
    assert failure.observed == "blocked"
    assert "no connection within 2s" in failure.message
    assert failure.attempts >= 2  # retried until the deadline, not judged on the first try


def test_expected_deny_that_connects_fails(
    apiserver: ApiServer, world: World, probe_pods: ProbePods, fake_node_factory: NodeFactory
) -> None:
    table = policy_table(world, [(world.web, {}, world.api, {"app": "api"}, 9090)])
    fake_node_factory(table, namespaces=world.namespaces)

    report = run_smoke_suite(plan_of(world, _tests(world)[1:2]), probe_pods, options(world))

    (failure,) = report.failures
    assert failure.name == "web-to-api-admin"
    assert failure.observed == "connected"
    assert "expected deny" in failure.message
    # No pod had app=api: the runner started a labelled listener as the destination.
    assert leftover_pods(probe_pods, world) == []


def test_canary_detects_a_cluster_that_does_not_enforce(
    world: World, probe_pods: ProbePods, fake_node_factory: NodeFactory
) -> None:
    fake_node_factory(allow_everything, namespaces=world.namespaces)

    report = run_smoke_suite(plan_of(world, []), probe_pods, options(world))

    assert report.cni_not_enforcing
    assert not report.passed
    (canary,) = report.failures
    assert canary.kind == "canary" and canary.message.startswith(CNI_NOT_ENFORCING)
    assert report.summary().startswith("the cluster's network plugin does NOT enforce")
    assert "does NOT enforce NetworkPolicy" in to_markdown(report)


def test_image_pull_failure_is_reported_without_waiting_for_start_timeout(
    world: World, probe_pods: ProbePods, fake_node_factory: NodeFactory
) -> None:
    image = "registry.invalid/busybox:nope"
    fake_node_factory(allow_everything, namespaces=world.namespaces, fail_images=[image])
    began = time.monotonic()

    report = run_smoke_suite(
        plan_of(world, _tests(world)[3:]), probe_pods, options(world, image=image, start_timeout=60)
    )

    assert time.monotonic() - began < 20
    assert report.failures and all(r.outcome == "error" for r in report.failures)
    # The image is the cause, stated once; each row names its pod.
    (cause,) = report.causes()
    assert "cannot start: ErrImagePull" in cause or "cannot start: ImagePullBackOff" in cause
    assert image in cause and all(r.cause == cause for r in report.failures)
    assert f"smoke-{report.run_id}-p" in report.failures[0].message
    assert image not in report.failures[0].message
    assert leftover_pods(probe_pods, world) == []


def test_pod_that_never_starts_fails_at_start_timeout(world: World, probe_pods: ProbePods) -> None:
    # No node at all: the pod stays Pending with no reason; start_timeout ends the wait.
    report = run_smoke_suite(
        plan_of(world, _tests(world)[3:], dns_check=False, cni_canary=False),
        probe_pods,
        options(world, start_timeout=1.5),
    )
    (failure,) = report.failures
    assert "still Pending after 1.5s" in failure.message
    assert "did not start within 1.5s (start_timeout)" in failure.cause
    assert leftover_pods(probe_pods, world) == []


def test_broken_probe_tools_never_pass_a_deny(
    world: World, probe_pods: ProbePods, fake_node_factory: NodeFactory
) -> None:
    fake_node_factory(policy_table(world, []), namespaces=world.namespaces, broken_tools=True)

    report = run_smoke_suite(plan_of(world, _tests(world)[3:]), probe_pods, options(world))

    assert report.failures
    assert all("tools do not work" in r.cause for r in report.failures)
    assert len(report.causes()) == 1
