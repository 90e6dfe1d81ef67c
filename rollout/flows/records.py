"""What one observed flow record says, whatever format it came in.

A record names each endpoint as far as its source knew it: a namespace and
pod (and, from Hubble, the owning workload and the pod's labels), or only an
IP address. `count` is how many connections the line stands for (a neutral
file may pre-aggregate); `time` is when it was seen (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

PROTOCOLS = ("TCP", "UDP", "SCTP")


@dataclass(frozen=True, slots=True)
class ObservedEndpoint:
    """One side of a flow as the record names it; empty strings mean unknown.

    `labels` are the pod's labels as sorted `(key, value)` pairs (None when
    the source does not report labels); `namespace_labels` likewise for the
    namespace (Hubble reports them as `io.cilium.k8s.namespace.labels.*`).
    `reserved` is a Cilium reserved identity (`world`, `host`, ...) when the
    endpoint is not a pod.
    """

    namespace: str = ""
    pod: str = ""
    ip: str = ""
    workload: str = ""
    workload_kind: str = ""
    labels: tuple[tuple[str, str], ...] | None = None
    namespace_labels: tuple[tuple[str, str], ...] | None = None
    reserved: str = ""

    @property
    def has_pod(self) -> bool:
        return bool(self.namespace and (self.pod or self.workload))


@dataclass(frozen=True, slots=True)
class FlowRecord:
    time: datetime
    source: ObservedEndpoint
    destination: ObservedEndpoint
    port: int
    protocol: str
    count: int = 1
    verdict: str = ""  # as observed: FORWARDED, DROPPED, AUDIT, ... ("" unknown)
