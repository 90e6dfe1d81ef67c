"""policyTypes defaults: Ingress always, Egress only when egress rules are present."""

from tests.unit.policy.builders import build, ns, ok, pod, policy

BASE = (ns("a"), pod("a", "x", {"app": "x"}), pod("a", "y", {"app": "y"}))


def test_policy_without_types_and_without_rules_isolates_ingress_only() -> None:
    a = build(*BASE, policy("a", "p"))
    assert not ok(a, "a/y", "a/x")  # ingress of x isolated, no rule
    assert a.group_signature(a.class_of[0])[1] == ()  # egress untouched


def test_egress_rules_without_types_add_egress() -> None:
    a = build(
        *BASE, policy("a", "p", egress=[{"to": [{"podSelector": {"matchLabels": {"app": "x"}}}]}])
    )
    # Ingress is also defaulted on and has no rules: nobody may reach any pod of a.
    assert not ok(a, "a/x", "a/y")
    assert a.group_signature(0)[1]  # egress is restricted too


def test_empty_egress_list_without_types_does_not_restrict_egress() -> None:
    a = build(*BASE, pod("b", "z"), policy("a", "p", egress=[]))
    assert ok(a, "a/x", "b/z")


def test_explicit_egress_only_leaves_ingress_open() -> None:
    a = build(*BASE, pod("b", "z"), policy("a", "p", policy_types=["Egress"]))
    assert ok(a, "b/z", "a/x")
    assert not ok(a, "a/x", "b/z")


def test_ingress_rules_ignored_when_types_name_only_egress() -> None:
    a = build(*BASE, policy("a", "p", policy_types=["Egress"], ingress=[{}], egress=[]))
    assert not ok(a, "a/x", "a/y")  # egress denied; the ingress rule does not matter
