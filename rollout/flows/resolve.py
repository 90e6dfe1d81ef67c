"""From a record's endpoint to a workload: its own metadata first, then the snapshot.

A `PodDirectory` is built from a live cluster snapshot (Pods with their IPs,
creation times and owners; Namespaces with labels) and the workloads the
policy repository declares. An endpoint that names its pod (Hubble, or
`NS/POD` in the neutral format) is resolved by name; one that only has an IP
is resolved through the pod that held that IP *when the flow was seen*: a
pod created after the flow did not send it, so a reused IP whose earlier
owner is gone is reported as unresolvable rather than pinned on the new pod.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rollout.flows.records import ObservedEndpoint
from rollout.policy.model import EXTERNAL_KIND, Endpoint
from rollout.policy.workloads import Workload, workload_of_endpoint

EXTERNAL = EXTERNAL_KIND
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")


def describe(workload: Workload) -> str:
    """`namespace/name`, or the address of an external peer."""
    return workload.name if workload.is_external else f"{workload.namespace}/{workload.name}"


def order(workload: Workload) -> tuple[str, str, str]:
    return (workload.namespace, workload.name, workload.kind)


@dataclass(frozen=True, slots=True)
class Unresolved:
    """Why an endpoint could not be tied to a workload (reported, never dropped)."""

    endpoint: str
    reason: str


@dataclass(frozen=True, slots=True)
class _Pod:
    namespace: str
    name: str
    workload: Workload
    labels: tuple[tuple[str, str], ...]
    created: datetime | None


def workload_of(pod: Mapping[str, Any]) -> Workload:
    """The workload owning a Pod object (the policy engine's grouping), or the pod itself."""
    meta = pod.get("metadata") or {}
    owner = None
    for ref in meta.get("ownerReferences") or ():
        if isinstance(ref, Mapping) and ref.get("kind") and ref.get("name"):
            owner = (str(ref["kind"]), str(ref["name"]))
            if ref.get("controller"):
                break
    endpoint = Endpoint(
        str(meta.get("namespace") or "default"),
        str(meta.get("name") or ""),
        "Pod",
        {str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
        owner=owner,
    )
    return workload_of_endpoint(endpoint)


class PodDirectory:
    """Pods by name and by IP over time, from snapshot objects and declared workloads."""

    def __init__(
        self,
        objects: Iterable[Mapping[str, Any]] = (),
        *,
        cluster_cidrs: Sequence[str] = (),
    ) -> None:
        self._pods: dict[tuple[str, str], _Pod] = {}
        timeline: dict[str, list[tuple[datetime | None, _Pod]]] = {}
        self._workloads: dict[str, list[Workload]] = {}
        self.namespace_labels: dict[str, tuple[tuple[str, str], ...]] = {}
        for obj in objects:
            kind = obj.get("kind")
            meta = obj.get("metadata") or {}
            if kind == "Namespace":
                labels = dict(meta.get("labels") or {})
                labels["kubernetes.io/metadata.name"] = str(meta.get("name"))
                self.namespace_labels[str(meta.get("name"))] = tuple(sorted(labels.items()))
            elif kind in WORKLOAD_KINDS:
                ns = str(meta.get("namespace") or "default")
                self._workloads.setdefault(ns, []).append(
                    Workload(ns, str(meta.get("name")), str(kind))
                )
            elif kind == "Pod":
                pod = self._pod(obj)
                self._pods[(pod.namespace, pod.name)] = pod
                status = obj.get("status") or {}
                ips = {status.get("podIP")} | {
                    (p or {}).get("ip") for p in status.get("podIPs") or ()
                }
                for ip in ips - {None, ""}:
                    timeline.setdefault(str(ip), []).append((pod.created, pod))
        self._by_ip: dict[str, tuple[list[float], list[_Pod]]] = {}
        for ip, owners in timeline.items():
            owners.sort(key=lambda o: o[0].timestamp() if o[0] else float("-inf"))
            self._by_ip[ip] = (
                [o[0].timestamp() if o[0] else float("-inf") for o in owners],
                [o[1] for o in owners],
            )
        for found in self._workloads.values():
            found.sort(key=lambda w: -len(w.name))  # longest name prefix wins
        self._cluster = [ipaddress.ip_network(c, strict=False) for c in cluster_cidrs]

    @staticmethod
    def _pod(obj: Mapping[str, Any]) -> _Pod:
        meta = obj.get("metadata") or {}
        ns = str(meta.get("namespace") or "default")
        raw_created = meta.get("creationTimestamp")
        created = None
        if isinstance(raw_created, datetime):
            created = raw_created
        elif isinstance(raw_created, str):
            try:
                created = datetime.fromisoformat(raw_created)
            except ValueError:
                created = None
        labels = tuple(sorted((str(k), str(v)) for k, v in (meta.get("labels") or {}).items()))
        return _Pod(ns, str(meta.get("name")), workload_of(obj), labels, created)

    def epoch(self, ip: str, when: datetime) -> int:
        """Which owner of `ip` was current at `when` (0: before any known owner)."""
        found = self._by_ip.get(ip)
        return 0 if found is None else bisect_right(found[0], when.timestamp())

    def resolve(
        self, endpoint: ObservedEndpoint, epoch: int = 0
    ) -> tuple[Workload, ObservedEndpoint] | Unresolved:
        """The workload of an endpoint and the endpoint with what the snapshot adds.

        For an IP-only endpoint pass `epoch(ip, time)`.
        """
        if endpoint.has_pod:
            return self._named(endpoint)
        if endpoint.reserved and endpoint.reserved != "world":
            return Unresolved(
                endpoint.ip or endpoint.reserved,
                f"Cilium reserved identity {endpoint.reserved!r}, not a pod or an external "
                "address (node or control-plane traffic)",
            )
        if not endpoint.ip:
            return Unresolved("(no address)", "the record names neither a pod nor an IP")
        found = self._by_ip.get(endpoint.ip)
        if found is not None:
            if epoch == 0:
                first = found[1][0]
                return Unresolved(
                    endpoint.ip,
                    f"IP reused: held now by pod {first.namespace}/{first.name}, created after "
                    "the flow; the pod that held it then is gone",
                )
            pod = found[1][epoch - 1]
            return pod.workload, ObservedEndpoint(
                namespace=pod.namespace,
                pod=pod.name,
                ip=endpoint.ip,
                workload=pod.workload.name,
                workload_kind=pod.workload.kind,
                labels=pod.labels,
            )
        if endpoint.reserved != "world" and self._in_cluster(endpoint.ip):
            return Unresolved(
                endpoint.ip, "a pod address (in cluster_cidrs) that no pod in the snapshot holds"
            )
        try:
            address = ipaddress.ip_address(endpoint.ip)
        except ValueError:
            return Unresolved(endpoint.ip, "not an IP address")
        return Workload("", str(address), EXTERNAL), endpoint

    def _named(self, endpoint: ObservedEndpoint) -> tuple[Workload, ObservedEndpoint]:
        ns = endpoint.namespace
        pod = self._pods.get((ns, endpoint.pod)) if endpoint.pod else None
        if endpoint.workload:
            workload = Workload(ns, endpoint.workload, endpoint.workload_kind or "Workload")
        elif pod is not None:
            workload = pod.workload
        else:
            workload = self._by_prefix(ns, endpoint.pod) or Workload(ns, endpoint.pod, "Pod")
        labels = endpoint.labels
        if labels is None and pod is not None:
            labels = pod.labels
        ns_labels = endpoint.namespace_labels or self.namespace_labels.get(ns)
        if labels is endpoint.labels and ns_labels is endpoint.namespace_labels:
            return workload, endpoint
        return workload, ObservedEndpoint(
            namespace=ns,
            pod=endpoint.pod,
            ip=endpoint.ip,
            workload=workload.name,
            workload_kind=workload.kind,
            labels=labels,
            namespace_labels=ns_labels,
        )

    def _by_prefix(self, namespace: str, pod: str) -> Workload | None:
        for workload in self._workloads.get(namespace, ()):
            if pod.startswith(f"{workload.name}-"):
                return workload
        return None

    def _in_cluster(self, ip: str) -> bool:
        if not self._cluster:
            return False
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in net for net in self._cluster)
