"""`environments[]`: one target of the promotion chain, and how to reach its cluster."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from rollout.config.schema.approvals import ApprovalRules
from rollout.config.schema.observed_flows import ObservedFlows
from rollout.config.schema.smoke import SmokeSettings
from rollout.config.schema.types import DnsLabel, Duration, Strict
from rollout.config.schema.windows import WindowRules


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


class Environment(Strict):
    """One target of the promotion chain (staging, production, ...).

    Listed in promotion order. The first is applied and smoke-tested as soon
    as a commit lands; each later one waits for the previous one to pass, then
    for its own `approvals` and `windows`, and is applied and tested in turn.

    ```yaml
    environments:
      - name: production
        cluster: {in_cluster: true}
        namespaces: [frontend, backend, database]
        overlay: overlays/production
        approvals: {required: 2, groups: [approvers]}
        windows: {overlap: {min_online: 2}}
        notify: [slack, github]
    ```
    """

    name: DnsLabel = Field(
        description="Unique name, used by `--env`, in events and in commit status contexts."
    )
    cluster: ClusterRef = Field(
        default_factory=ClusterRef,
        description="How to reach its cluster; default: the current context of the default "
        "kubeconfig.",
    )
    namespaces: tuple[DnsLabel, ...] = Field(
        description="The managed namespaces: objects rendered for other namespaces are "
        "refused, and pruning never touches anything outside them."
    )
    overlay: str = Field(
        description="The kustomize overlay rendered for this environment, relative to "
        "`repository.subdirectory`."
    )
    allowed_kinds: tuple[str, ...] = Field(
        default=("NetworkPolicy", "Namespace"),
        description="Kinds the overlay may contain; any other kind is refused. Also e.g. "
        "`AdminNetworkPolicy`, `CiliumNetworkPolicy`, `GlobalNetworkPolicy`.",
    )
    prune: bool = Field(
        default=True,
        description="Delete objects netpol-rollout applied here before that are gone from "
        "the overlay. Namespaces are never deleted.",
    )
    state_namespace: DnsLabel = Field(
        default="netpol-rollout",
        description="Namespace of the ConfigMap `netpol-rollout-<name>` that records the "
        "deployed revision in the cluster itself; it must exist.",
    )
    smoke: SmokeSettings = Field(
        default_factory=SmokeSettings, description="Checks run after each apply."
    )
    approvals: ApprovalRules | None = Field(
        default=None,
        description="Who must approve before an apply; none: no approvals needed. "
        "Ignored for the first environment.",
    )
    windows: WindowRules | None = Field(
        default=None,
        description="When applies may run; none: at any time. Ignored by the service for "
        "the first environment.",
    )
    observed_flows: ObservedFlows | None = Field(
        default=None,
        description="Observed traffic to replay against each change before it is applied "
        "here; none: no replay.",
    )
    require_signed_commits: bool = Field(
        default=False,
        description="Accept only commits signed by a key in `repository.signing_keys` (git "
        "verifies). A commit that is not is stopped before anything is applied anywhere "
        "(the rollout ends `invalid` with the reason, announced).",
    )
    notify: tuple[str, ...] | None = Field(
        default=None,
        description="Channels for this environment's events: `slack`, `github` and webhook "
        "names; none: every configured channel, `[]`: none.",
    )

    @field_validator("namespaces")
    @classmethod
    def _some_namespaces(cls, namespaces: tuple[str, ...]) -> tuple[str, ...]:
        if not namespaces:
            raise ValueError("list at least one managed namespace")
        if len(set(namespaces)) != len(namespaces):
            raise ValueError("namespaces are listed more than once")
        return namespaces
