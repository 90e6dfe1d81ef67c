"""The deployed revision of an environment, recorded in its own cluster.

One ConfigMap per environment, `netpol-rollout-<env>` in the environment's
`state_namespace`, written by server-side apply (field manager
`netpol-rollout`). Keys: `commitSha` and `contentHash` of the last revision
whose every object landed, `appliedAt`, `rolloutId`; while an apply runs,
`pendingSha`/`pendingSince` say which revision is being applied (an
interrupted apply leaves them, and `commitSha` unchanged, for the next run).
The state namespace is created by the first write when it does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from rollout.core.objects import FIELD_MANAGER, MANAGED_BY_LABEL, MANAGED_BY_VALUE
from rollout.errors import ClusterError
from rollout.kube.client import ApiRefusal, KubeClient

JSON = dict[str, object]


@dataclass(frozen=True)
class DeployedState:
    environment: str
    commit_sha: str | None
    content_hash: str | None
    applied_at: str | None
    rollout_id: str | None
    pending_sha: str | None
    pending_since: str | None


def config_map_name(environment: str) -> str:
    return f"netpol-rollout-{environment}"


class StateConfigMap:
    """Reads and writes the deployed-revision ConfigMap of one environment."""

    def __init__(self, client: KubeClient, *, namespace: str, environment: str) -> None:
        self._client = client
        self.namespace = namespace
        self.environment = environment
        self.name = config_map_name(environment)
        self._path = f"/api/v1/namespaces/{namespace}/configmaps/{self.name}"

    def read(self) -> DeployedState | None:
        """The recorded state, or None if nothing was ever recorded."""
        try:
            obj = self._client.request("GET", self._path)
        except ApiRefusal as exc:
            if exc.status == 404:
                return None
            raise ClusterError(
                f"cannot read state ConfigMap {self.namespace}/{self.name}: {exc.message}"
            ) from exc
        data = obj.get("data") or {}
        return DeployedState(
            environment=self.environment,
            commit_sha=data.get("commitSha"),
            content_hash=data.get("contentHash"),
            applied_at=data.get("appliedAt"),
            rollout_id=data.get("rolloutId"),
            pending_sha=data.get("pendingSha"),
            pending_since=data.get("pendingSince"),
        )

    def mark_pending(self, current: DeployedState | None, sha: str, now: datetime) -> None:
        """Say that `sha` is being applied, keeping the last deployed revision."""
        data = _deployed_data(current)
        data.update({"pendingSha": sha, "pendingSince": now.isoformat()})
        self._write(data)

    def record_deployed(
        self, sha: str, content_hash: str, now: datetime, rollout_id: str | None = None
    ) -> None:
        """Record `sha` as deployed (clears the pending marker)."""
        data = {"commitSha": sha, "contentHash": content_hash, "appliedAt": now.isoformat()}
        if rollout_id:
            data["rolloutId"] = rollout_id
        self._write(data)

    def _write(self, data: dict[str, str]) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE},
                "annotations": {"netpol-rollout.io/environment": self.environment},
            },
            "data": {"environment": self.environment, **data},
        }
        try:
            try:
                self._patch(body)
            except ApiRefusal as exc:
                if exc.missing_namespace != self.namespace:
                    raise
                self._create_namespace()
                self._patch(body)
        except ApiRefusal as exc:
            raise ClusterError(
                f"cannot write state ConfigMap {self.namespace}/{self.name}: {exc.message}"
            ) from exc

    def _patch(self, body: Mapping[str, object]) -> None:
        self._client.request(
            "PATCH",
            self._path,
            query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
            body=body,
            content_type="application/apply-patch+yaml",
        )

    def _create_namespace(self) -> None:
        """The state namespace, created on the first write (like `kubectl create ns`)."""
        body = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": self.namespace,
                "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE},
            },
        }
        try:
            self._client.request("POST", "/api/v1/namespaces", body=body)
        except ApiRefusal as exc:
            if exc.status != 409:  # 409: created in between, fine
                raise


def _deployed_data(current: DeployedState | None) -> dict[str, str]:
    if current is None:
        return {}
    out = {
        "commitSha": current.commit_sha,
        "contentHash": current.content_hash,
        "appliedAt": current.applied_at,
        "rolloutId": current.rollout_id,
    }
    return {k: v for k, v in out.items() if v}
