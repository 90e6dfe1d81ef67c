"""ipBlock: cidr with except, IPv4 and IPv6, externals and pod IPs (an option)."""

import re

import pytest

from tests.unit.policy.builders import build, labels, ns, ok, pod, policy

EXTERNALS = ("8.8.8.8", "10.1.2.3", "2001:db8::1", "2001:db8:0:1::1", "192.168.0.0/24")
BASE = (
    ns("a"),
    pod("a", "x", {"app": "x"}),
    pod("a", "ipod", {"app": "i"}, ip="10.244.0.5"),
)
EGRESS = policy(
    "a",
    "out",
    podSelector=labels(app="x"),
    policy_types=["Egress"],
    egress=[
        {
            "to": [
                {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}},
                {"ipBlock": {"cidr": "2001:db8::/32", "except": ["2001:db8:0:1::/64"]}},
            ]
        }
    ],
)


def test_cidr_with_except_on_ipv4_externals() -> None:
    a = build(*BASE, EGRESS, externals=EXTERNALS)
    assert ok(a, "a/x", "8.8.8.8/32")
    assert not ok(a, "a/x", "10.1.2.3/32")
    assert ok(a, "a/x", "192.168.0.0/24")  # a whole CIDR inside the block


def test_cidr_with_except_on_ipv6_externals() -> None:
    a = build(*BASE, EGRESS, externals=EXTERNALS)
    assert ok(a, "a/x", "2001:db8::1/128")
    assert not ok(a, "a/x", "2001:db8:0:1::1/128")


def test_pod_ip_matches_ipblock_by_default() -> None:
    egress = policy(
        "a",
        "out",
        podSelector=labels(app="x"),
        policy_types=["Egress"],
        egress=[{"to": [{"ipBlock": {"cidr": "10.244.0.0/16"}}]}],
    )
    assert ok(build(*BASE, egress), "a/x", "a/ipod")


def test_pod_ip_matching_can_be_turned_off() -> None:
    egress = policy(
        "a",
        "out",
        podSelector=labels(app="x"),
        policy_types=["Egress"],
        egress=[{"to": [{"ipBlock": {"cidr": "10.244.0.0/16"}}]}],
    )
    assert not ok(build(*BASE, egress, pod_ip_in_ipblock=False), "a/x", "a/ipod")


def test_ingress_ipblock_admits_externals_only_inside() -> None:
    ingress = policy(
        "a",
        "in",
        podSelector=labels(app="x"),
        ingress=[{"from": [{"ipBlock": {"cidr": "8.8.0.0/16"}}]}],
    )
    a = build(*BASE, ingress, externals=EXTERNALS)
    assert ok(a, "8.8.8.8/32", "a/x")
    assert not ok(a, "10.1.2.3/32", "a/x")


def test_external_egress_address_set() -> None:
    a = build(*BASE, EGRESS)
    allowed = a.external_egress(a.class_of[0], 443)
    assert allowed.contains_address("1.1.1.1")
    assert not allowed.contains_address("10.0.0.1")


@pytest.mark.parametrize(
    "text",
    [
        "10.0.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "256.0.0.1",
        "010.0.0.1",
        "1.2.3",
        "1.2.3.4.5",
        "1.2.3.\u0664",
        " 10.0.0.1",
        "10.0.0.1/8",
        "fd00::1",
        "1.2.3.-4",
        "",
        "a.b.c.d",
        7,
        None,
    ],
)
def test_pod_ips_are_checked_fast_as_parse_network_reads_them(text: object) -> None:
    from rollout.errors import PolicyError
    from rollout.policy.ipset import check_address, parse_network

    try:
        parse_network(text, "podIP")
    except PolicyError as exc:
        with pytest.raises(PolicyError, match=re.escape(str(exc))):
            check_address(text, "podIP")
    else:
        check_address(text, "podIP")
