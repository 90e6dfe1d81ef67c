"""diff reports opened/closed connections with the responsible policies, externals included."""

from rollout.policy import connectivity_diff
from tests.unit.policy.builders import labels, model, ns, pod, policy

BASE = (
    ns("shop", env="prod"),
    ns("ops"),
    pod("shop", "web", {"app": "web"}, ports=[{"containerPort": 80}]),
    pod("shop", "db", {"app": "db"}, ports=[{"containerPort": 5432}]),
    pod("ops", "admin", {"app": "admin"}),
    policy("shop", "deny-all", policy_types=["Ingress", "Egress"]),
)
DB_FROM_WEB = policy(
    "shop",
    "db-in",
    podSelector=labels(app="db"),
    ingress=[{"from": [{"podSelector": labels(app="web")}], "ports": [{"port": 5432}]}],
)
WEB_OUT = policy(
    "shop",
    "web-out",
    podSelector=labels(app="web"),
    egress=[{"to": [{"podSelector": labels(app="db")}], "ports": [{"port": 5432}]}],
)


def test_opening_a_connection_names_the_new_policies() -> None:
    d = connectivity_diff(model(*BASE), model(*BASE, DB_FROM_WEB, WEB_OUT))
    assert [(c.source, c.destination, c.port) for c in d.opened] == [("shop/web", "shop/db", 5432)]
    assert d.opened[0].policies == ("NetworkPolicy/shop/db-in", "NetworkPolicy/shop/web-out")
    assert not d.closed
    assert d.opened[0].to_namespace_labels["env"] == "prod"
    assert not d.opened[0].cross_namespace and not d.opened[0].to_external


def test_closing_is_the_reverse() -> None:
    d = connectivity_diff(model(*BASE, DB_FROM_WEB, WEB_OUT), model(*BASE))
    assert [(c.source, c.destination) for c in d.closed] == [("shop/web", "shop/db")]
    assert "NetworkPolicy/shop/db-in" in d.closed[0].policies


def test_a_new_deny_all_closes_connections_and_is_responsible() -> None:
    old = model(*BASE[:5])
    new = model(*BASE)
    d = connectivity_diff(old, new, [(5432, "TCP")])
    assert ("ops/admin", "shop/db") in {(c.source, c.destination) for c in d.closed}
    assert all("NetworkPolicy/shop/deny-all" in c.policies for c in d.closed)


def test_egress_widened_to_external_addresses_is_reported() -> None:
    out = policy(
        "shop",
        "web-internet",
        podSelector=labels(app="web"),
        policy_types=["Egress"],
        egress=[{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443}]}],
    )
    d = connectivity_diff(model(*BASE), model(*BASE, out), [(443, "TCP")])
    assert [(c.source, c.destination, c.to_external) for c in d.opened] == [
        ("shop/web", "0.0.0.0/0", True)
    ]
    assert d.opened[0].policies == ("NetworkPolicy/shop/web-internet",)


def test_no_change_is_empty() -> None:
    assert connectivity_diff(model(*BASE, WEB_OUT), model(*BASE, WEB_OUT)).empty
