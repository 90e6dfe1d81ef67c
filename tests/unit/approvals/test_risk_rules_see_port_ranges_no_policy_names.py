"""The stored rollout diff and the risk rules' opened connections carry port
ranges, so a change on ports no policy names reaches them exactly."""

from __future__ import annotations

from typing import Any

from rollout.config.schema.environments import Environment
from rollout.core.objects import Manifest
from rollout.revision import RenderedRevision
from rollout.wiring import change_analysis
from tests.unit.policy.builders import labels, ns, pod, policy

LIVE = [ns("shop"), pod("shop", "proxy", {"app": "proxy"}), pod("shop", "client", {"app": "c"})]


def revision(end_port: int) -> RenderedRevision:
    egress = policy(
        "shop",
        "client-out",
        podSelector=labels(app="c"),
        policy_types=["Egress"],
        egress=[
            {
                "to": [{"podSelector": labels(app="proxy")}],
                "ports": [{"port": 8443, "endPort": end_port}],
            }
        ],
    )
    return RenderedRevision("staging", "abc", (Manifest(egress),), (), "hash")


def test_a_widened_range_is_stored_and_seen_by_risk_rules_as_the_new_ports() -> None:
    env = Environment.model_validate(
        {"name": "staging", "cluster": {"in_cluster": True}, "namespaces": ["shop"], "overlay": "o"}
    )
    live: list[dict[str, Any]] = [dict(o) for o in LIVE]
    found = change_analysis(env, live, revision(8446), revision(8450))
    opened = found.risk["opened"]
    assert [(c["from_name"], c["to_name"], c["protocol"], c["port"]) for c in opened] == [
        ("client", "proxy", "TCP", "8447-8450")
    ]
    stored = found.diff["opened"]
    assert [(c["port"], c["end_port"], c["ports"]) for c in stored] == [(8447, 8450, "8447-8450")]
    assert found.diff["riskiest"] == ["+ shop/client -> shop/proxy TCP 8447-8450"]
