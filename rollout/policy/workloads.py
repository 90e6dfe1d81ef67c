"""Endpoints grouped into workloads: what a person means by "who talks to whom".

A pod belongs to the workload that controls it, found through its
controlling ownerReference:

- owned by a ReplicaSet: the ReplicaSet's own owner (a Deployment) when the
  ReplicaSet is among the analysed objects; otherwise the Deployment named by
  the ReplicaSet's name less its `-<pod-template-hash>` suffix (the pod's
  `pod-template-hash` label), so pods of two ReplicaSets of one Deployment
  (mid-rollout) are one workload; a ReplicaSet without that suffix is itself
  the workload;
- owned by a Job: the Job's owner (a CronJob) when the Job is among the
  analysed objects, else the Job;
- owned by a StatefulSet, DaemonSet or any other kind: that object;
- no owner: the pod itself, by name.

A workload given as a manifest (its pod template is an endpoint) is itself,
or its owner's workload when it has one (a ReplicaSet of a Deployment).
External addresses are their own workload, named by their CIDR.

Names follow netpol-analyzer: `namespace/name[Kind]`; external peers are
their CIDR. PURE: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rollout.policy.model import EXTERNAL_KIND, Endpoint

TEMPLATE_HASH_LABEL = "pod-template-hash"

# Kinds whose owner, when known, is the workload a person names.
_INTERMEDIATE = ("ReplicaSet", "Job")


@dataclass(frozen=True, slots=True)
class Workload:
    """A Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, bare Pod or external peer."""

    namespace: str  # "" for external peers
    name: str  # the CIDR for external peers
    kind: str

    @property
    def key(self) -> str:
        """`namespace/name[Kind]`, or the CIDR of an external peer."""
        if self.kind == EXTERNAL_KIND:
            return self.name
        return f"{self.namespace}/{self.name}[{self.kind}]"

    @property
    def is_external(self) -> bool:
        return self.kind == EXTERNAL_KIND


@dataclass(frozen=True)
class WorkloadIndex:
    """Workloads of a sequence of endpoints, in first-seen order.

    `workload_of[i]` is the index in `workloads` of endpoint i's workload;
    `members[w]` the endpoint indices of workload w, in input order.
    """

    workloads: tuple[Workload, ...]
    workload_of: tuple[int, ...]
    members: tuple[tuple[int, ...], ...]

    def sizes(self) -> dict[str, int]:
        """Endpoints per workload, keyed by workload key."""
        return {w.key: len(m) for w, m in zip(self.workloads, self.members, strict=True)}


def group_workloads(endpoints: Sequence[Endpoint]) -> WorkloadIndex:
    """Group `endpoints` into workloads (see the module docstring)."""
    owners = _owners(endpoints)
    index: dict[Workload, int] = {}
    workload_of: list[int] = []
    members: list[list[int]] = []
    for i, ep in enumerate(endpoints):
        workload = workload_of_endpoint(ep, owners)
        wi = index.get(workload)
        if wi is None:
            wi = index[workload] = len(members)
            members.append([])
        members[wi].append(i)
        workload_of.append(wi)
    return WorkloadIndex(tuple(index), tuple(workload_of), tuple(tuple(m) for m in members))


OwnerMap = Mapping[tuple[str, str, str], tuple[str, str]]


def _owners(endpoints: Sequence[Endpoint]) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(namespace, kind, name) -> owner (kind, name) of the analysed ReplicaSets and Jobs."""
    return {
        (ep.namespace, ep.kind, ep.name): ep.owner
        for ep in endpoints
        if ep.kind in _INTERMEDIATE and ep.owner is not None
    }


def workload_of_endpoint(endpoint: Endpoint, owners: OwnerMap | None = None) -> Workload:
    """The workload of one endpoint; `owners` maps analysed ReplicaSets/Jobs to their owners."""
    ns = endpoint.namespace
    if endpoint.is_external:
        return Workload("", endpoint.name, EXTERNAL_KIND)
    if endpoint.kind != "Pod":
        kind, name = endpoint.kind, endpoint.name
    elif endpoint.owner is None:
        return Workload(ns, endpoint.name, "Pod")
    else:
        kind, name = endpoint.owner
    if kind in _INTERMEDIATE:
        known = (owners or {}).get((ns, kind, name))
        if known is not None:
            return Workload(ns, known[1], known[0])
        template_hash = endpoint.labels.get(TEMPLATE_HASH_LABEL)
        if kind == "ReplicaSet" and template_hash and name.endswith(f"-{template_hash}"):
            return Workload(ns, name[: -len(template_hash) - 1], "Deployment")
    return Workload(ns, name, kind)
