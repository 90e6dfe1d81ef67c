"""Missing from/to/ports mean all; an empty list of rules means none."""

from tests.unit.policy.builders import build, ns, ok, pod, policy

BASE = (ns("a"), ns("b"), pod("a", "x", {"app": "x"}), pod("b", "y"))


def test_rule_without_from_admits_every_source_on_every_port() -> None:
    a = build(*BASE, policy("a", "p", ingress=[{}]))
    assert ok(a, "b/y", "a/x", 1234)
    assert ok(a, "b/y", "a/x", 53, "UDP")


def test_empty_from_list_is_the_same_as_missing() -> None:
    a = build(*BASE, policy("a", "p", ingress=[{"from": [], "ports": []}]))
    assert ok(a, "b/y", "a/x", 80)


def test_empty_list_of_ingress_rules_admits_nothing() -> None:
    a = build(*BASE, policy("a", "p", ingress=[]))
    assert not ok(a, "b/y", "a/x")


def test_empty_list_of_egress_rules_with_egress_type_allows_nothing() -> None:
    a = build(*BASE, policy("a", "p", policy_types=["Egress"], egress=[]))
    assert not ok(a, "a/x", "b/y")


def test_missing_to_allows_every_destination() -> None:
    a = build(*BASE, policy("a", "p", policy_types=["Egress"], egress=[{"ports": [{"port": 80}]}]))
    assert ok(a, "a/x", "b/y", 80)
    assert not ok(a, "a/x", "b/y", 81)
