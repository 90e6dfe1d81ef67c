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
from typing import Any


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


def rbac_manifests(
    managed: Iterable[str],
    state_namespaces: Iterable[str],
    *,
    service_account: tuple[str, str] = ("netpol-rollout", "netpol-rollout"),
    lease_namespace: str | None = "netpol-rollout",
    probe_namespaces: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """ClusterRole/Role objects granting exactly `PERMISSIONS`, with their bindings,
    and the Namespaces the Roles live in (but the ServiceAccount's own).

    `probe_namespaces`: namespaces outside the managed ones where smoke tests
    start probe pods (a test's `from` namespace); they get the pod rights only.
    """
    sa_namespace, sa_name = service_account
    subject = {"kind": "ServiceAccount", "name": sa_name, "namespace": sa_namespace}
    managed = sorted(set(managed))
    per_namespace: dict[str, list[Permission]] = {}
    for permission in PERMISSIONS:
        if permission.scope == "managed":
            targets = managed
        elif permission.scope == "state":
            targets = sorted(set(state_namespaces))
        elif permission.scope == "lease":
            targets = [lease_namespace] if lease_namespace else []
        else:
            continue
        for namespace in targets:
            per_namespace.setdefault(namespace, []).append(permission)
    pods = next(p for p in PERMISSIONS if p.resource == "pods")
    for namespace in sorted(set(probe_namespaces) - set(managed)):
        per_namespace.setdefault(namespace, []).append(pods)
    cluster = [p for p in PERMISSIONS if p.scope == "cluster"]
    name = "netpol-rollout"
    # A Role needs its namespace: create those the service's own manifest does not
    # (Namespace objects of the policy repository only add labels to them later).
    out: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        for namespace in sorted(per_namespace)
        if namespace != sa_namespace
    ]
    out += [
        _role("ClusterRole", name, None, cluster),
        _binding("ClusterRoleBinding", name, None, "ClusterRole", subject),
    ]
    for namespace in sorted(per_namespace):
        out.append(_role("Role", name, namespace, per_namespace[namespace]))
        out.append(_binding("RoleBinding", name, namespace, "Role", subject))
    return out


def _meta(name: str, namespace: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "labels": {"app.kubernetes.io/name": "netpol-rollout"},
    }
    if namespace:
        meta["namespace"] = namespace
    return meta


def _role(
    kind: str, name: str, namespace: str | None, permissions: list[Permission]
) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    for p in permissions:
        rule = {"apiGroups": [p.group], "resources": [p.resource], "verbs": list(p.verbs)}
        if rule not in rules:
            rules.append(rule)
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": _meta(name, namespace),
        "rules": rules,
    }


def _binding(
    kind: str, name: str, namespace: str | None, role_kind: str, subject: dict[str, str]
) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": _meta(name, namespace),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": name},
        "subjects": [subject],
    }
