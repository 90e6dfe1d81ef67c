"""A live snapshot of a cluster: namespaces, pods and services as plain dicts.

The policy engine is pure and takes dicts; this reads them through the
official client (given an `ApiClient`, never creating one) and translates
client errors to `ClusterError`. NetworkPolicies can be included too, for
analysing what is enforced right now.
"""

from __future__ import annotations

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
    core = k8s.CoreV1Api(api_client)
    net = k8s.NetworkingV1Api(api_client)
    out: list[dict[str, Any]] = []
    try:
        ns_items = _paged(core.list_namespace, page_size)
        out.extend(_as_dict(api_client, "Namespace", ns) for ns in ns_items)
        wanted = namespaces or [ns.metadata.name for ns in ns_items]
        for ns in wanted:
            kinds: list[tuple[str, Any]] = [
                ("Pod", core.list_namespaced_pod),
                ("Service", core.list_namespaced_service),
            ]
            if include_policies:
                kinds.append(("NetworkPolicy", net.list_namespaced_network_policy))
            for kind, lister in kinds:
                for item in _paged(lister, page_size, namespace=ns):
                    out.append(_as_dict(api_client, kind, item))
    except ApiException as exc:
        raise ClusterError(
            f"reading the cluster snapshot failed: {exc.status} {exc.reason}"
        ) from exc
    except (HTTPError, OSError) as exc:
        raise ClusterError(f"reading the cluster snapshot failed: {exc}") from exc
    return out


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
