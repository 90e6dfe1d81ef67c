"""Kubernetes calls for smoke-test probe pods: create, read status, list, delete.

Needs only `pods: create, get, list, delete` (and `services: get` for
Service destinations) in the namespaces the tests touch; never `pods/exec`.
Client errors become `ClusterError` naming the pod and what was refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError

from rollout.errors import ClusterError


@dataclass(frozen=True)
class PodState:
    """What the runner needs from a Pod's status, as plain values."""

    namespace: str
    name: str
    phase: str  # Pending, Running, Succeeded, Failed, Unknown
    labels: Mapping[str, str] = field(default_factory=dict)
    pod_ip: str | None = None
    created_at: float | None = None  # epoch seconds
    deleting: bool = False
    waiting_reason: str | None = None
    waiting_message: str | None = None
    terminated_exit_code: int | None = None
    terminated_reason: str | None = None
    termination_message: str | None = None
    condition_message: str | None = None  # e.g. PodScheduled=False: Unschedulable ...
    reason: str | None = None  # pod-level, e.g. DeadlineExceeded
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def terminated(self) -> bool:
        return self.terminated_exit_code is not None or self.phase in ("Succeeded", "Failed")


def pod_state(pod: Any) -> PodState:
    """Translate a `V1Pod` into a `PodState`."""
    meta, status = pod.metadata, pod.status
    waiting = terminated = None
    for cs in (status.container_statuses if status else None) or []:
        if cs.state is not None:
            waiting = waiting or cs.state.waiting
            terminated = terminated or cs.state.terminated
    condition = None
    for cond in (status.conditions if status else None) or []:
        if cond.status == "False" and (cond.reason or cond.message):
            condition = f"{cond.type}={cond.status}: {cond.reason or ''} {cond.message or ''}"
            break
    created = meta.creation_timestamp.timestamp() if meta.creation_timestamp else None
    return PodState(
        namespace=meta.namespace,
        name=meta.name,
        phase=(status.phase if status else None) or "Pending",
        labels=dict(meta.labels or {}),
        pod_ip=status.pod_ip if status else None,
        created_at=created,
        deleting=meta.deletion_timestamp is not None,
        waiting_reason=waiting.reason if waiting else None,
        waiting_message=waiting.message if waiting else None,
        terminated_exit_code=terminated.exit_code if terminated else None,
        terminated_reason=terminated.reason if terminated else None,
        termination_message=terminated.message if terminated else None,
        condition_message=condition.strip() if condition else None,
        reason=status.reason if status else None,
        annotations=dict(meta.annotations or {}),
    )


def _refused(action: str, exc: ApiException) -> ClusterError:
    detail = ""
    if exc.body:
        try:
            detail = json.loads(exc.body).get("message", "")
        except (ValueError, AttributeError):
            detail = ""
    return ClusterError(f"{action}: {exc.status} {exc.reason}" + (f": {detail}" if detail else ""))


class ProbePods:
    """Probe-pod operations on one cluster, through an `ApiClient` it is given."""

    def __init__(self, api_client: Any, *, request_timeout: float = 30.0) -> None:
        self._core = k8s.CoreV1Api(api_client)
        self._timeout = request_timeout

    def create(self, manifest: Mapping[str, Any]) -> None:
        meta = manifest["metadata"]
        where = f"creating probe pod {meta['namespace']}/{meta['name']}"
        try:
            self._core.create_namespaced_pod(
                meta["namespace"], dict(manifest), _request_timeout=self._timeout
            )
        except ApiException as exc:
            raise _refused(where, exc) from exc
        except (HTTPError, OSError) as exc:
            raise ClusterError(f"{where}: {exc}") from exc

    def read(self, namespace: str, name: str) -> PodState | None:
        """The pod's state, or None if it does not exist."""
        try:
            pod = self._core.read_namespaced_pod(name, namespace, _request_timeout=self._timeout)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise _refused(f"reading pod {namespace}/{name}", exc) from exc
        except (HTTPError, OSError) as exc:
            raise ClusterError(f"reading pod {namespace}/{name}: {exc}") from exc
        return pod_state(pod)

    def delete(self, namespace: str, name: str) -> None:
        """Delete now (grace period 0); a pod that is already gone is fine."""
        try:
            self._core.delete_namespaced_pod(
                name, namespace, grace_period_seconds=0, _request_timeout=self._timeout
            )
        except ApiException as exc:
            if exc.status != 404:
                raise _refused(f"deleting pod {namespace}/{name}", exc) from exc
        except (HTTPError, OSError) as exc:
            raise ClusterError(f"deleting pod {namespace}/{name}: {exc}") from exc

    def list(self, namespace: str, labels: Mapping[str, str]) -> list[PodState]:
        """Pods in `namespace` carrying all of `labels` (empty: every pod)."""
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        try:
            pods = self._core.list_namespaced_pod(
                namespace, label_selector=selector or None, _request_timeout=self._timeout
            )
        except ApiException as exc:
            raise _refused(f"listing pods in {namespace} ({selector or 'all'})", exc) from exc
        except (HTTPError, OSError) as exc:
            raise ClusterError(f"listing pods in {namespace}: {exc}") from exc
        return [pod_state(p) for p in pods.items]

    def service_ip(self, namespace: str, name: str) -> str | None:
        """The Service's ClusterIP; None if it does not exist or is headless."""
        try:
            svc = self._core.read_namespaced_service(
                name, namespace, _request_timeout=self._timeout
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise _refused(f"reading service {namespace}/{name}", exc) from exc
        except (HTTPError, OSError) as exc:
            raise ClusterError(f"reading service {namespace}/{name}: {exc}") from exc
        ip = svc.spec.cluster_ip if svc.spec else None
        return None if not ip or ip == "None" else str(ip)
