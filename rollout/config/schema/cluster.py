"""How to reach one cluster: a kubeconfig (+context) or in-cluster."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, model_validator

from rollout.config.schema.types import Duration, Strict


class ClusterRef(Strict):
    """How to reach an environment's cluster: a kubeconfig (+context) or in-cluster.

    ```yaml
    cluster:
      kubeconfig: ~/.kube/config
      context: staging
      request_timeout: 30s
    ```
    """

    kubeconfig: Path | None = Field(
        default=None,
        description="Path of a kubeconfig file (relative to the configuration file's "
        "folder); none: `$KUBECONFIG` or `~/.kube/config`. "
        "Custom smoke scripts get it as `KUBECONFIG`.",
    )
    context: str | None = Field(
        default=None, description="Context in the kubeconfig; none: its current context."
    )
    in_cluster: bool = Field(
        default=False,
        description="Use the pod's service account (netpol-rollout runs inside this cluster); "
        "not together with `kubeconfig`.",
    )
    request_timeout: Duration = Field(
        default=timedelta(seconds=30),
        description="Timeout of each API request; transient failures are retried.",
    )
    max_parallel_requests: int = Field(
        default=8,
        ge=1,
        le=64,
        description="API requests in flight at once while applying (1-64); also the "
        "connection pool size.",
    )

    @model_validator(mode="after")
    def _one_way(self) -> ClusterRef:
        if self.in_cluster and self.kubeconfig is not None:
            raise ValueError("give 'kubeconfig' or 'in_cluster: true', not both")
        return self
