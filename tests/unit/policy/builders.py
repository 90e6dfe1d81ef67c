"""Small builders for manifest dicts, so each test states only what it pins."""

from __future__ import annotations

from typing import Any

from rollout.policy import Analysis, ClusterModel, analyze, load_cluster


def ns(name: str, **labels: str) -> dict[str, Any]:
    return {"kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def pod(
    namespace: str,
    name: str,
    labels: dict[str, str] | None = None,
    *,
    ports: list[dict[str, Any]] | None = None,
    ip: str | None = None,
    host_network: bool = False,
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {"containers": [{"name": "c", "ports": ports or []}]},
    }
    if host_network:
        obj["spec"]["hostNetwork"] = True
    if ip:
        obj["status"] = {"podIP": ip}
    return obj


def deployment(
    namespace: str, name: str, labels: dict[str, str], ports: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "ports": ports or []}]},
            }
        },
    }


def policy(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault("podSelector", {})
    if "policy_types" in spec:
        spec["policyTypes"] = spec.pop("policy_types")
    if "from_" in spec:
        spec["from"] = spec.pop("from_")
    return {
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def labels(**kv: str) -> dict[str, dict[str, str]]:
    return {"matchLabels": kv}


def build(*objects: dict[str, Any], externals: tuple[str, ...] = (), **kw: Any) -> Analysis:
    return analyze(load_cluster(list(objects), externals=externals), **kw)


def model(*objects: dict[str, Any], externals: tuple[str, ...] = ()) -> ClusterModel:
    return load_cluster(list(objects), externals=externals)


def ok(a: Analysis, src: str, dst: str, port: int = 80, proto: str = "TCP") -> bool:
    """allowed() for `ns/name` keys (or a bare CIDR for external endpoints)."""
    s_ns, _, s_name = src.rpartition("/") if "/" in src and ":" not in src else ("", "", src)
    d_ns, _, d_name = dst.rpartition("/") if "/" in dst and ":" not in dst else ("", "", dst)
    if s_ns and s_ns[0].isdigit():
        s_ns, s_name = "", src
    if d_ns and d_ns[0].isdigit():
        d_ns, d_name = "", dst
    return a.allowed(s_ns, s_name, d_ns, d_name, port, proto)
