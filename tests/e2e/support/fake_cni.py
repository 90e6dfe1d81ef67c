"""A fake network plugin for the fake node: it enforces the NetworkPolicies that are
live in the cluster at the moment of each probe, for the subset the e2e tests use.

Ingress only: a pod selected by no ingress policy accepts everything; otherwise a
connection is allowed when a selecting policy has a rule whose `ports` (empty =
all) hold the port and whose `from` is empty or has a same-namespace `podSelector`
matching the source (`{}` = any pod). DNS and non-pod targets always connect.
Reading the live objects means a bad apply breaks connectivity and a rollback
restores it, exactly like a real plugin, without a table per revision.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes.config import new_client_from_config

from tests.harness.fake_node import FakeSource, FakeTarget
from tests.harness.kubeapi import close_client


def _matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    wanted = (selector or {}).get("matchLabels") or {}
    return all(labels.get(k) == v for k, v in wanted.items())


def _rule_allows(rule: Mapping[str, Any], source: FakeSource, namespace: str, port: int) -> bool:
    ports = rule.get("ports") or []
    if ports and not any(int(p.get("port", 0)) == port for p in ports):
        return False
    peers = rule.get("from") or []
    if not peers:
        return True
    return any(
        "podSelector" in peer
        and "namespaceSelector" not in peer
        and source.namespace == namespace
        and _matches(peer["podSelector"], source.labels)
        for peer in peers
    )


class LivePolicyCni:
    """`Connectivity` for `FakeNode`, answering from the policies live in one cluster."""

    def __init__(self, kubeconfig: Path) -> None:
        self._api = new_client_from_config(config_file=str(kubeconfig), persist_config=False)
        self._net = k8s.NetworkingV1Api(self._api)

    def close(self) -> None:
        close_client(self._api)

    def __call__(self, source: FakeSource, target: FakeTarget, port: int, protocol: str) -> bool:
        if target.kind != "pod":
            return True
        items = self._net.list_namespaced_network_policy(target.namespace).items
        policies = [self._api.sanitize_for_serialization(p)["spec"] for p in items]
        selecting = [
            spec
            for spec in policies
            if "Ingress" in (spec.get("policyTypes") or ["Ingress"])
            and _matches(spec.get("podSelector"), target.labels)
        ]
        return not selecting or any(
            _rule_allows(rule, source, target.namespace, port)
            for spec in selecting
            for rule in spec.get("ingress") or []
        )
