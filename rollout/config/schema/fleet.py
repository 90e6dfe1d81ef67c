"""`environments[].clusters` and `.waves`: an environment of many clusters, in waves."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, field_validator

from rollout.config.schema.approvals import ApprovalRules
from rollout.config.schema.cluster import ClusterRef
from rollout.config.schema.types import DnsLabel, Duration, Strict
from rollout.config.schema.windows import WindowRules


class FleetCluster(ClusterRef):
    """One cluster of a fleet environment: how to reach it, where it is, what it is.

    ```yaml
    clusters:
      - name: eu-1
        kubeconfig: kubeconfigs/eu-1.yaml
        region: europe
        labels: {tier: canary}
      - name: us-1
        context: us-1
        region: americas
        overlay: overlays/production-us
    ```
    """

    name: DnsLabel = Field(
        description="Unique within the environment; named by `waves[].clusters`, shown in "
        "status, events and notifications."
    )
    region: str | None = Field(
        default=None,
        description="Where the cluster runs (free text, e.g. `europe`); also matched by a "
        "wave's `selector` as the label `region`.",
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels a wave's `selector` matches (e.g. `tier: canary`).",
    )
    overlay: str | None = Field(
        default=None,
        description="The kustomize overlay for this cluster, relative to "
        "`repository.subdirectory`; none: the environment's `overlay`.",
    )

    def selector_labels(self) -> dict[str, str]:
        """The labels a wave selector matches: `labels`, plus `region` when given."""
        return {**({"region": self.region} if self.region else {}), **self.labels}


class WaveFailure(StrEnum):
    """What a failure in a wave rolls back."""

    CLUSTER = "cluster"
    WAVE = "wave"


class Wave(Strict):
    """An ordered group of a fleet's clusters, applied together.

    Give the clusters by `clusters` (names) or by `selector` (labels; all must
    match), not both. Every cluster of the environment is in exactly one wave.
    A wave starts when the one before it passed and soaked, and only inside
    its window.

    ```yaml
    waves:
      - {name: canary, clusters: [eu-1]}
      - name: europe
        selector: {region: europe}
        max_parallel: 2
        soak: 30m
      - name: americas
        selector: {region: americas}
        windows: {overlap: {min_online: 1, groups: {americas: 1}}}
        approvals: {required: 1, groups: [sre-americas]}
    ```
    """

    name: DnsLabel = Field(description="Unique within the environment; shown in status.")
    clusters: tuple[DnsLabel, ...] = Field(
        default=(),
        description="The clusters of this wave by name, in order; or use `selector`.",
    )
    selector: dict[str, str] | None = Field(
        default=None,
        description="Every cluster whose labels (and `region`) match all of these, in the "
        "order of `clusters:`; it must match at least one.",
    )
    max_parallel: int = Field(
        default=1, ge=1, description="Clusters applied and tested at once in this wave (>= 1)."
    )
    soak: Duration | None = Field(
        default=None,
        description="How long to wait after the wave passed before the next wave starts; "
        "none: start it at once.",
    )
    windows: WindowRules | None = Field(
        default=None,
        description="When this wave may start (e.g. the region's team online); none: the "
        "environment's `windows`.",
    )
    approvals: ApprovalRules | None = Field(
        default=None,
        description="A further approval needed before this wave starts (the environment's "
        "approval counts once for the whole rollout); none: no further approval.",
    )
    on_failure: WaveFailure = Field(
        default=WaveFailure.CLUSTER,
        description="`cluster`: a failure rolls back the failing cluster only; `wave`: "
        "every cluster of this wave already applied is rolled back too. Earlier waves "
        "keep the new revision either way, and the rollout halts.",
    )

    @field_validator("clusters")
    @classmethod
    def _no_repeats(cls, clusters: tuple[str, ...]) -> tuple[str, ...]:
        for index, name in enumerate(clusters):
            if name in clusters[:index]:
                raise ValueError(f"[{index}]: cluster {name!r} is listed twice")
        return clusters
