"""Equivalence classes of endpoints and label indexes as bitsets over classes.

Endpoints with the same namespace, pod labels, container ports, hostNetwork
flag and set of matching ipBlocks are indistinguishable to every policy, so
they form one class (bit i of every bitset = class i). Selectors and peers
compile to bitsets through per-label indexes: `matchLabels` is an AND of
label bitsets, `In` an OR, `NotIn`/`DoesNotExist` a complement.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rollout.policy.ipset import IPBlock, address_int
from rollout.policy.matching import ip_matches
from rollout.policy.model import ClusterModel, Endpoint, Peer
from rollout.policy.selectors import LabelSelector


def iter_bits(value: int) -> Iterator[int]:
    """Indices of the set bits of `value`, lowest first."""
    if not value:
        return
    low = (value & -value).bit_length() - 1
    text = bin(value >> low)[:1:-1]
    i = text.find("1")
    while i >= 0:
        yield low + i
        i = text.find("1", i + 1)


@dataclass(frozen=True, eq=False)
class EndpointClass:
    index: int
    namespace: str
    endpoint: Endpoint  # a representative
    members: tuple[int, ...]  # endpoint indices
    isolatable: bool


class ClassIndex:
    """The classes of `endpoints` and bitset indexes over them.

    `discriminators` are extra per-endpoint class keys: a diff uses them to
    refine the partitions of two revisions into one common partition.
    """

    def __init__(
        self,
        model: ClusterModel,
        endpoints: Sequence[Endpoint],
        *,
        pod_ip_in_ipblock: bool,
        discriminators: Sequence[object] | None = None,
    ) -> None:
        self.model = model
        self.endpoints = endpoints
        self.pod_ip_in_ipblock = pod_ip_in_ipblock
        self._discriminators = discriminators
        self._blocks = self._collect_ip_blocks()
        self.classes: list[EndpointClass] = []
        self.class_of: list[int] = []
        self._classify()
        self.all_bits = (1 << len(self.classes)) - 1
        self._build_indexes()
        self._sel_cache: dict[LabelSelector, int] = {}
        self._nssel_cache: dict[LabelSelector, int] = {}
        self._peer_cache: dict[tuple[Peer, str], int] = {}

    def _collect_ip_blocks(self) -> list[IPBlock]:
        seen: dict[IPBlock, None] = {}
        for policy in self.model.policies:
            for rule in (*policy.ingress, *policy.egress):
                for peer in rule.peers or ():
                    if peer.ip_block is not None:
                        seen[peer.ip_block] = None
        return list(seen)

    def _classify(self) -> None:
        by_key: dict[tuple[object, ...], list[int]] = {}
        ipsigs: dict[tuple[object, ...], tuple[int, ...]] = {}
        block_sets = [block.addresses for block in self._blocks]
        for i, ep in enumerate(self.endpoints):
            ipsig: tuple[int, ...] = ()
            if ep.ips and block_sets and (ep.is_external or self.pod_ip_in_ipblock):
                if ep.is_external:
                    ipsig = tuple(
                        b
                        for b, block in enumerate(self._blocks)
                        if ip_matches(Peer(ip_block=block), ep, self.pod_ip_in_ipblock)
                    )
                else:
                    addrs = [address_int(ip) for ip in ep.ips]
                    ipsig = tuple(
                        b
                        for b, bset in enumerate(block_sets)
                        if any(bset.contains_int(v, ver) for v, ver in addrs)
                    )
            key: tuple[object, ...] = (
                ep.namespace,
                ep.kind == "External",
                ep.name if ep.is_external else None,
                frozenset(ep.labels.items()),
                ep.ports,
                ep.host_network,
                None if self._discriminators is None else self._discriminators[i],
                ipsig,
            )
            by_key.setdefault(key, []).append(i)
            ipsigs[key] = ipsig
        self.class_of = [0] * len(self.endpoints)
        self._class_ipsig: list[tuple[int, ...]] = []
        # Classes of one namespace get neighbouring bits, so the bitsets of
        # namespaced selectors are short once shifted (see `iter_bits`).
        ordered = sorted(by_key.items(), key=lambda kv: str(kv[0][0]))
        for ci, (key, members) in enumerate(ordered):
            rep = self.endpoints[members[0]]
            for m in members:
                self.class_of[m] = ci
            self.classes.append(
                EndpointClass(
                    ci,
                    rep.namespace,
                    rep,
                    tuple(members),
                    not rep.is_external and not rep.host_network,
                )
            )
            self._class_ipsig.append(ipsigs[key])

    def _build_indexes(self) -> None:
        self.ns_bits: dict[str, int] = {}
        self._label_bits: dict[tuple[str, str], int] = {}
        self._key_bits: dict[str, int] = {}
        self._block_bits = [0] * len(self._blocks)
        self.named_port_bits: dict[tuple[str, int, str], int] = {}
        self.selectable_bits = 0
        for c in self.classes:
            bit = 1 << c.index
            for b in self._class_ipsig[c.index]:
                self._block_bits[b] |= bit
            for cp in c.endpoint.ports:
                if cp.name:
                    k = (cp.name, cp.port, cp.protocol)
                    self.named_port_bits[k] = self.named_port_bits.get(k, 0) | bit
            if not c.isolatable:
                continue
            self.selectable_bits |= bit
            self.ns_bits[c.namespace] = self.ns_bits.get(c.namespace, 0) | bit
            for kv in c.endpoint.labels.items():
                self._label_bits[kv] = self._label_bits.get(kv, 0) | bit
                self._key_bits[kv[0]] = self._key_bits.get(kv[0], 0) | bit

    def selector_bits(self, selector: LabelSelector) -> int:
        """Selectable classes (any namespace) whose pod labels match."""
        found = self._sel_cache.get(selector)
        if found is not None:
            return found
        bits = self.selectable_bits
        for kv in selector.match_labels:
            bits &= self._label_bits.get(kv, 0)
        for req in selector.expressions:
            if req.operator in ("In", "NotIn"):
                any_of = 0
                for v in req.values:
                    any_of |= self._label_bits.get((req.key, v), 0)
                bits &= any_of if req.operator == "In" else ~any_of
            elif req.operator == "Exists":
                bits &= self._key_bits.get(req.key, 0)
            else:
                bits &= ~self._key_bits.get(req.key, 0)
        self._sel_cache[selector] = bits
        return bits

    def namespace_selector_bits(self, selector: LabelSelector) -> int:
        found = self._nssel_cache.get(selector)
        if found is None:
            found = 0
            for ns in self.model.namespaces.values():
                if selector.matches(ns.labels):
                    found |= self.ns_bits.get(ns.name, 0)
            self._nssel_cache[selector] = found
        return found

    def peer_bits(self, peer: Peer, policy_namespace: str) -> int:
        key = (peer, policy_namespace)
        found = self._peer_cache.get(key)
        if found is not None:
            return found
        if peer.ip_block is not None:
            found = self._block_bits[self._blocks.index(peer.ip_block)]
        else:
            if peer.namespace_selector is None:
                found = self.ns_bits.get(policy_namespace, 0)
            else:
                found = self.namespace_selector_bits(peer.namespace_selector)
            if peer.pod_selector is not None:
                found &= self.selector_bits(peer.pod_selector)
        self._peer_cache[key] = found
        return found
