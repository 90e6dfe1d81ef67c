"""Who may connect to whom, per workload, with the allowed ports as sets.

The answer netpol-analyzer gives and a person reads: one row per ordered pair
of workloads (or of pods, on request) that may connect, with every allowed
protocol/port written as ranges, plus rows between workloads and external
addresses (CIDR sets). Self connections are left out.

Computed from the class rows of an `Analysis` on each port range of
`port_ranges.port_segments` (verdicts are constant on each), so the work and
memory follow the classes and the rows written, not pods x pods x ports:
rows are produced one source at a time (a generator).

A workload whose pods fall into several classes (different labels) is
allowed to a destination on a port only when every pod of it is, towards
every pod of the destination.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rollout.policy.evaluate import Analysis, iter_bits
from rollout.policy.ipset import IPSet
from rollout.policy.matching import ALL_ADDRESSES
from rollout.policy.port_ranges import PortRange, describe_ranges, merge_ranges, port_segments
from rollout.policy.workloads import Workload, WorkloadIndex, group_workloads


@dataclass(frozen=True, slots=True)
class WorkloadConnection:
    """`source` may open connections to `destination` on `ranges`.

    Either side is a workload (or pod) key such as `shop/web[Deployment]`, or
    an external peer as a CIDR set (`source_addresses`/`destination_addresses`).
    """

    source: str
    destination: str
    ranges: tuple[PortRange, ...]
    source_addresses: IPSet | None = None
    destination_addresses: IPSet | None = None

    @property
    def ports(self) -> str:
        """`TCP 80,443,8000-8100; UDP 53`, or `all`."""
        return describe_ranges(self.ranges)


def describe_addresses(addresses: IPSet) -> str:
    """`0.0.0.0/0,::/0`; `0.0.0.0/0 except (10.0.0.0/8,192.168.0.0/16)` when shorter."""
    return ",".join(
        f"{cidr} except ({','.join(excepts)})" if excepts else cidr
        for cidr, excepts in addresses.blocks()
    )


def pod_index(analysis: Analysis) -> WorkloadIndex:
    """Every endpoint its own group, named `namespace/name[Kind]`."""
    eps = analysis.endpoints
    return WorkloadIndex(
        tuple(Workload(ep.namespace, ep.name, ep.kind) for ep in eps),
        tuple(range(len(eps))),
        tuple((i,) for i in range(len(eps))),
    )


def workload_connections(
    analysis: Analysis, *, pods: bool = False, externals: bool = True
) -> Iterator[WorkloadConnection]:
    """Rows source by source (sorted by key); `pods` for one row per pod pair."""
    index = pod_index(analysis) if pods else group_workloads(analysis.endpoints)
    plan = _Plan(analysis, index)
    order = sorted(
        (w for w in range(len(index.workloads)) if not index.workloads[w].is_external),
        key=lambda w: index.workloads[w].key,
    )
    if externals:
        yield from plan.from_outside(order)
    for w in order:
        yield from plan.from_workload(w)
        if externals:
            yield from plan.to_outside(w)


def count_rows(analysis: Analysis, *, pods: bool = True) -> int:
    """How many pair rows `workload_connections` would yield (external rows aside)."""
    index = pod_index(analysis) if pods else group_workloads(analysis.endpoints)
    plan = _Plan(analysis, index)
    total = 0
    for w in range(len(index.workloads)):
        if index.workloads[w].is_external:
            continue
        reach = 0
        for bits in plan.reach_per_segment(w):
            reach |= bits
        total += sum(1 for d in plan.workloads_within(reach) if d != w and plan.covered(d, reach))
    return total


class _Plan:
    """Class rows per port range and the workload <-> class maps, computed once."""

    def __init__(self, analysis: Analysis, index: WorkloadIndex) -> None:
        self.analysis = analysis
        self.index = index
        self.segments = port_segments(analysis.model)
        self.rows = [analysis.class_rows(first, proto) for proto, first, _ in self.segments]
        class_of = analysis.class_of
        self.class_bits = [0] * len(index.workloads)
        self.classes_of: list[tuple[int, ...]] = []
        by_class: dict[int, list[int]] = {}
        for w, members in enumerate(index.members):
            classes = sorted({class_of[m] for m in members})
            self.classes_of.append(tuple(classes))
            for c in classes:
                self.class_bits[w] |= 1 << c
                by_class.setdefault(c, []).append(w)
        self.by_class = by_class
        self._described: dict[IPSet, str] = {}
        self._group_cache: dict[
            tuple[bool, tuple[int, ...]], list[tuple[IPSet, tuple[PortRange, ...]]]
        ] = {}
        self._outside_cache: dict[tuple[IPSet, ...], list[tuple[IPSet, tuple[PortRange, ...]]]] = {}

    def reach_per_segment(self, w: int) -> list[int]:
        """Per segment, the classes every pod of `w` may reach."""
        out = []
        for rows in self.rows:
            bits = -1
            for c in self.classes_of[w]:
                bits &= rows[c]
            out.append(bits if bits != -1 else 0)
        return out

    def workloads_within(self, bits: int) -> Iterator[int]:
        seen: set[int] = set()
        for c in iter_bits(bits):
            for w in self.by_class.get(c, ()):
                if w not in seen:
                    seen.add(w)
                    yield w

    def covered(self, w: int, bits: int) -> bool:
        return self.class_bits[w] & ~bits == 0

    def from_workload(self, w: int) -> Iterator[WorkloadConnection]:
        found: dict[int, list[PortRange]] = {}
        by_reach: dict[int, list[PortRange]] = {}
        for seg, bits in zip(self.segments, self.reach_per_segment(w), strict=True):
            if bits:
                by_reach.setdefault(bits, []).append(seg)
        for bits, segs in by_reach.items():
            for d in self.workloads_within(bits):
                if d != w and self.covered(d, bits):
                    found.setdefault(d, []).extend(segs)
        keys = self.index.workloads
        src = keys[w].key
        for d in sorted(found, key=lambda d: keys[d].key):
            if not keys[d].is_external:
                yield WorkloadConnection(src, keys[d].key, tuple(merge_ranges(found[d])))

    def _outside(self, w: int, egress: bool) -> list[tuple[IPSet, tuple[PortRange, ...]]]:
        """Disjoint address sets and the ports on which `w` reaches / is reached by them."""
        # External verdicts depend only on the policy groups of the classes.
        group_of = self.analysis.egress_group_of if egress else self.analysis.ingress_group_of
        signature = (egress, tuple(sorted({group_of[c] for c in self.classes_of[w]})))
        known = self._group_cache.get(signature)
        if known is not None:
            return known
        per_segment: list[IPSet] = []
        for proto, first, _ in self.segments:
            found: IPSet | None = None
            for c in self.classes_of[w]:
                fn = self.analysis.external_egress if egress else self.analysis.external_ingress
                here = fn(c, first, proto)
                found = here if found is None else found & here
            per_segment.append(found if found is not None else IPSet())
        key = tuple(per_segment)
        cached = self._outside_cache.get(key)
        if cached is None:
            cached = self._outside_cache[key] = self._atoms(per_segment)
        self._group_cache[signature] = cached
        return cached

    def describe(self, addresses: IPSet) -> str:
        text = self._described.get(addresses)
        if text is None:
            text = self._described[addresses] = describe_addresses(addresses)
        return text

    def _atoms(self, per_segment: list[IPSet]) -> list[tuple[IPSet, tuple[PortRange, ...]]]:
        atoms = [ALL_ADDRESSES]
        for distinct in dict.fromkeys(s for s in per_segment if s):
            atoms = [part for a in atoms for part in (a & distinct, a - distinct) if part]
        by_ports: dict[tuple[PortRange, ...], IPSet] = {}
        for atom in atoms:
            segs = tuple(
                seg
                for seg, s in zip(self.segments, per_segment, strict=True)
                if s and atom.issubset(s)
            )
            if segs:
                key = tuple(merge_ranges(segs))
                by_ports[key] = by_ports.get(key, IPSet()) | atom
        return sorted(((a, p) for p, a in by_ports.items()), key=lambda ap: ap[0].to_cidrs())

    def to_outside(self, w: int) -> Iterator[WorkloadConnection]:
        src = self.index.workloads[w].key
        for addresses, ranges in self._outside(w, egress=True):
            text = self.describe(addresses)
            yield WorkloadConnection(src, text, ranges, destination_addresses=addresses)

    def from_outside(self, order: Sequence[int]) -> Iterator[WorkloadConnection]:
        for w in order:
            dst = self.index.workloads[w].key
            for addresses, ranges in self._outside(w, egress=False):
                text = self.describe(addresses)
                yield WorkloadConnection(text, dst, ranges, source_addresses=addresses)
