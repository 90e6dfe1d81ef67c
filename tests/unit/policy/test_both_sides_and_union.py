"""A connection needs source egress AND destination ingress; policies add up (union)."""

from tests.unit.policy.builders import build, labels, ns, ok, pod, policy

BASE = (ns("a"), ns("b"), pod("a", "x", {"app": "x"}), pod("b", "y", {"app": "y"}))
ALLOW_IN = policy("b", "in", ingress=[{"from": [{"namespaceSelector": {}}]}])
ALLOW_OUT = policy(
    "a", "out", policy_types=["Egress"], egress=[{"to": [{"namespaceSelector": {}}]}]
)
DENY_OUT = policy("a", "deny-out", policy_types=["Egress"])
DENY_IN = policy("b", "deny-in")


def test_unrestricted_sides_allow() -> None:
    assert ok(build(*BASE), "a/x", "b/y")


def test_egress_denied_blocks_even_when_ingress_allows() -> None:
    assert not ok(build(*BASE, DENY_OUT, ALLOW_IN), "a/x", "b/y")


def test_ingress_denied_blocks_even_when_egress_allows() -> None:
    assert not ok(build(*BASE, ALLOW_OUT, DENY_IN), "a/x", "b/y")


def test_both_sides_allowing_allows() -> None:
    assert ok(build(*BASE, DENY_OUT, ALLOW_OUT, DENY_IN, ALLOW_IN), "a/x", "b/y")


def test_policies_are_a_union_without_deny_or_priority() -> None:
    narrow = policy(
        "b",
        "narrow",
        podSelector=labels(app="y"),
        ingress=[{"from": [{"podSelector": labels(app="nobody")}]}],
    )
    assert not ok(build(*BASE, narrow), "a/x", "b/y")
    # A later, wider policy adds to the allowed set; the deny-all cannot take it away.
    assert ok(build(*BASE, narrow, DENY_IN, ALLOW_IN), "a/x", "b/y")
