"""The service reads pods from every namespace a policy may select, not only managed ones."""

from __future__ import annotations

from typing import Any

from rollout.policy import load_cluster
from rollout.policy.peers import peer_namespaces


def _ns(name: str, **labels: str) -> dict[str, Any]:
    return {"kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def _policy(namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": namespace},
        "spec": {"podSelector": {}, **spec},
    }


NAMESPACES = [
    _ns("shop", tier="app"),
    _ns("kube-system", **{"kubernetes.io/metadata.name": "kube-system"}),
    _ns("ingress-nginx", role="ingress"),
    _ns("elsewhere"),
]
DNS = {
    "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}]
}
FROM_INGRESS = {"from": [{"namespaceSelector": {"matchLabels": {"role": "ingress"}}}]}


def test_dns_and_ingress_controller_namespaces_are_read() -> None:
    model = load_cluster(
        [
            *NAMESPACES,
            _policy(
                "shop",
                {"policyTypes": ["Ingress", "Egress"], "egress": [DNS], "ingress": [FROM_INGRESS]},
            ),
        ]
    )
    assert peer_namespaces(model, ["shop"]) == ["ingress-nginx", "kube-system", "shop"]


def test_managed_namespaces_are_read_without_policies() -> None:
    assert peer_namespaces(load_cluster(NAMESPACES), ["shop"]) == ["shop"]


def test_a_rule_without_peers_or_with_an_empty_selector_reads_every_namespace() -> None:
    every = ["elsewhere", "ingress-nginx", "kube-system", "shop"]
    open_egress = _policy(
        "shop", {"policyTypes": ["Egress"], "egress": [{"ports": [{"port": 53}]}]}
    )
    assert peer_namespaces(load_cluster([*NAMESPACES, open_egress]), ["shop"]) == every
    any_ns = _policy(
        "shop", {"policyTypes": ["Ingress"], "ingress": [{"from": [{"namespaceSelector": {}}]}]}
    )
    assert peer_namespaces(load_cluster([*NAMESPACES, any_ns]), ["shop"]) == every


def test_ip_blocks_and_rules_of_unenforced_directions_read_nothing_more() -> None:
    policy = _policy(
        "shop",
        {
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}],
            "egress": [DNS],  # not enforced: policyTypes has no Egress
        },
    )
    assert peer_namespaces(load_cluster([*NAMESPACES, policy]), []) == ["shop"]
