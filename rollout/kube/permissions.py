"""What the service does on a cluster, as RBAC rules: one list, three readers.

`rollout check` asks the apiserver about each (SelfSubjectAccessReview),
`deploy/rbac.yaml` grants exactly these (a test compares them), and the
deploy test exercises them as the ServiceAccount on an apiserver that
enforces RBAC.

Scopes: `cluster` (cluster-scoped resources), `managed` (every namespace an
environment manages: policies, probe pods, the live snapshot), `state` (the
environment's `state_namespace`: the deployed-revision ConfigMap), `lease`
(the leader lease, `server.lease_namespace`, only with leader election).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Permission:
    scope: str  # cluster | managed | state | lease
    group: str
    resource: str
    verbs: tuple[str, ...]
    why: str


PERMISSIONS: tuple[Permission, ...] = (
    Permission(
        "cluster",
        "",
        "namespaces",
        ("get", "list", "create", "patch"),
        "read managed namespaces, create missing ones, set their labels (never delete)",
    ),
    Permission(
        "managed",
        "networking.k8s.io",
        "networkpolicies",
        ("get", "list", "create", "patch", "delete"),
        "apply (server-side), dry-run and prune policies",
    ),
    Permission(
        "managed",
        "",
        "pods",
        ("get", "list", "create", "delete"),
        "smoke-test probe pods, and the live snapshot for the connectivity diff",
    ),
    Permission("managed", "", "services", ("get", "list"), "smoke targets and the live snapshot"),
    Permission(
        "state",
        "",
        "configmaps",
        ("get", "create", "patch"),
        "the deployed-revision ConfigMap netpol-rollout-ENV",
    ),
    Permission(
        "lease",
        "coordination.k8s.io",
        "leases",
        ("get", "create", "update"),
        "leader election between replicas",
    ),
)


@dataclass(frozen=True)
class AccessCheck:
    """One verb on one resource in one namespace ("" for cluster-scoped)."""

    verb: str
    group: str
    resource: str
    namespace: str
    why: str

    def __str__(self) -> str:
        where = f" in {self.namespace}" if self.namespace else " (cluster-wide)"
        kind = f"{self.resource}.{self.group}" if self.group else self.resource
        return f"{self.verb} {kind}{where}"


def access_checks(
    managed: Iterable[str], state_namespace: str, lease_namespace: str | None = None
) -> Iterator[AccessCheck]:
    """Every access the service needs for one environment."""
    namespaces = {
        "cluster": [""],
        "managed": sorted(set(managed)),
        "state": [state_namespace],
        "lease": [lease_namespace] if lease_namespace else [],
    }
    for permission in PERMISSIONS:
        for namespace in namespaces[permission.scope]:
            for verb in permission.verbs:
                yield AccessCheck(
                    verb, permission.group, permission.resource, namespace, permission.why
                )
