"""The probe script and listener pods, unchanged, on every `nc` an image may carry,
run in real containers on the real node: allow, deny, a timeout, and UDP (judged
where the tool can tell open from closed, reported as unjudgeable where not)."""

from __future__ import annotations

import pytest

from rollout.devcluster.node_images import PROBE_IMAGES
from rollout.devcluster.real_node import RealNode
from rollout.kube.probes import ProbePods
from rollout.smoke.runner import run_smoke_suite
from rollout.smoke.verdicts import NO_UDP_TOOL
from tests.harness.apiserver import ApiServer
from tests.integration.realnode.conftest import (
    World,
    allow_from,
    apply_policies,
    default_deny_ingress,
    options,
    plan_of,
)

pytestmark = [pytest.mark.integration, pytest.mark.realnode]

# Which tools can tell an open UDP port from a closed one (measured on the real node).
UDP_JUDGED = {"busybox-debian": False, "openbsd": False, "traditional": True, "ncat": True}


@pytest.mark.parametrize("variant", sorted(PROBE_IMAGES))
def test_probe_verdicts_with_this_nc(
    variant: str,
    real_node: RealNode,
    real_node_apiserver: ApiServer,
    world: World,
    probe_pods: ProbePods,
) -> None:
    web = {"namespace": world.web, "labels": {"app": "web"}}
    api = {"namespace": world.api, "labels": {"app": "api"}}
    apply_policies(
        real_node,
        real_node_apiserver,
        [
            default_deny_ingress(world.api),
            allow_from(
                world.api,
                "web-to-api",
                {"app": "api"},
                {"team": "web"},
                {"app": "web"},
                [{"port": 8080, "protocol": "TCP"}, {"port": 5353, "protocol": "UDP"}],
            ),
        ],
    )
    tests = [
        {"name": "tcp-allow", "from": web, "to": api, "port": 8080, "expect": "allow"},
        {"name": "tcp-deny", "from": web, "to": api, "port": 9090, "expect": "deny"},
        {
            "name": "udp-allow",
            "from": web,
            "to": api,
            "port": 5353,
            "protocol": "UDP",
            "expect": "allow",
        },
        {
            "name": "udp-deny",
            "from": web,
            "to": api,
            "port": 5354,
            "protocol": "UDP",
            "expect": "deny",
        },
        # A wrong expectation: the probe must keep trying until its timeout, then fail.
        {
            "name": "tcp-timeout",
            "from": web,
            "to": api,
            "port": 9091,
            "expect": "allow",
            "timeout": "2s",
        },
    ]
    image = PROBE_IMAGES[variant].tag

    report = run_smoke_suite(
        plan_of(world, tests, canary=False), probe_pods, options(world, real_node, image=image)
    )

    by_name = {r.name: r for r in report.results}
    messages = {r.name: f"{r.outcome}: {r.message}" for r in report.results}
    assert by_name["tcp-allow"].outcome == "passed", messages
    assert by_name["tcp-deny"].outcome == "passed", messages
    assert by_name["tcp-timeout"].outcome == "failed", messages
    assert by_name["tcp-timeout"].observed == "blocked"
    assert by_name["tcp-timeout"].attempts >= 2
    for name in ("udp-allow", "udp-deny"):
        if UDP_JUDGED[variant]:
            assert by_name[name].outcome == "passed", messages
        else:
            assert by_name[name].outcome == "error", messages
            assert by_name[name].cause == NO_UDP_TOOL
