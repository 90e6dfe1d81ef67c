"""explain names the policies selecting each side and the rule that allows, or none."""

from rollout.policy import explain
from tests.unit.policy.builders import labels, model, ns, pod, policy

CLUSTER = (
    ns("shop"),
    pod("shop", "web", {"app": "web"}),
    pod("shop", "db", {"app": "db"}, ports=[{"containerPort": 5432, "name": "pg"}]),
    policy("shop", "deny-all", policy_types=["Ingress", "Egress"]),
    policy(
        "shop",
        "db-in",
        podSelector=labels(app="db"),
        ingress=[{"from": [{"podSelector": labels(app="web")}], "ports": [{"port": "pg"}]}],
    ),
    policy(
        "shop",
        "web-out",
        podSelector=labels(app="web"),
        egress=[{"to": [{"podSelector": labels(app="db")}], "ports": [{"port": 5432}]}],
    ),
)


def test_allowed_names_the_allowing_rules_on_both_sides() -> None:
    e = explain(model(*CLUSTER), "shop/web", "shop/db", 5432)
    assert e.allowed
    assert e.egress.selecting == ("NetworkPolicy/shop/deny-all", "NetworkPolicy/shop/web-out")
    assert [(m.policy, m.rule) for m in e.egress.allowing] == [
        ("NetworkPolicy/shop/web-out", "spec.egress[0]")
    ]
    assert [(m.policy, m.rule) for m in e.ingress.allowing] == [
        ("NetworkPolicy/shop/db-in", "spec.ingress[0]")
    ]


def test_denied_says_no_rule_allows() -> None:
    e = explain(model(*CLUSTER), "shop/db", "shop/web", 80)
    assert not e.allowed
    assert not e.egress.allowing and e.egress.isolated
    text = "\n".join(e.lines())
    assert "DENIED" in text and "deny-all" in text


def test_unselected_side_is_reported_unrestricted() -> None:
    e = explain(model(*CLUSTER[:3]), "shop/web", "shop/db", 5432)
    assert e.allowed and not e.egress.isolated
    assert "no egress policy selects it" in e.egress.note


def test_self_traffic_is_explained() -> None:
    e = explain(model(*CLUSTER), "shop/web", "shop/web", 80)
    assert e.allowed and "itself" in e.note
