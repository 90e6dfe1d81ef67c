"""`environments[].observed_flows`: where the environment's observed traffic is kept."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from pydantic import Field, field_validator

from rollout.config.schema.types import Duration, Strict


class ObservedFlows(Strict):
    """Flow files replayed against every change before it reaches this environment.

    Each source is a path, a glob or an HTTP(S) URL serving the file: Hubble
    JSON lines (`hubble observe -o json`, the Hubble exporter's files, `.gz`
    too) or the neutral CSV/JSON lines format (docs/observed-flows.md).
    Records older than `window` are left out.

    ```yaml
    observed_flows:
      sources: [/var/log/hubble/events*.log, https://flows.example/prod.csv]
      window: 7d
      cluster_cidrs: [10.244.0.0/16]
    ```
    """

    sources: tuple[str, ...] = Field(
        description="Paths, globs (relative paths from the working directory of the process) "
        "or HTTP(S) URLs."
    )
    window: Duration = Field(
        default=timedelta(days=7), description="Retention window: only flows seen this recently."
    )
    cluster_cidrs: tuple[str, ...] = Field(
        default=(),
        description="The pod network: an address in it that no pod holds is reported as "
        "unresolvable instead of counted as an external address.",
    )
    pod_ip_in_ipblock: bool = Field(
        default=True,
        description="Whether ipBlocks match pod IPs (Calico: yes; Cilium by default: no).",
    )

    @field_validator("sources")
    @classmethod
    def _some_sources(cls, sources: tuple[str, ...]) -> tuple[str, ...]:
        if not sources:
            raise ValueError("list at least one path, glob or URL")
        return sources

    @field_validator("cluster_cidrs")
    @classmethod
    def _cidrs(cls, cidrs: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in cidrs:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"{cidr!r} is not a CIDR like 10.244.0.0/16") from None
        return cidrs
