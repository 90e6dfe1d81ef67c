"""Each lint rule fires on its mistake, never on the deny-all baseline, and can be silenced."""

from typing import Any

from rollout.policy import lint
from tests.unit.policy.builders import labels, model, ns, pod, policy

DNS = {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
BASELINE = (
    ns("shop"),
    pod("shop", "web", {"app": "web"}, ports=[{"containerPort": 8080, "name": "http"}]),
    policy("shop", "deny-all", policy_types=["Ingress", "Egress"]),
    policy("shop", "dns", policy_types=["Egress"], egress=[DNS]),
)


def ids(*objects: dict[str, Any], **kw: Any) -> set[str]:
    return {f.id for f in lint(model(*objects), **kw)}


def test_deny_all_baseline_with_dns_is_clean() -> None:
    assert lint(model(*BASELINE)) == []


def test_missing_baselines() -> None:
    found = ids(ns("shop"), pod("shop", "web"), policy("shop", "p", podSelector=labels(app="web")))
    assert {"NP001", "NP002"} <= found


def test_managed_namespaces_can_be_given() -> None:
    assert "NP001" in ids(*BASELINE, ns("empty"), managed_namespaces=["empty"])


def test_egress_default_deny_without_dns() -> None:
    assert "NP003" in ids(*BASELINE[:3])


def test_egress_default_deny_without_dns_in_a_repo_without_workloads() -> None:
    assert "NP003" in ids(policy("shop", "deny-all", policy_types=["Egress"]))
    assert "NP003" not in ids(
        policy("shop", "deny-all", policy_types=["Egress"]),
        policy("shop", "dns", policy_types=["Egress"], egress=[DNS]),
    )


def test_namespace_selector_on_missing_label_suggests_metadata_name() -> None:
    p = policy("shop", "p", ingress=[{"from": [{"namespaceSelector": labels(name="ops")}]}])
    findings = [f for f in lint(model(*BASELINE, p)) if f.id == "NP004"]
    assert findings and "kubernetes.io/metadata.name" in findings[0].message


def test_policy_and_peer_selecting_nothing() -> None:
    p = policy("shop", "p", podSelector=labels(app="ghost"))
    q = policy(
        "shop",
        "q",
        podSelector=labels(app="web"),
        ingress=[{"from": [{"podSelector": labels(app="ghost")}]}],
    )
    assert {"NP005", "NP006"} <= ids(*BASELINE, p, q)


def test_named_port_not_declared_and_port_not_exposed() -> None:
    p = policy(
        "shop",
        "p",
        podSelector=labels(app="web"),
        ingress=[{"ports": [{"port": "grpc"}, {"port": 9999}]}],
    )
    assert {"NP007", "NP008"} <= ids(*BASELINE, p)


def test_egress_to_everything_without_private_excepts() -> None:
    p = policy(
        "shop", "p", policy_types=["Egress"], egress=[{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]
    )
    assert "NP009" in ids(*BASELINE, p)
    q = policy(
        "shop",
        "q",
        policy_types=["Egress"],
        egress=[
            {
                "to": [
                    {
                        "ipBlock": {
                            "cidr": "0.0.0.0/0",
                            "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
                        }
                    }
                ]
            }
        ],
    )
    assert "NP009" not in ids(*BASELINE, q)


def test_sensitive_workload_open_to_all_namespaces() -> None:
    vault = pod("shop", "vault", {"app": "vault", "sensitive": "true"})
    p = policy(
        "shop",
        "p",
        podSelector=labels(app="vault"),
        ingress=[{"from": [{"namespaceSelector": {}}]}],
    )
    assert "NP010" in ids(*BASELINE, vault, p)


def test_redundant_rule_and_policy() -> None:
    wide = policy("shop", "wide", podSelector=labels(app="web"), ingress=[{}])
    narrow = policy(
        "shop",
        "narrow",
        podSelector=labels(app="web"),
        ingress=[{"ports": [{"port": 8080}]}, {"ports": [{"port": 8080}]}],
    )
    findings = [f for f in lint(model(*BASELINE, wide, narrow)) if f.id == "NP011"]
    assert {f.object for f in findings} == {"NetworkPolicy/shop/narrow"}
    assert not any(f.object.endswith("deny-all") for f in findings)


def test_except_outside_cidr() -> None:
    p = policy(
        "shop",
        "p",
        policy_types=["Egress"],
        egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}}]}],
    )
    assert "NP012" in ids(*BASELINE, p)


def test_policy_in_undeclared_namespace() -> None:
    assert "NP013" in ids(*BASELINE, policy("nowhere", "p"))


def test_ipblock_covering_pod_and_service_addresses() -> None:
    svc = {
        "kind": "Service",
        "metadata": {"name": "api", "namespace": "shop"},
        "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80}]},
    }
    p = policy(
        "shop",
        "p",
        policy_types=["Egress"],
        egress=[{"to": [{"ipBlock": {"cidr": "10.96.0.0/12"}}]}],
    )
    findings = [f for f in lint(model(*BASELINE, svc, p)) if f.id == "NP014"]
    assert findings and "ClusterIP" in findings[0].message
    q = policy(
        "shop",
        "q",
        policy_types=["Egress"],
        egress=[{"to": [{"ipBlock": {"cidr": "10.244.0.0/16"}}]}],
    )
    ip_pod = pod("shop", "ip", ip="10.244.1.1")
    assert "NP014" in ids(*BASELINE, ip_pod, q)


def test_annotation_silences_a_rule_on_its_object() -> None:
    p = policy(
        "shop", "p", policy_types=["Egress"], egress=[{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]
    )
    p["metadata"]["annotations"] = {"netpol-rollout.io/lint-ignore": "NP009, NP014"}
    assert "NP009" not in ids(*BASELINE, p)


def test_findings_have_stable_ids_severity_object_and_message() -> None:
    f = lint(model(policy("shop", "deny-all", policy_types=["Egress"])))[0]
    assert f.id.startswith("NP") and f.severity in {"error", "warning", "info"}
    assert f.object and f.message
