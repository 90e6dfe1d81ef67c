"""The lint checks, one function per rule ID; each yields Findings for a model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rollout.findings import LintFinding as Finding
from rollout.policy.classes import iter_bits
from rollout.policy.evaluate import Analysis
from rollout.policy.ipset import PRIVATE_V4, IPBlock, IPSet
from rollout.policy.model import NAME_LABEL, ClusterModel, Endpoint, Peer, Policy, Rule
from rollout.policy.portset import ContainerPort, PortSpec

ERROR, WARNING, INFO = "error", "warning", "info"
SENSITIVE_LABELS = (("sensitive", "true"), ("netpol-rollout.io/sensitive", "true"))

RULES: dict[str, tuple[str, str]] = {
    "NP001": (WARNING, "managed namespace without an ingress default-deny"),
    "NP002": (WARNING, "managed namespace without an egress default-deny"),
    "NP003": (ERROR, "egress default-deny without a DNS allowance"),
    "NP004": (WARNING, "namespaceSelector on a label no namespace carries"),
    "NP005": (WARNING, "policy selects no pod"),
    "NP006": (WARNING, "peer selects nothing"),
    "NP007": (WARNING, "named port no selected pod declares"),
    "NP008": (WARNING, "port no container exposes"),
    "NP009": (WARNING, "egress to 0.0.0.0/0 without excepting private ranges"),
    "NP010": (ERROR, "ingress to a sensitive workload from all namespaces"),
    "NP011": (INFO, "policy or rule made redundant by another"),
    "NP012": (ERROR, "ipBlock except not inside its cidr"),
    "NP013": (ERROR, "policy in a namespace that does not exist"),
    "NP014": (WARNING, "ipBlock covers pod or Service addresses"),
}


@dataclass
class LintContext:
    model: ClusterModel
    analysis: Analysis
    managed: list[str]

    def finding(
        self,
        rule_id: str,
        policy: Policy | None,
        message: str,
        path: str = "",
        namespace: str = "",
        related: tuple[str, ...] = (),
    ) -> Finding:
        if policy is not None:
            return Finding(policy.ref, rule_id, RULES[rule_id][0], message, path, policy.origin)
        ns = self.model.namespaces.get(namespace)
        return Finding(
            f"Namespace/{namespace}",
            rule_id,
            RULES[rule_id][0],
            message,
            path,
            ns.origin if ns else "",
            related,
        )

    def policies_by_namespace(self) -> dict[str, list[Policy]]:
        out: dict[str, list[Policy]] = {}
        for p in self.model.policies:
            out.setdefault(p.namespace, []).append(p)
        return out

    def has_endpoints(self, namespace: str) -> bool:
        return bool(self.analysis.ns_bits.get(namespace))


def _peers(policy: Policy) -> Iterator[tuple[Rule, int, Peer]]:
    for rule in (*policy.rules("ingress"), *policy.rules("egress")):
        for i, peer in enumerate(rule.peers or ()):
            yield rule, i, peer


def _peer_key(rule: Rule) -> str:
    return "from" if rule.direction == "ingress" else "to"


def check_baselines(ctx: LintContext) -> Iterator[Finding]:
    by_ns = ctx.policies_by_namespace()
    for ns in ctx.managed:
        pols = [p for p in by_ns.get(ns, ()) if p.pod_selector.is_empty]
        for rid, direction in (("NP001", "Ingress"), ("NP002", "Egress")):
            if not any(direction in p.policy_types for p in pols):
                yield ctx.finding(
                    rid,
                    None,
                    f"no policy with podSelector {{}} isolates {direction.lower()} in {ns}; "
                    f"add a deny-all baseline (policyTypes: [{direction}], no rules)",
                    namespace=ns,
                )


def _allows_dns(rule: Rule) -> bool:
    if rule.ports is None:
        return True
    return any(
        s.matches(53, "UDP", ()) or (s.port == "dns" and s.protocol == "UDP") for s in rule.ports
    )


def check_dns(ctx: LintContext) -> Iterator[Finding]:
    by_ns: dict[str, list[Policy]] = {}
    for p in ctx.model.policies:
        by_ns.setdefault(p.namespace, []).append(p)
    a = ctx.analysis
    for ns, policies in sorted(by_ns.items()):
        restricting = [p for p in policies if p.affects_egress]
        if not restricting:
            continue
        if ctx.has_endpoints(ns):
            # Every egress-isolated pod must reach port 53/UDP somewhere.
            blocked = [
                a.classes[ci]
                for ci in iter_bits(a.ns_bits.get(ns, 0))
                if a.classes[ci].isolatable
                and a.group_signature(ci)[1]
                and not a.egress_bits(ci, 53, "UDP")
                and not a.external_egress(ci, 53, "UDP")
            ]
            if not blocked:
                continue
            who = f"pods such as {blocked[0].endpoint.key}"
        else:
            grants = any(_allows_dns(r) for p in restricting for r in p.egress)
            if grants:
                continue
            who = "pods"
        names = ", ".join(p.name for p in restricting[:3])
        yield ctx.finding(
            "NP003",
            None,
            f"egress is restricted (by {names}) but {who} cannot reach DNS on 53/UDP; "
            "allow 53/UDP and 53/TCP to kube-dns",
            namespace=ns,
            related=tuple(p.ref for p in restricting),
        )


def check_namespace_labels(ctx: LintContext) -> Iterator[Finding]:
    if not ctx.model.has_declared_namespaces:
        return
    keys = {k for ns in ctx.model.namespaces.values() for k in ns.labels}
    for p in ctx.model.policies:
        for rule, i, peer in _peers(p):
            sel = peer.namespace_selector
            if sel is None:
                continue
            for key in sorted(sel.keys() - keys):
                hint = f"; did you mean {NAME_LABEL}?" if key == "name" else ""
                yield ctx.finding(
                    "NP004",
                    p,
                    f"namespaceSelector uses label {key!r}, which no namespace carries{hint}",
                    f"{rule.path}.{_peer_key(rule)}[{i}].namespaceSelector",
                )


def check_selects_nothing(ctx: LintContext) -> Iterator[Finding]:
    a = ctx.analysis
    for pi, p in enumerate(ctx.model.policies):
        if not ctx.has_endpoints(p.namespace):
            continue
        if not a.policy_bits[pi] and not p.pod_selector.is_empty:
            yield ctx.finding(
                "NP005",
                p,
                f"podSelector {p.pod_selector.describe()} matches no pod in {p.namespace}",
                "spec.podSelector",
            )
        for rule, i, peer in _peers(p):
            if peer.ip_block is not None or not a.selectable_bits:
                continue
            if not a.peer_bits(peer, p.namespace):
                yield ctx.finding(
                    "NP006",
                    p,
                    f"peer {peer.describe()} matches no pod",
                    f"{rule.path}.{_peer_key(rule)}[{i}]",
                )


def check_ports(ctx: LintContext) -> Iterator[Finding]:
    a = ctx.analysis
    for pi, p in enumerate(ctx.model.policies):
        for rule in (*p.rules("ingress"), *p.rules("egress")):
            if rule.direction == "ingress":
                targets = a.policy_bits[pi]
            elif rule.peers is None:
                continue
            else:
                targets = 0
                for peer in rule.peers:
                    targets |= a.peer_bits(peer, p.namespace)
            declared = {cp for c in _members(a, targets) for cp in c}
            if not targets:
                continue
            for j, spec in enumerate(rule.ports or ()):
                path = f"{rule.path}.ports[{j}]"
                if isinstance(spec.port, str):
                    if not any(
                        cp.name == spec.port and cp.protocol == spec.protocol for cp in declared
                    ):
                        yield ctx.finding(
                            "NP007",
                            p,
                            f"named port {spec.port!r}/{spec.protocol}"
                            " is declared by no pod it applies to",
                            path,
                        )
                elif (
                    rule.direction == "ingress"  # egress peers may live outside the model
                    and spec.port is not None
                    and not any(spec.matches(cp.port, cp.protocol, ()) for cp in declared)
                    and any(declared)
                ):
                    yield ctx.finding(
                        "NP008",
                        p,
                        f"port {spec.describe()} is exposed by no "
                        "container of the pods it applies to",
                        path,
                    )


def _members(a: Analysis, bits: int) -> Iterator[tuple[ContainerPort, ...]]:
    for ci in iter_bits(bits):
        yield a.classes[ci].endpoint.ports


def check_ip_blocks(ctx: LintContext) -> Iterator[Finding]:
    private = IPSet.parse(*PRIVATE_V4)
    pod_ips = [(ep.key, ip) for ep in ctx.model.endpoints if not ep.is_external for ip in ep.ips]
    svc_ips = [(f"{s.namespace}/{s.name}", ip) for s in ctx.model.services for ip in s.cluster_ips]
    covered: dict[IPBlock, tuple[list[str], list[str]]] = {}
    for p in ctx.model.policies:
        for rule, i, peer in _peers(p):
            block = peer.ip_block
            if block is None:
                continue
            path = f"{rule.path}.{_peer_key(rule)}[{i}].ipBlock"
            cidr = IPSet.parse(block.cidr)
            for ex in block.excepts:
                if not IPSet.parse(ex).issubset(cidr):
                    yield ctx.finding(
                        "NP012", p, f"except {ex} is not inside cidr {block.cidr}", path
                    )
            if (
                rule.direction == "egress"
                and block.cidr == "0.0.0.0/0"
                and not private.issubset(IPSet.parse(*block.excepts))
            ):
                yield ctx.finding(
                    "NP009",
                    p,
                    "egress to 0.0.0.0/0 does not except the private "
                    f"ranges {', '.join(PRIVATE_V4)}",
                    path,
                )
            if block not in covered:  # policies repeat the same few blocks
                addresses = block.addresses
                covered[block] = (
                    [k for k, ip in pod_ips if addresses.contains_address(ip)],
                    [k for k, ip in svc_ips if addresses.contains_address(ip)],
                )
            hit, svc = covered[block]
            if hit:
                yield ctx.finding(
                    "NP014",
                    p,
                    f"{block.describe()} covers the IPs of pods "
                    f"({', '.join(hit[:3])}); network plugins disagree on pod IPs "
                    "in ipBlock, use selectors",
                    path,
                )
            if svc:
                yield ctx.finding(
                    "NP014",
                    p,
                    f"{block.describe()} covers Service ClusterIPs "
                    f"({', '.join(svc[:3])}), which never match after DNAT; "
                    "select the backend pods instead",
                    path,
                )


def check_sensitive(ctx: LintContext) -> Iterator[Finding]:
    marked: dict[str, list[Endpoint]] = {}
    for ep in ctx.model.endpoints:
        if any(ep.labels.get(k) == v for k, v in SENSITIVE_LABELS):
            marked.setdefault(ep.namespace, []).append(ep)
    for p in ctx.model.policies:
        sensitive = [ep for ep in marked.get(p.namespace, ()) if p.pod_selector.matches(ep.labels)]
        if not sensitive:
            continue
        for rule in p.rules("ingress"):
            wide = rule.peers is None or any(
                peer.namespace_selector is not None
                and peer.namespace_selector.is_empty
                and (peer.pod_selector is None or peer.pod_selector.is_empty)
                for peer in rule.peers
            )
            if wide:
                yield ctx.finding(
                    "NP010",
                    p,
                    f"admits every namespace to sensitive workload {sensitive[0].key}",
                    rule.path,
                )


def _rule_covers(big: Rule, small: Rule) -> bool:
    if big.peers is not None and (small.peers is None or not set(small.peers) <= set(big.peers)):
        return False
    if big.ports is None:
        return True
    if small.ports is None:
        return False
    return all(any(_spec_within(s, b) for b in big.ports) for s in small.ports)


def _spec_within(small: PortSpec, big: PortSpec) -> bool:
    if small == big:
        return True
    small_set, big_set = small.numeric(), big.numeric()
    return small_set is not None and big_set is not None and small_set.issubset(big_set)


def check_redundant(ctx: LintContext) -> Iterator[Finding]:
    by_ns = ctx.policies_by_namespace()
    for p in ctx.model.policies:
        for direction in ("ingress", "egress"):
            rules = p.rules(direction)
            for i, r in enumerate(rules):
                for j, other in enumerate(rules):
                    if i != j and _rule_covers(other, r) and (not _rule_covers(r, other) or j < i):
                        yield ctx.finding(
                            "NP011", p, f"{r.path} is covered by {other.path}", r.path
                        )
                        break
        if not p.ingress and not p.egress:
            continue  # a deny-all baseline is never redundant
        for q in by_ns[p.namespace]:
            if q is p or q.pod_selector != p.pod_selector:
                continue
            covered = (
                all(
                    any(_rule_covers(o, r) for o in q.rules(d))
                    for d in ("ingress", "egress")
                    for r in p.rules(d)
                )
                and p.policy_types <= q.policy_types
            )
            mutual = covered and all(
                any(_rule_covers(o, r) for o in p.rules(d))
                for d in ("ingress", "egress")
                for r in q.rules(d)
            )
            if covered and (not mutual or q.name < p.name):
                yield ctx.finding("NP011", p, f"every rule is already granted by {q.ref}")
                break


def check_namespace_exists(ctx: LintContext) -> Iterator[Finding]:
    if not ctx.model.has_declared_namespaces:
        return
    for p in ctx.model.policies:
        ns = ctx.model.namespaces.get(p.namespace)
        if ns is None or not ns.declared:
            yield ctx.finding(
                "NP013", p, f"namespace {p.namespace!r} is not declared", "metadata.namespace"
            )


CHECKS: tuple[Callable[[LintContext], Iterator[Finding]], ...] = (
    check_baselines,
    check_dns,
    check_namespace_labels,
    check_selects_nothing,
    check_ports,
    check_ip_blocks,
    check_sensitive,
    check_redundant,
    check_namespace_exists,
)
