"""The smoke runner on the real node: real probe pods, real listeners, real packets,
NetworkPolicy enforced by kube-router. Nothing here is judged by our policy engine."""

from __future__ import annotations

import pytest

from rollout.devcluster.real_node import RealNode
from rollout.kube.probes import ProbePods
from rollout.smoke.results import CNI_NOT_ENFORCING, to_json, to_junit, to_markdown
from rollout.smoke.runner import run_smoke_suite
from tests.harness.apiserver import ApiServer
from tests.integration.realnode.conftest import (
    World,
    baseline,
    leftover_probe_pods,
    options,
    plan_of,
    web_to_api,
)

pytestmark = [pytest.mark.integration, pytest.mark.realnode]


def test_expectations_hold_on_real_packets(
    real_node: RealNode, real_node_apiserver: ApiServer, world: World, probe_pods: ProbePods
) -> None:
    baseline(world, real_node, real_node_apiserver)
    tests = [
        web_to_api(world, 8080, "allow"),
        web_to_api(world, 9090, "deny"),
        {
            "name": "api-to-web",
            "from": {"namespace": world.api, "labels": {"app": "api"}},
            "to": {"namespace": world.web, "labels": {"app": "web"}},
            "port": 80,
            "expect": "deny",
        },
    ]

    report = run_smoke_suite(plan_of(world, tests), probe_pods, options(world, real_node))

    assert report.passed, report.summary() + "\n" + "\n".join(r.message for r in report.failures)
    by_name = {r.name: r for r in report.results}
    assert by_name["web-to-api-8080"].observed == "connected"
    assert by_name["web-to-api-9090"].observed == "blocked"
    assert by_name["api-to-web"].observed == "blocked"
    (canary,) = [r for r in report.results if r.kind == "canary"]
    assert canary.observed == "blocked"
    assert not report.cni_not_enforcing
    assert report.summary().endswith("(node: real)")
    assert '"node": "real"' in to_json(report)
    assert '<property name="node" value="real" />' in to_junit(report)
    assert "(node: real)" in to_markdown(report)
    assert leftover_probe_pods(probe_pods, world) == []


def test_an_expected_allow_that_is_blocked_fails(
    real_node: RealNode, real_node_apiserver: ApiServer, world: World, probe_pods: ProbePods
) -> None:
    baseline(world, real_node, real_node_apiserver)
    plan = plan_of(world, [web_to_api(world, 9090, "allow")], canary=False)

    report = run_smoke_suite(plan, probe_pods, options(world, real_node))

    (failure,) = report.failures
    assert failure.observed == "blocked"
    assert "no connection within 3s" in failure.message
    assert failure.attempts >= 2


def test_an_expected_deny_that_connects_fails(
    real_node: RealNode, real_node_apiserver: ApiServer, world: World, probe_pods: ProbePods
) -> None:
    baseline(world, real_node, real_node_apiserver)
    plan = plan_of(world, [web_to_api(world, 8080, "deny")], canary=False)

    report = run_smoke_suite(plan, probe_pods, options(world, real_node))

    (failure,) = report.failures
    assert failure.observed == "connected"
    assert "expected deny" in failure.message


def test_the_canary_catches_a_node_that_does_not_enforce(
    real_node: RealNode, real_node_apiserver: ApiServer, world: World, probe_pods: ProbePods
) -> None:
    baseline(world, real_node, real_node_apiserver)
    real_node.stop_enforcer()
    try:
        report = run_smoke_suite(plan_of(world, []), probe_pods, options(world, real_node))
    finally:
        real_node.start_enforcer()

    assert report.cni_not_enforcing
    (canary,) = report.failures
    assert canary.kind == "canary" and canary.message.startswith(CNI_NOT_ENFORCING)
    assert canary.observed == "connected"


def test_a_probe_image_that_cannot_be_pulled_fails_fast_with_the_reason(
    real_node: RealNode, world: World, probe_pods: ProbePods
) -> None:
    image = "netpol-rollout.local/no-such-image:1"

    report = run_smoke_suite(
        plan_of(world, [web_to_api(world, 8080, "allow")], canary=False),
        probe_pods,
        # Far longer than the test takes: the verdict must come from the pull failure.
        options(world, real_node, image=image, start_timeout=600.0),
    )

    assert not report.passed
    assert all(r.outcome == "error" for r in report.results)
    # The pull failure is the root cause every check shares, stated once (issue 15, defect 6).
    reasons = [r.why_not_run for r in report.results]
    assert all("ImagePull" in why or "ErrImage" in why for why in reasons), reasons
    assert any("ImagePull" in cause or "ErrImage" in cause for cause in report.causes())
    assert leftover_probe_pods(probe_pods, world) == []
