"""Server-side apply, dry run and prune of a plan against one cluster.

`KubeCluster` is the cluster port of `rollout.revision`:

* `live_objects(desired, ...)` reads, per managed namespace and kind, everything
  live (one LIST each, in parallel), and returns the live version of desired
  objects plus the objects labelled `app.kubernetes.io/managed-by:
  netpol-rollout` *and* annotated with this environment (prune candidates).
  Unlabelled objects are never returned as prunable, so never deleted.
* `dry_run(bodies)` sends every body as a server-side apply with `dryRun=All`
  (schema, admission, RBAC), in parallel; returns the refusals.
* `execute(plan)` runs the plan's phases in order, the writes of one phase in
  parallel over kept-alive connections (server-side apply, field manager
  `netpol-rollout`, force: git is the owner of the fields we manage); deletes
  carry the resourceVersion seen when planning as a precondition, so an object
  changed in between is reported, not deleted. The first phase with a refusal
  is the last one run: later phases rely on earlier ones having landed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rollout.core.objects import (
    FIELD_MANAGER,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    DesiredObject,
    ObjectKey,
    is_managed_by_us,
    key_of,
)
from rollout.core.plan import Plan, Write
from rollout.kube.client import ApiRefusal, KubeClient, Resource

JSON = dict[str, Any]
T = TypeVar("T")
R = TypeVar("R")

# apiVersion to list for prune candidates of an allowed kind that no desired object names.
DEFAULT_API_VERSIONS = {
    "NetworkPolicy": "networking.k8s.io/v1",
    "AdminNetworkPolicy": "policy.networking.k8s.io/v1alpha1",
    "BaselineAdminNetworkPolicy": "policy.networking.k8s.io/v1alpha1",
    "CiliumNetworkPolicy": "cilium.io/v2",
    "CiliumClusterwideNetworkPolicy": "cilium.io/v2",
    "GlobalNetworkPolicy": "crd.projectcalico.org/v1",
    "NetworkSet": "crd.projectcalico.org/v1",
    "GlobalNetworkSet": "crd.projectcalico.org/v1",
}


@dataclass(frozen=True)
class Refusal:
    """An object the apiserver refused, and why."""

    key: ObjectKey
    reason: str
    # Set when the object's namespace does not exist (yet): a revision that
    # creates that namespace gets the object checked by the apply itself.
    missing_namespace: str | None = None

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}"


@dataclass
class ExecutionResult:
    """What `execute` did: objects written/deleted, refusals, phases run."""

    applied: list[ObjectKey] = field(default_factory=list)
    deleted: list[ObjectKey] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    phases_run: int = 0
    complete: bool = False


ProgressFn = Callable[[Write, Refusal | None], None]


class KubeCluster:
    """Reads, dry-runs, applies and prunes policy objects on one cluster."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self._executor = ThreadPoolExecutor(
            max_workers=client.max_parallel, thread_name_prefix="netpol-apply"
        )

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        self.client.close()

    def __enter__(self) -> KubeCluster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------

    def live_objects(
        self,
        desired: Sequence[DesiredObject],
        *,
        namespaces: Iterable[str],
        allowed_kinds: Iterable[str],
        environment: str,
    ) -> tuple[dict[ObjectKey, JSON], dict[ObjectKey, JSON]]:
        """(live version of each existing desired object, our prunable objects)."""
        versions: dict[str, str] = {}
        for d in desired:
            versions.setdefault(str(d.body["kind"]), str(d.body["apiVersion"]))
        for kind in allowed_kinds:
            if kind in DEFAULT_API_VERSIONS and kind not in versions:
                versions[kind] = DEFAULT_API_VERSIONS[kind]
        wanted = {d.key for d in desired}
        reads: list[tuple[str, str, Resource, str]] = []  # (apiVersion, kind, resource, ns)
        names: list[tuple[str, Resource, str]] = []  # single GETs (namespaces)
        for kind, api_version in sorted(versions.items()):
            try:
                resource = self.client.resource(api_version, kind)
            except ApiRefusal:
                continue  # kind not installed: nothing of it can be live
            if kind == "Namespace":
                names += [
                    (api_version, resource, d.key.name) for d in desired if d.key.kind == kind
                ]
            elif resource.namespaced:
                reads += [(api_version, kind, resource, ns) for ns in sorted(set(namespaces))]
            else:
                reads.append((api_version, kind, resource, ""))

        def list_one(item: tuple[str, str, Resource, str]) -> list[JSON]:
            api_version, kind, resource, ns = item
            answer = self.client.request("GET", resource.collection(ns))
            objects = answer.get("items") or []
            for obj in objects:  # LIST items carry neither apiVersion nor kind
                obj["apiVersion"], obj["kind"] = api_version, kind
            return list(objects)

        def get_one(item: tuple[str, Resource, str]) -> list[JSON]:
            api_version, resource, name = item
            try:
                obj = self.client.request("GET", resource.item(name))
            except ApiRefusal as exc:
                if exc.status == 404:
                    return []
                raise
            obj["apiVersion"], obj["kind"] = api_version, "Namespace"
            return [obj]

        live: dict[ObjectKey, JSON] = {}
        prunable: dict[ObjectKey, JSON] = {}
        found = self._parallel(list_one, reads) + self._parallel(get_one, names)
        for objects in found:
            for obj in objects:
                key = key_of(obj)
                if key in wanted:
                    live[key] = obj
                if is_managed_by_us(obj, environment):
                    prunable[key] = obj
        return live, prunable

    # -- writing ---------------------------------------------------------------

    def dry_run(self, bodies: Sequence[Mapping[str, Any]]) -> list[Refusal]:
        """Server-side apply of every body with dryRun=All; the refusals."""

        def one(body: Mapping[str, Any]) -> Refusal | None:
            try:
                self._apply(body, dry_run=True)
            except ApiRefusal as exc:
                return Refusal(key_of(body), _describe(exc), exc.missing_namespace)
            return None

        return [r for r in self._parallel(one, list(bodies)) if r is not None]

    def dry_run_deletes(self, objects: Sequence[Mapping[str, Any]]) -> list[Refusal]:
        """DELETE with dryRun=All for each object (RBAC and admission for prunes)."""

        def one(obj: Mapping[str, Any]) -> Refusal | None:
            try:
                self._delete(obj, dry_run=True)
            except ApiRefusal as exc:
                if exc.status == 404:
                    return None
                return Refusal(key_of(obj), _describe(exc))
            return None

        return [r for r in self._parallel(one, list(objects)) if r is not None]

    def execute(self, plan: Plan, *, on_write: ProgressFn | None = None) -> ExecutionResult:
        """Run the plan's phases in order; stop after the first phase with a refusal."""
        result = ExecutionResult()
        lock = threading.Lock()

        def one(write: Write) -> None:
            refusal: Refusal | None = None
            try:
                if write.body is None:
                    assert write.change.live is not None
                    self._delete(write.change.live, dry_run=False)
                else:
                    self._apply(write.body, dry_run=False)
            except ApiRefusal as exc:
                gone = write.body is None and exc.status == 404
                if not gone:
                    refusal = Refusal(write.change.key, _describe(exc))
            with lock:
                if refusal is not None:
                    result.refused.append(refusal)
                elif write.body is None:
                    result.deleted.append(write.change.key)
                elif not write.interim:
                    result.applied.append(write.change.key)
            if on_write is not None:
                on_write(write, refusal)

        for step in plan.steps:
            self._parallel(one, list(step.writes))
            result.phases_run += 1
            if result.refused:
                return result
        result.complete = True
        return result

    def _apply(self, body: Mapping[str, Any], *, dry_run: bool) -> JSON:
        meta = body["metadata"]
        resource = self.client.resource(str(body["apiVersion"]), str(body["kind"]))
        query = [("fieldManager", FIELD_MANAGER), ("force", "true")]
        if dry_run:
            query.append(("dryRun", "All"))
        answer: JSON = self.client.request(
            "PATCH",
            resource.item(str(meta["name"]), str(meta.get("namespace") or "")),
            query=query,
            body=body,
            content_type="application/apply-patch+yaml",
        )
        return answer

    def _delete(self, live: Mapping[str, Any], *, dry_run: bool) -> None:
        meta = live["metadata"]
        labels = meta.get("labels") or {}
        if labels.get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE:  # belt and braces
            raise ApiRefusal(409, "NotOurs", "not labelled as managed by netpol-rollout")
        resource = self.client.resource(str(live["apiVersion"]), str(live["kind"]))
        options: JSON = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if meta.get("resourceVersion"):
            options["preconditions"] = {"resourceVersion": meta["resourceVersion"]}
        self.client.request(
            "DELETE",
            resource.item(str(meta["name"]), str(meta.get("namespace") or "")),
            query=[("dryRun", "All")] if dry_run else None,
            body=options,
        )

    def _parallel(self, fn: Callable[[T], R], items: list[T]) -> list[R]:
        if len(items) <= 1:
            return [fn(i) for i in items]
        futures = [self._executor.submit(fn, i) for i in items]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def _describe(exc: ApiRefusal) -> str:
    if exc.status == 409 and exc.reason == "Conflict":
        return f"changed on the cluster since it was read ({exc.message})"
    if exc.status == 403:
        return f"forbidden: {exc.message}"
    return f"{exc.reason or exc.status}: {exc.message}"
