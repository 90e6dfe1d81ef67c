"""A live snapshot of a cluster: namespaces, pods and services as plain dicts.

The policy engine is pure and takes dicts; this reads them through the
official client (given an `ApiClient`, never creating one) and translates
client errors to `ClusterError`. NetworkPolicies can be included too, for
analysing what is enforced right now.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError

from rollout.errors import ClusterError


def read_snapshot(
    api_client: Any,
    *,
    namespaces: list[str] | None = None,
    include_policies: bool = False,
    page_size: int = 500,
) -> list[dict[str, Any]]:
    """Namespaces, Pods and Services (and NetworkPolicies if asked) as manifest dicts.

    `namespaces` limits pods/services/policies to those namespaces (all Namespace
    objects are still read, for namespaceSelectors). Raises ClusterError.
    """
    found = read_namespaces(api_client, page_size=page_size)
    wanted = namespaces or [str(ns["metadata"]["name"]) for ns in found]
    kinds = ("Pod", "Service", "NetworkPolicy") if include_policies else ("Pod", "Service")
    return found + read_namespaced(api_client, wanted, kinds, page_size=page_size)


def read_namespaces(api_client: Any, *, page_size: int = 500) -> list[dict[str, Any]]:
    """Every Namespace object as a manifest dict. Raises ClusterError."""
    core = k8s.CoreV1Api(api_client)
    with _translated():
        return [
            _as_dict(api_client, "Namespace", ns) for ns in _paged(core.list_namespace, page_size)
        ]


def read_namespaced(
    api_client: Any,
    namespaces: list[str],
    kinds: tuple[str, ...] = ("Pod", "Service"),
    *,
    page_size: int = 500,
) -> list[dict[str, Any]]:
    """Objects of `kinds` (Pod, Service, NetworkPolicy) in `namespaces`. Raises ClusterError."""
    core = k8s.CoreV1Api(api_client)
    net = k8s.NetworkingV1Api(api_client)
    listers = {
        "Pod": core.list_namespaced_pod,
        "Service": core.list_namespaced_service,
        "NetworkPolicy": net.list_namespaced_network_policy,
    }
    out: list[dict[str, Any]] = []
    with _translated():
        for ns in namespaces:
            for kind in kinds:
                for item in _paged(listers[kind], page_size, namespace=ns):
                    out.append(_as_dict(api_client, kind, item))
    return out


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except ApiException as exc:
        raise ClusterError(
            f"reading the cluster snapshot failed: {exc.status} {exc.reason}"
        ) from exc
    except (HTTPError, OSError) as exc:
        raise ClusterError(f"reading the cluster snapshot failed: {exc}") from exc


def _paged(lister: Any, page_size: int, **kwargs: Any) -> list[Any]:
    items: list[Any] = []
    token = None
    while True:
        resp = lister(limit=page_size, _continue=token, **kwargs)
        items.extend(resp.items or [])
        token = resp.metadata._continue if resp.metadata else None
        if not token:
            return items


def _as_dict(api_client: Any, kind: str, obj: Any) -> dict[str, Any]:
    data: dict[str, Any] = api_client.sanitize_for_serialization(obj)
    data["kind"] = kind
    return data
