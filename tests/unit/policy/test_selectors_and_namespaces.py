"""Empty podSelector, podSelector alone vs namespaceSelector {}, AND vs OR peers."""

from tests.unit.policy.builders import build, labels, ns, ok, pod, policy

CLUSTER = (
    ns("a", team="t1"),
    ns("b", team="t2"),
    pod("a", "web", {"app": "web"}),
    pod("a", "db", {"app": "db"}),
    pod("a", "api", {"app": "api"}),
    pod("b", "web", {"app": "web"}),
    pod("b", "cli", {"app": "cli"}),
)


def test_empty_pod_selector_selects_every_pod_of_its_namespace_only() -> None:
    a = build(*CLUSTER, policy("a", "deny"))
    assert not ok(a, "b/cli", "a/web")
    assert not ok(a, "b/cli", "a/db")
    assert ok(a, "a/web", "b/cli")  # b is not selected


def test_pod_selector_alone_means_the_policys_own_namespace() -> None:
    rule = {"from": [{"podSelector": labels(app="web")}]}
    a = build(*CLUSTER, policy("a", "p", podSelector=labels(app="db"), ingress=[rule]))
    assert ok(a, "a/web", "a/db")
    assert not ok(a, "b/web", "a/db")  # same labels, other namespace


def test_empty_namespace_selector_means_all_namespaces() -> None:
    rule = {"from": [{"namespaceSelector": {}}]}
    a = build(*CLUSTER, policy("a", "p", podSelector=labels(app="db"), ingress=[rule]))
    assert ok(a, "b/cli", "a/db")
    assert ok(a, "a/api", "a/db")


def test_selectors_in_one_peer_are_anded() -> None:
    rule = {"from": [{"namespaceSelector": labels(team="t2"), "podSelector": labels(app="web")}]}
    a = build(*CLUSTER, policy("a", "p", podSelector=labels(app="db"), ingress=[rule]))
    assert ok(a, "b/web", "a/db")
    assert not ok(a, "b/cli", "a/db")  # right namespace, wrong pod
    assert not ok(a, "a/web", "a/db")  # right pod, wrong namespace


def test_selectors_in_separate_peers_are_ored() -> None:
    rule = {"from": [{"namespaceSelector": labels(team="t2")}, {"podSelector": labels(app="web")}]}
    a = build(*CLUSTER, policy("a", "p", podSelector=labels(app="db"), ingress=[rule]))
    assert ok(a, "b/cli", "a/db")  # any pod of b
    assert ok(a, "a/web", "a/db")  # web of the own namespace
    assert not ok(a, "a/api", "a/db")


def test_namespace_name_label_is_implicit() -> None:
    rule = {"from": [{"namespaceSelector": labels(**{"kubernetes.io/metadata.name": "b"})}]}
    a = build(*CLUSTER, policy("a", "p", ingress=[rule]))
    assert ok(a, "b/cli", "a/db")
    assert not ok(a, "a/api", "a/db")


def test_match_expressions_operators() -> None:
    pods = (
        ns("a"),
        pod("a", "src"),
        pod("a", "prod", {"env": "prod"}),
        pod("a", "dev", {"env": "dev"}),
        pod("a", "bare"),
    )

    def allowed_targets(expr: dict[str, object]) -> set[str]:
        sel = {"matchExpressions": [expr]}
        a = build(*pods, policy("a", "p", podSelector=sel))
        return {n for n in ("prod", "dev", "bare") if ok(a, "a/src", f"a/{n}")}

    # The policy isolates what it selects, so the allowed ones are those it does NOT select.
    assert allowed_targets({"key": "env", "operator": "In", "values": ["prod"]}) == {"dev", "bare"}
    assert allowed_targets({"key": "env", "operator": "NotIn", "values": ["prod"]}) == {"prod"}
    assert allowed_targets({"key": "env", "operator": "Exists"}) == {"bare"}
    assert allowed_targets({"key": "env", "operator": "DoesNotExist"}) == {"prod", "dev"}
