"""`environments[]`: one target of the promotion chain, and how to reach its cluster(s)."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from rollout.config.schema.approvals import ApprovalRules
from rollout.config.schema.cluster import ClusterRef
from rollout.config.schema.fleet import FleetCluster, Wave, WaveFailure
from rollout.config.schema.observed_flows import ObservedFlows
from rollout.config.schema.smoke import SmokeSettings
from rollout.config.schema.types import DnsLabel, Strict
from rollout.config.schema.windows import WindowRules
from rollout.core.waves import ClusterSpec, WavePlan, WavePlanError, WaveSpec, plan_waves
from rollout.errors import ConfigError


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
        "kubeconfig. Not together with `clusters`.",
    )
    clusters: tuple[FleetCluster, ...] | None = Field(
        default=None,
        description="A fleet: the environment's clusters, rolled out in `waves` "
        "(docs/fleets.md); none: the one `cluster`. Not for the first environment.",
    )
    waves: tuple[Wave, ...] | None = Field(
        default=None,
        description="The order in which `clusters` are rolled out; none: one wave of every "
        "cluster, one at a time, in the order listed.",
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
    workloads: str | None = Field(
        default=None,
        description="A folder of the repository, relative to its root (`workloads` in the "
        "example), holding the Namespaces and workloads the policies are written for. When "
        "set, the service and `rollout plan` lint and diff a change against these, read at "
        "the commit analysed (the digest: the deployed one), as `rollout policy lint OVERLAY "
        "workloads` does; none: against the namespaces and pods running in the cluster, in "
        "every namespace the policies select as peers.",
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

    @model_validator(mode="after")
    def _fleet(self) -> Environment:
        if self.clusters is None:
            if self.waves is not None:
                raise ValueError("waves: needs clusters (the fleet the waves are made of)")
            return self
        if "cluster" in self.model_fields_set:
            raise ValueError(
                "cluster: give either cluster (one cluster) or clusters (a fleet), not both"
            )
        try:
            self.wave_plan()
        except WavePlanError as exc:
            raise ValueError("; ".join(exc.problems)) from None
        return self

    def connection(self) -> ClusterRef:
        """How to reach this environment's one cluster.

        Raises ConfigError for a fleet: its clusters are reached one by one
        (`Settings.target("env/cluster")`), never through a default context."""
        if self.clusters is not None:
            names = ", ".join(f"{self.name}/{c.name}" for c in self.clusters)
            raise ConfigError(
                f"environment {self.name!r} is a fleet of {len(self.clusters)} cluster(s); "
                f"name one of them: {names}"
            )
        return self.cluster

    @property
    def is_fleet(self) -> bool:
        """True when the environment lists `clusters` (rolled out in waves)."""
        return self.clusters is not None

    def wave_plan(self) -> WavePlan:
        """The fleet's waves resolved over its clusters; WavePlanError if they do not fit."""
        clusters = [ClusterSpec(c.name, c.selector_labels()) for c in self.clusters or ()]
        waves = [
            WaveSpec(
                name=w.name,
                clusters=w.clusters,
                selector=w.selector,
                max_parallel=w.max_parallel,
                soak=w.soak,
                rollback_wave=w.on_failure is WaveFailure.WAVE,
                needs_approval=w.approvals is not None,
            )
            for w in self.waves or ()
        ]
        return plan_waves(clusters, waves)

    def fleet_cluster(self, name: str) -> FleetCluster:
        """The fleet's cluster called `name`; KeyError if there is none."""
        for cluster in self.clusters or ():
            if cluster.name == name:
                return cluster
        raise KeyError(name)

    def wave(self, name: str) -> Wave | None:
        """The configured wave called `name` (None: the default wave, or unknown)."""
        return next((w for w in self.waves or () if w.name == name), None)

    def for_cluster(self, name: str) -> Environment:
        """This environment as it applies to one of its clusters: that cluster's
        connection and overlay, no fleet. KeyError for an unknown cluster."""
        member = self.fleet_cluster(name)
        ref = ClusterRef(
            kubeconfig=member.kubeconfig,
            context=member.context,
            in_cluster=member.in_cluster,
            request_timeout=member.request_timeout,
            max_parallel_requests=member.max_parallel_requests,
        )
        return self.model_copy(
            update={
                "cluster": ref,
                "overlay": member.overlay or self.overlay,
                "clusters": None,
                "waves": None,
            }
        )

    @field_validator("namespaces")
    @classmethod
    def _some_namespaces(cls, namespaces: tuple[str, ...]) -> tuple[str, ...]:
        if not namespaces:
            raise ValueError("list at least one managed namespace")
        if len(set(namespaces)) != len(namespaces):
            raise ValueError("namespaces are listed more than once")
        return namespaces
