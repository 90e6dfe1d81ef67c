"""Why a connection is allowed or denied: the policies and rules on each side.

A connection needs the egress side of the source AND the ingress side of the
destination. A side is unrestricted when no policy of that direction selects
the endpoint (or the endpoint is external or uses hostNetwork); otherwise it
needs at least one rule of a selecting policy that matches.
"""

from __future__ import annotations

from dataclasses import dataclass

from rollout.policy.matching import isolatable, policy_selects, rule_allows
from rollout.policy.model import ClusterModel, Endpoint, Policy, Rule


@dataclass(frozen=True, slots=True)
class RuleMatch:
    policy: str  # NetworkPolicy/ns/name
    rule: str  # spec.ingress[0]
    detail: str


@dataclass(frozen=True, slots=True)
class SideVerdict:
    direction: str  # "egress" (of the source) or "ingress" (of the destination)
    endpoint: str
    isolated: bool
    selecting: tuple[str, ...]  # policies of this direction selecting the endpoint
    allowing: tuple[RuleMatch, ...]
    note: str = ""

    @property
    def allowed(self) -> bool:
        return not self.isolated or bool(self.allowing)


@dataclass(frozen=True, slots=True)
class Explanation:
    source: str
    destination: str
    port: int
    protocol: str
    allowed: bool
    egress: SideVerdict
    ingress: SideVerdict
    note: str = ""

    def lines(self) -> list[str]:
        """The explanation as plain text lines."""
        verdict = "ALLOWED" if self.allowed else "DENIED"
        out = [f"{self.source} -> {self.destination} on {self.port}/{self.protocol}: {verdict}"]
        if self.note:
            out.append(f"  {self.note}")
        for side in (self.egress, self.ingress):
            label = f"{side.direction} of {side.endpoint}"
            if not side.isolated:
                out.append(f"  {label}: not restricted ({side.note})")
                continue
            out.append(f"  {label}: isolated by {', '.join(side.selecting)}")
            if side.allowing:
                out.extend(f"    allowed by {m.policy} {m.rule}: {m.detail}" for m in side.allowing)
            else:
                out.append(f"    no rule of these policies allows it ({side.note})")
        return out


def explain(
    model: ClusterModel,
    source: str,
    destination: str,
    port: int,
    protocol: str = "TCP",
    *,
    pod_ip_in_ipblock: bool = True,
) -> Explanation:
    """Explain the verdict for `source` -> `destination` (each `NS/NAME` or a CIDR).

    Raises PolicyError when an endpoint is unknown.
    """
    src = model.endpoint(source)
    dst = model.endpoint(destination)
    egress = _side(model, "egress", src, dst, src, dst, port, protocol, pod_ip_in_ipblock)
    ingress = _side(model, "ingress", dst, src, src, dst, port, protocol, pod_ip_in_ipblock)
    if src is dst:
        return Explanation(
            src.key,
            dst.key,
            port,
            protocol,
            True,
            egress,
            ingress,
            "traffic of a pod to itself is always allowed",
        )
    return Explanation(
        src.key, dst.key, port, protocol, egress.allowed and ingress.allowed, egress, ingress
    )


def _side(
    model: ClusterModel,
    direction: str,
    endpoint: Endpoint,
    peer: Endpoint,
    src: Endpoint,
    dst: Endpoint,
    port: int,
    protocol: str,
    pod_ip_in_ipblock: bool,
) -> SideVerdict:
    if not isolatable(endpoint):
        why = "external address" if endpoint.is_external else "hostNetwork pod"
        return SideVerdict(direction, endpoint.key, False, (), (), f"{why}, never isolated")
    selecting: list[Policy] = [
        p
        for p in model.policies
        if (p.affects_ingress if direction == "ingress" else p.affects_egress)
        and policy_selects(p, endpoint)
    ]
    if not selecting:
        return SideVerdict(
            direction, endpoint.key, False, (), (), f"no {direction} policy selects it"
        )
    allowing = []
    for policy in selecting:
        for rule in policy.rules(direction):
            if rule_allows(
                rule, policy, peer, dst, port, protocol, model.namespaces, pod_ip_in_ipblock
            ):
                allowing.append(RuleMatch(policy.ref, rule.path, describe_rule(rule)))
    note = "" if allowing else _why_not(selecting, direction)
    return SideVerdict(
        direction, endpoint.key, True, tuple(p.ref for p in selecting), tuple(allowing), note
    )


def _why_not(selecting: list[Policy], direction: str) -> str:
    if not any(p.rules(direction) for p in selecting):
        return f"the selecting policies have no {direction} rules: deny-all"
    return "no rule matches both the peer and the port"


def describe_rule(rule: Rule) -> str:
    key = "from" if rule.direction == "ingress" else "to"
    peers = "all peers" if rule.peers is None else " OR ".join(p.describe() for p in rule.peers)
    ports = "all ports" if rule.ports is None else ", ".join(s.describe() for s in rule.ports)
    return f"{key} {peers}; ports {ports}"
