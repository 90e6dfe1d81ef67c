"""The diff compares every port of every protocol, as ranges: a change on ports
no policy or container names is reported, exactly, as the range it affects."""

from __future__ import annotations

import json
from typing import Any

from rollout.policy import connectivity_diff
from rollout.policy.port_ranges import describe_ranges, port_segments
from rollout.policy.report import diff_json, diff_text
from tests.unit.policy.builders import labels, model, ns, pod, policy

CLIENTS = [pod("shop", f"client-{i}", {"app": "client"}) for i in range(8)]
BASE = (ns("shop"), pod("shop", "proxy", {"app": "proxy"}), *CLIENTS)


def egress_range(end_port: int) -> dict[str, Any]:
    return policy(
        "shop",
        "client-out",
        podSelector=labels(app="client"),
        policy_types=["Egress"],
        egress=[
            {
                "to": [{"podSelector": labels(app="proxy")}],
                "ports": [{"port": 8443, "endPort": end_port}],
            }
        ],
    )


def test_a_range_tightened_on_unlisted_ports_is_reported_as_closed() -> None:
    d = connectivity_diff(model(*BASE, egress_range(8450)), model(*BASE, egress_range(8446)))
    assert not d.opened
    assert sorted((c.source, c.destination, c.protocol, c.ports_text) for c in d.closed) == [
        (f"shop/client-{i}", "shop/proxy", "TCP", "8447-8450") for i in range(8)
    ]
    assert all(c.policies == ("NetworkPolicy/shop/client-out",) for c in d.closed)
    closed = json.loads(diff_json(d))["closed"]
    assert {(c["port"], c["end_port"], c["ports"]) for c in closed} == {(8447, 8450, "8447-8450")}
    assert "8447-8450/TCP -> shop/proxy" in diff_text(d)


def test_isolating_a_pod_closes_every_other_port_as_ranges() -> None:
    d = connectivity_diff(model(*BASE), model(*BASE, egress_range(8450)))
    ranges = sorted(
        (c.protocol, c.port, c.last_port)
        for c in d.closed
        if c.source == "shop/client-0" and c.destination == "shop/proxy"
    )
    assert ranges == [
        ("SCTP", 1, 65535),
        ("TCP", 1, 8442),
        ("TCP", 8451, 65535),
        ("UDP", 1, 65535),
    ]


def test_removing_every_policy_opens_all_ports_in_one_connection_per_protocol() -> None:
    d = connectivity_diff(model(*BASE, egress_range(8450)), model(*BASE))
    to_proxy = [c for c in d.opened if (c.source, c.destination) == ("shop/client-0", "shop/proxy")]
    assert sorted((c.protocol, c.ports_text) for c in to_proxy) == [
        ("SCTP", "all"),
        ("TCP", "1-8442"),
        ("TCP", "8451-65535"),
        ("UDP", "all"),
    ]


def test_segments_cover_the_port_space_and_describe_compactly() -> None:
    segs = port_segments(model(*BASE, egress_range(8450)))
    assert [s for s in segs if s[0] == "TCP"] == [
        ("TCP", 1, 8442),
        ("TCP", 8443, 8450),
        ("TCP", 8451, 65535),
    ]
    assert describe_ranges(segs) == "all"
    assert (
        describe_ranges([("UDP", 53, 53), ("TCP", 443, 443), ("TCP", 80, 80), ("TCP", 8000, 8100)])
        == "TCP 80,443,8000-8100; UDP 53"
    )
    assert describe_ranges([]) == "none"
    assert describe_ranges([("TCP", 1, 65535)]) == "TCP all"
