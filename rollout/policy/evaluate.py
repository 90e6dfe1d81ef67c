"""The bitset engine: verdicts per equivalence class of endpoints.

Endpoints fall into classes (see `classes`); selectors, peers and policies
compile to Python-int bitsets over classes (bit i = class i). Classes are then grouped by the
policies that isolate them: an ingress group shares the set of ingress
policies selecting it, an egress group the set of egress policies. Per
(port, protocol), each ingress group gets the bitset of source classes it
admits and each egress group the bitset of destination classes it may reach;
a connection S -> D is allowed when D is in egress_to[group(S)] and S is in
ingress_from[group(D)]. Nothing loops over pod x pod x policy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rollout.errors import PolicyError
from rollout.policy.classes import ClassIndex, EndpointClass, iter_bits
from rollout.policy.ipset import IPSet
from rollout.policy.matching import ALL_ADDRESSES
from rollout.policy.model import ClusterModel, Endpoint, Policy, Rule

__all__ = ["Analysis", "EndpointClass", "PortKey", "analyze", "iter_bits"]

PortKey = tuple[int, str]


@dataclass(eq=False)
class _Group:
    policies: tuple[int, ...]
    ports_of: Endpoint | None  # the destination whose container ports resolve named ports
    members: int = 0


class Analysis:
    """Connectivity of a ClusterModel. Build with `analyze(model)`.

    `pod_ip_in_ipblock` (default True) makes ipBlocks match pods whose IP is
    known, as Calico and the reference implementation do; Cilium does not
    by default, so pass False to model it.
    """

    def __init__(
        self,
        model: ClusterModel,
        *,
        pod_ip_in_ipblock: bool = True,
        endpoints: Sequence[Endpoint] | None = None,
        discriminators: Sequence[object] | None = None,
    ) -> None:
        self.model = model
        self.pod_ip_in_ipblock = pod_ip_in_ipblock
        self.endpoints: tuple[Endpoint, ...] = tuple(
            model.endpoints if endpoints is None else endpoints
        )
        self._index = {ep.key: i for i, ep in enumerate(self.endpoints)}
        index = ClassIndex(
            model,
            self.endpoints,
            pod_ip_in_ipblock=pod_ip_in_ipblock,
            discriminators=discriminators,
        )
        self.index = index
        self.classes = index.classes
        self.class_of = index.class_of
        self.all_bits = index.all_bits
        self.ns_bits = index.ns_bits
        self.selectable_bits = index.selectable_bits
        self._named_port_bits = index.named_port_bits
        self.selector_bits = index.selector_bits
        self.peer_bits = index.peer_bits
        self.policy_bits = [self._policy_selects(p) for p in model.policies]
        self._ingress_groups, self.ingress_group_of = self._group("ingress")
        self._egress_groups, self.egress_group_of = self._group("egress")
        self._port_cache: dict[PortKey, tuple[list[int], list[int]]] = {}
        self._rule_peer_cache: dict[tuple[int, str, int], int] = {}
        self._external_cache: dict[tuple[str, int, int, str], IPSet] = {}
        self._weights: list[int] | None = None
        self._reach_in: dict[int, str] = {}
        self._reach_out: dict[int, str] = {}
        # Per policy: (an ingress rule, an egress rule) may admit external addresses.
        self._reaches_outside = [
            tuple(
                any(r.peers is None or any(p.ip_block for p in r.peers) for r in rules)
                for rules in (p.ingress, p.egress)
            )
            for p in model.policies
        ]

    # -- building ---------------------------------------------------------

    def _policy_selects(self, policy: Policy) -> int:
        return self.selector_bits(policy.pod_selector) & self.ns_bits.get(policy.namespace, 0)

    def _group(self, direction: str) -> tuple[list[_Group], list[int]]:
        per_class: list[list[int]] = [[] for _ in self.classes]
        named: set[int] = set()
        for pi, policy in enumerate(self.model.policies):
            affects = policy.affects_ingress if direction == "ingress" else policy.affects_egress
            if not affects:
                continue
            if direction == "ingress" and any(
                isinstance(s.port, str) for r in policy.ingress for s in r.ports or ()
            ):
                named.add(pi)
            for ci in iter_bits(self.policy_bits[pi]):
                per_class[ci].append(pi)
        groups: list[_Group] = []
        index: dict[tuple[object, ...], int] = {}
        group_of = [0] * len(self.classes)
        for ci, pols in enumerate(per_class):
            rep = self.classes[ci].endpoint
            uses_named = not named.isdisjoint(pols)
            key = (tuple(pols), rep.ports if uses_named else None)
            gi = index.get(key)
            if gi is None:
                gi = index[key] = len(groups)
                groups.append(_Group(tuple(pols), rep if uses_named else None))
            groups[gi].members |= 1 << ci
            group_of[ci] = gi
        return groups, group_of

    # -- per port ---------------------------------------------------------

    def _rule_peers(self, pi: int, rule: Rule) -> int:
        key = (pi, rule.direction, rule.index)
        found = self._rule_peer_cache.get(key)
        if found is None:
            policy = self.model.policies[pi]
            if rule.peers is None:
                found = self.all_bits
            else:
                found = 0
                for peer in rule.peers:
                    found |= self.peer_bits(peer, policy.namespace)
            self._rule_peer_cache[key] = found
        return found

    def _egress_port_filter(self, rule: Rule, port: int, protocol: str) -> int:
        """Destination classes on which the rule's ports include (port, protocol)."""
        if rule.ports is None:
            return self.all_bits
        bits = 0
        for spec in rule.ports:
            if spec.protocol != protocol:
                continue
            if isinstance(spec.port, str):
                bits |= self._named_port_bits.get((spec.port, port, protocol), 0)
            elif spec.matches(port, protocol, ()):
                return self.all_bits
        return bits

    def _for_port(self, port: int, protocol: str) -> tuple[list[int], list[int]]:
        key = (port, protocol)
        found = self._port_cache.get(key)
        if found is not None:
            return found
        policies = self.model.policies
        ingress_from = []
        for group in self._ingress_groups:
            if not group.policies:
                ingress_from.append(self.all_bits)
                continue
            dst_ports = group.ports_of.ports if group.ports_of is not None else ()
            bits = 0
            for pi in group.policies:
                for rule in policies[pi].ingress:
                    if rule.ports is None or any(
                        s.matches(port, protocol, dst_ports) for s in rule.ports
                    ):
                        bits |= self._rule_peers(pi, rule)
            ingress_from.append(bits)
        egress_to = []
        for group in self._egress_groups:
            if not group.policies:
                egress_to.append(self.all_bits)
                continue
            bits = 0
            for pi in group.policies:
                for rule in policies[pi].egress:
                    filt = self._egress_port_filter(rule, port, protocol)
                    if filt:
                        bits |= self._rule_peers(pi, rule) & filt
            egress_to.append(bits)
        found = (ingress_from, egress_to)
        if len(self._port_cache) > 256:
            self._port_cache.clear()
        self._port_cache[key] = found
        return found

    # -- answers ----------------------------------------------------------

    def class_allowed(self, src: int, dst: int, port: int, protocol: str = "TCP") -> bool:
        ingress_from, egress_to = self._for_port(port, protocol)
        return bool(
            (egress_to[self.egress_group_of[src]] >> dst) & 1
            and (ingress_from[self.ingress_group_of[dst]] >> src) & 1
        )

    def endpoint_index(self, namespace: str, name: str) -> int:
        key = name if not namespace else f"{namespace}/{name}"
        found = self._index.get(key)
        if found is None:
            raise PolicyError(f"no endpoint {key!r} in the analysed model")
        return found

    def allowed(
        self,
        src_ns: str,
        src_name: str,
        dst_ns: str,
        dst_name: str,
        port: int,
        protocol: str = "TCP",
    ) -> bool:
        """Whether a new connection src -> dst on port/protocol is allowed.

        External addresses are named with an empty namespace and their CIDR.
        Raises PolicyError for an unknown endpoint.
        """
        s = self.endpoint_index(src_ns, src_name)
        d = self.endpoint_index(dst_ns, dst_name)
        if s == d:
            return True  # a pod may always talk to itself
        return self.class_allowed(self.class_of[s], self.class_of[d], port, protocol)

    def class_rows(self, port: int, protocol: str = "TCP") -> list[int]:
        """Row per source class: the bitset of destination classes it may reach.

        Pod-to-itself is not encoded: a class row may lack its own bit while
        each member can still reach itself.
        """
        ingress_from, egress_to = self._for_port(port, protocol)
        reach = [0] * len(self.classes)  # classes whose ingress admits the source
        for gi, group in enumerate(self._ingress_groups):
            src_bits = ingress_from[gi]
            if src_bits == self.all_bits:
                for s in range(len(reach)):
                    reach[s] |= group.members
                continue
            for s in iter_bits(src_bits):
                reach[s] |= group.members
        return [egress_to[self.egress_group_of[s]] & reach[s] for s in range(len(reach))]

    def blocks(self, port: int, protocol: str = "TCP") -> Iterator[tuple[int, int]]:
        """The matrix as disjoint rectangles (source classes, destination classes)."""
        ingress_from, egress_to = self._for_port(port, protocol)
        for gi, group in enumerate(self._ingress_groups):
            src_all = ingress_from[gi]
            if not src_all:
                continue
            touched = (
                range(len(self._egress_groups))
                if src_all == self.all_bits
                else sorted({self.egress_group_of[s] for s in iter_bits(src_all)})
            )
            for ei in touched:
                dst = egress_to[ei] & group.members
                if dst:
                    src = self._egress_groups[ei].members & src_all
                    if src:
                        yield src, dst

    def weight(self, bits: int) -> int:
        """How many endpoints the classes in `bits` hold (a weighted popcount)."""
        if self._weights is None:
            # Bit b of weights[b] marks classes whose size has bit b set.
            weights: list[int] = []
            for c in self.classes:
                size = len(c.members)
                weights.extend(0 for _ in range(size.bit_length() - len(weights)))
                for b in range(size.bit_length()):
                    if size >> b & 1:
                        weights[b] |= 1 << c.index
            self._weights = weights
        return sum((bits & w).bit_count() << b for b, w in enumerate(self._weights))

    def count_allowed_pairs(self, port: int, protocol: str = "TCP") -> int:
        """Ordered endpoint pairs allowed on port/protocol, self pairs included."""
        total = 0
        same_class_allowed = 0
        for src, dst in self.blocks(port, protocol):
            total += self.weight(src) * self.weight(dst)
            both = src & dst
            if both:
                same_class_allowed += self.weight(both)
        # Self pairs are always allowed; count those the blocks did not.
        return total + (len(self.endpoints) - same_class_allowed)

    def reach_counts(self, port: int, protocol: str = "TCP") -> list[int]:
        """Per endpoint, how many endpoints (itself included) it may connect to."""
        rows = self.class_rows(port, protocol)
        per_class = [self.weight(row) + (0 if row >> c & 1 else 1) for c, row in enumerate(rows)]
        return [per_class[c] for c in self.class_of]

    def external_egress(self, class_index: int, port: int, protocol: str = "TCP") -> IPSet:
        """External addresses a class may open connections to on port/protocol."""
        return self._external(True, class_index, port, protocol)

    def external_ingress(self, class_index: int, port: int, protocol: str = "TCP") -> IPSet:
        """External addresses that may open connections to a class on port/protocol."""
        return self._external(False, class_index, port, protocol)

    def _external(self, egress: bool, class_index: int, port: int, protocol: str) -> IPSet:
        """Cached per policy group: classes in one group see the same addresses."""
        group_index = (self.egress_group_of if egress else self.ingress_group_of)[class_index]
        key = ("egress" if egress else "ingress", group_index, port, protocol)
        found = self._external_cache.get(key)
        if found is None:
            found = self._external_cache[key] = self._compute_external(
                egress, class_index, group_index, port, protocol
            )
        return found

    def _compute_external(
        self, egress: bool, class_index: int, group_index: int, port: int, protocol: str
    ) -> IPSet:
        group = (self._egress_groups if egress else self._ingress_groups)[group_index]
        if not group.policies:
            return ALL_ADDRESSES
        if not any(self._reaches_outside[pi][1 if egress else 0] for pi in group.policies):
            return IPSet()
        # Named ports resolve against the destination: our own ports for ingress;
        # an external destination declares none.
        named_ports = () if egress else self.classes[class_index].endpoint.ports
        found = IPSet()
        for pi in group.policies:
            policy = self.model.policies[pi]
            for rule in policy.egress if egress else policy.ingress:
                if rule.ports is not None and not any(
                    s.matches(port, protocol, named_ports) for s in rule.ports
                ):
                    continue
                if rule.peers is None:
                    return ALL_ADDRESSES
                for peer in rule.peers:
                    if peer.ip_block is not None:
                        found = found | peer.ip_block.addresses
        return found

    def external_reach(self, class_index: int, direction: str) -> str:
        """Port-independent shape of a side towards external addresses:
        "all" (not isolated), "none" (no rule can admit them) or "some"."""
        if direction == "egress":
            gi, groups, cache, slot = (
                self.egress_group_of[class_index],
                self._egress_groups,
                self._reach_out,
                1,
            )
        else:
            gi, groups, cache, slot = (
                self.ingress_group_of[class_index],
                self._ingress_groups,
                self._reach_in,
                0,
            )
        found = cache.get(gi)
        if found is None:
            pols = groups[gi].policies
            if not pols:
                found = "all"
            elif any(self._reaches_outside[pi][slot] for pi in pols):
                found = "some"
            else:
                found = "none"
            cache[gi] = found
        return found

    def side_bits(self, port: int, protocol: str = "TCP") -> tuple[list[int], list[int]]:
        """(ingress_from per ingress group, egress_to per egress group) on port/protocol."""
        return self._for_port(port, protocol)

    def egress_bits(self, class_index: int, port: int, protocol: str = "TCP") -> int:
        """Destination classes the egress side of a class allows."""
        return self._for_port(port, protocol)[1][self.egress_group_of[class_index]]

    def ingress_bits(self, class_index: int, port: int, protocol: str = "TCP") -> int:
        """Source classes the ingress side of a class allows."""
        return self._for_port(port, protocol)[0][self.ingress_group_of[class_index]]

    def row(self, src: int, port: int, protocol: str = "TCP") -> int:
        """Destination classes a source class may reach (both sides agree)."""
        ingress_from, egress_to = self._for_port(port, protocol)
        reach = 0
        for gi, group in enumerate(self._ingress_groups):
            if ingress_from[gi] >> src & 1:
                reach |= group.members
        return egress_to[self.egress_group_of[src]] & reach

    def column(self, dst: int, port: int, protocol: str = "TCP") -> int:
        """Source classes that may reach a destination class (both sides agree)."""
        ingress_from, egress_to = self._for_port(port, protocol)
        reach = 0
        for gi, group in enumerate(self._egress_groups):
            if egress_to[gi] >> dst & 1:
                reach |= group.members
        return ingress_from[self.ingress_group_of[dst]] & reach

    def rows_for(self, sources: Sequence[int], port: int, protocol: str = "TCP") -> dict[int, int]:
        """`row(s)` for many sources at once, in one pass over the ingress groups."""
        ingress_from, egress_to = self._for_port(port, protocol)
        mask = 0
        for s in sources:
            mask |= 1 << s
        reach = dict.fromkeys(sources, 0)
        for gi, group in enumerate(self._ingress_groups):
            for s in iter_bits(ingress_from[gi] & mask):
                reach[s] |= group.members
        return {s: egress_to[self.egress_group_of[s]] & r for s, r in reach.items()}

    def columns_for(
        self, destinations: Sequence[int], port: int, protocol: str = "TCP"
    ) -> dict[int, int]:
        """`column(d)` for many destinations at once, in one pass over the egress groups."""
        ingress_from, egress_to = self._for_port(port, protocol)
        mask = 0
        for d in destinations:
            mask |= 1 << d
        reach = dict.fromkeys(destinations, 0)
        for gi, group in enumerate(self._egress_groups):
            for d in iter_bits(egress_to[gi] & mask):
                reach[d] |= group.members
        return {d: ingress_from[self.ingress_group_of[d]] & r for d, r in reach.items()}

    def group_signature(self, class_index: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(ingress policies, egress policies) isolating a class, as policy indices."""
        return (
            self._ingress_groups[self.ingress_group_of[class_index]].policies,
            self._egress_groups[self.egress_group_of[class_index]].policies,
        )

    def default_ports(self) -> list[PortKey]:
        """Every (port, protocol) a policy or a container names, sorted."""
        found: set[PortKey] = set()
        for ep in self.endpoints:
            found.update((cp.port, cp.protocol) for cp in ep.ports)
        for policy in self.model.policies:
            for rule in (*policy.ingress, *policy.egress):
                for spec in rule.ports or ():
                    if isinstance(spec.port, int):
                        found.add((spec.port, spec.protocol))
        return sorted(found, key=lambda pk: (pk[1] != "TCP", pk[1], pk[0]))


def analyze(model: ClusterModel, *, pod_ip_in_ipblock: bool = True) -> Analysis:
    """Compile a ClusterModel into an Analysis (see `Analysis`)."""
    return Analysis(model, pod_ip_in_ipblock=pod_ip_in_ipblock)
