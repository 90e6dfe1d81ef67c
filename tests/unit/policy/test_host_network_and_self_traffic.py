"""hostNetwork pods are not isolated (nor matched by selectors); a pod may reach itself."""

from tests.unit.policy.builders import build, labels, ns, ok, pod, policy

BASE = (
    ns("a"),
    pod("a", "x", {"app": "x"}),
    pod("a", "x2", {"app": "x"}),
    pod("a", "h", {"app": "x"}, host_network=True),
)
DENY_ALL = policy("a", "deny", policy_types=["Ingress", "Egress"])


def test_host_network_pod_is_not_isolated() -> None:
    a = build(*BASE, pod("b", "y"), DENY_ALL)
    assert ok(a, "b/y", "a/h")
    assert ok(a, "a/h", "b/y")


def test_host_network_pod_is_not_matched_by_pod_selectors() -> None:
    allow = policy(
        "a",
        "allow",
        podSelector=labels(app="x"),
        ingress=[{"from": [{"podSelector": labels(app="x")}]}],
    )
    a = build(*BASE, allow)
    assert ok(a, "a/x2", "a/x")
    assert not ok(a, "a/h", "a/x")


def test_traffic_to_itself_is_always_allowed() -> None:
    a = build(*BASE, DENY_ALL)
    assert ok(a, "a/x", "a/x")
    assert not ok(a, "a/x", "a/x2")  # same class, different pod
