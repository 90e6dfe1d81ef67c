"""Replay observed flows against two revisions: which would the change cut or open?

Each distinct flow is evaluated with the policy engine in each revision on
both sides: the egress of its source and the ingress of its destination.
An endpoint is found in a revision's model by its workload's name, then by
its pod's name, then as the declared workload in its namespace whose
template labels the observed pod carries (so named ports resolve against the
real container ports); failing all three, the observed pod (its labels and
namespace labels) is added to the model for the evaluation. An endpoint with
no labels that matches nothing cannot be evaluated and is reported so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from rollout.flows.aggregate import ObservedFlow
from rollout.flows.records import ObservedEndpoint
from rollout.flows.resolve import describe
from rollout.policy import Analysis, ClusterModel, Endpoint, Namespace, analyze
from rollout.policy.ipset import IPSet
from rollout.policy.model import NAME_LABEL
from rollout.policy.workloads import Workload


@dataclass(frozen=True, slots=True)
class Verdict:
    """A flow in one revision: allowed, or which side(s) deny it."""

    egress_allows: bool
    ingress_allows: bool

    @property
    def allowed(self) -> bool:
        return self.egress_allows and self.ingress_allows

    def denied_by(self, flow: ObservedFlow) -> str:
        sides = []
        if not self.egress_allows:
            sides.append(f"egress of {describe(flow.source)}")
        if not self.ingress_allows:
            sides.append(f"ingress of {describe(flow.destination)}")
        return " and ".join(sides)


@dataclass(frozen=True, slots=True)
class ReplayedFlow:
    flow: ObservedFlow
    before: Verdict
    after: Verdict

    @property
    def reason(self) -> str:
        if not self.after.allowed:
            return f"denied after the change by the {self.after.denied_by(self.flow)}"
        return f"denied before the change by the {self.before.denied_by(self.flow)}"


@dataclass(frozen=True, slots=True)
class Unevaluated:
    flow: ObservedFlow
    reason: str


@dataclass(frozen=True)
class ReplayResult:
    cut: tuple[ReplayedFlow, ...]  # allowed before, denied after (busiest first)
    opened: tuple[ReplayedFlow, ...]  # denied before, allowed after
    unevaluated: tuple[Unevaluated, ...]
    unchanged_allowed: int
    unchanged_denied: int


class _Revision:
    """A model with the observed endpoints placed in it, compiled once."""

    def __init__(
        self, model: ClusterModel, flows: Sequence[ObservedFlow], pod_ip_in_ipblock: bool
    ) -> None:
        keys = {ep.key: ep for ep in model.endpoints}
        by_ns: dict[str, list[Endpoint]] = {}
        for ep in model.endpoints:
            if not ep.is_external and ep.kind != "Pod":
                by_ns.setdefault(ep.namespace, []).append(ep)
        self.placed: dict[Workload, str | None] = {}
        added: dict[str, Endpoint] = {}
        namespaces = dict(model.namespaces)
        for flow in flows:
            for workload, seen in (
                (flow.source, flow.source_seen),
                (flow.destination, flow.destination_seen),
            ):
                if workload.is_external or workload in self.placed:
                    continue
                key = self._place(workload, seen, keys, by_ns, added, namespaces)
                self.placed[workload] = key
        if added:
            model = replace(
                model, endpoints=(*model.endpoints, *added.values()), namespaces=namespaces
            )
        self.analysis: Analysis = analyze(model, pod_ip_in_ipblock=pod_ip_in_ipblock)
        self.index = {ep.key: i for i, ep in enumerate(self.analysis.endpoints)}

    @staticmethod
    def _place(
        workload: Workload,
        seen: ObservedEndpoint,
        keys: dict[str, Endpoint],
        by_ns: dict[str, list[Endpoint]],
        added: dict[str, Endpoint],
        namespaces: dict[str, Namespace],
    ) -> str | None:
        ns = workload.namespace
        for key in (f"{ns}/{workload.name}", f"{ns}/{seen.pod}" if seen.pod else ""):
            if key in keys or key in added:
                return key
        labels = dict(seen.labels or ())
        if labels:
            for ep in by_ns.get(ns, ()):
                if ep.labels and ep.labels.items() <= labels.items():
                    return ep.key
        if seen.labels is None:
            return None
        key = f"{ns}/{workload.name}"
        added[key] = Endpoint(ns, workload.name, "Pod", labels, ips=(seen.ip,) if seen.ip else ())
        known = namespaces.get(ns)
        if known is None or not known.declared:
            ns_labels = dict(seen.namespace_labels or ())
            ns_labels[NAME_LABEL] = ns
            namespaces[ns] = Namespace(ns, ns_labels, declared=False, origin="observed flows")
        return key

    def verdict(self, flow: ObservedFlow) -> Verdict | str:
        a = self.analysis
        src = dst = None
        if not flow.source.is_external:
            key = self.placed.get(flow.source)
            if key is None:
                return f"{describe(flow.source)} is unknown to the revision and has no labels"
            src = self.index[key]
        if not flow.destination.is_external:
            key = self.placed.get(flow.destination)
            if key is None:
                return f"{describe(flow.destination)} is unknown to the revision and has no labels"
            dst = self.index[key]
        port, proto = flow.port, flow.protocol
        if src is not None and dst is not None:
            if src == dst:
                return Verdict(True, True)
            s, d = a.class_of[src], a.class_of[dst]
            return Verdict(
                bool(a.egress_bits(s, port, proto) >> d & 1),
                bool(a.ingress_bits(d, port, proto) >> s & 1),
            )
        if src is not None:
            out: IPSet = a.external_egress(a.class_of[src], port, proto)
            return Verdict(out.contains_address(flow.destination.name), True)
        if dst is not None:
            into: IPSet = a.external_ingress(a.class_of[dst], port, proto)
            return Verdict(True, into.contains_address(flow.source.name))
        return "both ends are outside the cluster"


def replay(
    flows: Sequence[ObservedFlow],
    before: ClusterModel,
    after: ClusterModel,
    *,
    pod_ip_in_ipblock: bool = True,
) -> ReplayResult:
    """Which observed flows `after` newly denies (cut) or newly allows (opened)."""
    old = _Revision(before, flows, pod_ip_in_ipblock)
    new = _Revision(after, flows, pod_ip_in_ipblock)
    cut: list[ReplayedFlow] = []
    opened: list[ReplayedFlow] = []
    unevaluated: list[Unevaluated] = []
    same_allowed = same_denied = 0
    for flow in flows:
        was, now = old.verdict(flow), new.verdict(flow)
        if isinstance(was, str) or isinstance(now, str):
            reason = was if isinstance(was, str) else now
            unevaluated.append(Unevaluated(flow, str(reason)))
        elif was.allowed and not now.allowed:
            cut.append(ReplayedFlow(flow, was, now))
        elif now.allowed and not was.allowed:
            opened.append(ReplayedFlow(flow, was, now))
        elif now.allowed:
            same_allowed += 1
        else:
            same_denied += 1
    return ReplayResult(tuple(cut), tuple(opened), tuple(unevaluated), same_allowed, same_denied)
