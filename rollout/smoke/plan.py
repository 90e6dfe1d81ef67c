"""Expectations -> a probe plan: one probe pod per source (PURE: no I/O, no clock).

A *source* is a namespace plus pod labels; every check of a source runs in
the same short-lived probe pod, which carries the source's labels so the same
policies select it. Built-ins added here:

* `dns`: from every managed namespace, a pod with no workload labels resolves
  `kubernetes.default` (the allow-essentials rule).
* `cni-canary`: in the canary namespace (default: the first managed one, which
  must have a default-deny baseline), a pod with no workload labels connects to
  a listener pod on an unused port. It must be blocked; if it connects, the
  network plugin does not enforce NetworkPolicy.

Destinations are resolved to addresses later, by the runner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from rollout.smoke.spec import BUILTIN_CANARY, BUILTIN_DNS, SmokeSuite, format_labels

CheckKind = Literal["tcp", "udp", "http", "dns"]
CheckRole = Literal["expectation", "dns", "canary"]
Expect = Literal["allow", "deny"]

CANARY_PORT = 17001
CANARY_TARGET_LABELS: Mapping[str, str] = {"netpol-rollout.io/smoke-canary": "target"}
# Results of one pod must fit the 4096-byte termination message: ~16 bytes each.
MAX_CHECKS_PER_POD = 64


@dataclass(frozen=True)
class Target:
    """A destination before resolution to an address.

    kind `pods`: a pod with `labels` in `namespace` (a real one, or a listener
    pod the runner starts); `service`: `namespace/name`'s ClusterIP; `host`: as
    written; `dns`: the name `host` is resolved, no connection is made.
    """

    kind: Literal["pods", "service", "host", "dns"]
    namespace: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    name: str = ""
    host: str = ""

    def describe(self) -> str:
        if self.kind == "pods":
            return f"{self.namespace}/{format_labels(self.labels)}"
        if self.kind == "service":
            return f"svc/{self.namespace}/{self.name}"
        if self.kind == "dns":
            return f"dns:{self.host}"
        return self.host


@dataclass(frozen=True)
class Source:
    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.namespace}/{format_labels(self.labels)}"

    @property
    def key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        return self.namespace, tuple(sorted(self.labels.items()))


@dataclass(frozen=True)
class PlannedCheck:
    index: int  # unique within its probe pod; the key of its result
    name: str
    role: CheckRole
    kind: CheckKind
    source: Source
    target: Target
    port: int
    protocol: Literal["TCP", "UDP"]
    expect: Expect
    timeout: float  # seconds: allow retries until then; deny must hold until then


@dataclass(frozen=True)
class ProbePlan:
    """One probe pod: a source and the checks it runs."""

    number: int
    source: Source
    checks: tuple[PlannedCheck, ...]

    @property
    def max_timeout(self) -> float:
        return max(c.timeout for c in self.checks)


@dataclass(frozen=True)
class SmokePlan:
    environment: str
    probes: tuple[ProbePlan, ...]

    @property
    def checks(self) -> tuple[PlannedCheck, ...]:
        return tuple(c for p in self.probes for c in p.checks)

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Every namespace the run may create pods in (sources and pod targets)."""
        found: dict[str, None] = {}
        for check in self.checks:
            found[check.source.namespace] = None
            if check.target.kind == "pods":
                found[check.target.namespace] = None
        return tuple(found)


def build_plan(
    suite: SmokeSuite,
    managed_namespaces: Sequence[str],
    default_timeout: float,
) -> SmokePlan:
    """Group the suite's expectations and built-ins into probe pods, per source."""
    pending: list[tuple[str, CheckRole, CheckKind, Source, Target, int, str, Expect, float]] = []
    for named in suite.expectations:
        exp = named.spec
        source = Source(exp.source.namespace, dict(exp.source.labels))
        to = exp.to
        if to.service is not None:
            ns, _, name = to.service.partition("/")
            target = Target("service", namespace=ns, name=name)
        elif to.host is not None:
            target = Target("host", host=to.host)
        else:
            target = Target("pods", namespace=to.namespace or "", labels=dict(to.labels or {}))
        kind: CheckKind = "http" if exp.http else ("udp" if exp.protocol == "UDP" else "tcp")
        timeout = exp.timeout.total_seconds() if exp.timeout else default_timeout
        pending.append(
            (
                named.name,
                "expectation",
                kind,
                source,
                target,
                exp.port,
                exp.protocol,
                exp.expect,
                timeout,
            )
        )
    if suite.dns_check:
        for ns in managed_namespaces:
            pending.append(
                (
                    f"{BUILTIN_DNS} {ns}",
                    "dns",
                    "dns",
                    Source(ns),
                    Target("dns", host=suite.dns_name),
                    53,
                    "UDP",
                    "allow",
                    default_timeout,
                )
            )
    if suite.cni_canary and managed_namespaces:
        ns = suite.canary_namespace or managed_namespaces[0]
        target = Target("pods", namespace=ns, labels=dict(CANARY_TARGET_LABELS))
        pending.append(
            (
                f"{BUILTIN_CANARY} {ns}",
                "canary",
                "tcp",
                Source(ns),
                target,
                CANARY_PORT,
                "TCP",
                "deny",
                default_timeout,
            )
        )

    by_source: dict[tuple[str, tuple[tuple[str, str], ...]], list[PlannedCheck]] = {}
    for name, role, kind, source, target, port, proto, expect, timeout in pending:
        group = by_source.setdefault(source.key, [])
        check = PlannedCheck(
            index=0,
            name=name,
            role=role,
            kind=kind,
            source=source,
            target=target,
            port=port,
            protocol="UDP" if proto == "UDP" else "TCP",
            expect=expect,
            timeout=timeout,
        )
        group.append(check)

    probes: list[ProbePlan] = []
    for checks in by_source.values():
        for start in range(0, len(checks), MAX_CHECKS_PER_POD):
            chunk = checks[start : start + MAX_CHECKS_PER_POD]
            numbered = tuple(replace(c, index=i) for i, c in enumerate(chunk))
            probes.append(ProbePlan(len(probes), chunk[0].source, numbered))
    return SmokePlan(suite.environment, tuple(probes))
