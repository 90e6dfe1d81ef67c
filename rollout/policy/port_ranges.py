"""The port space cut into ranges on which every verdict is constant.

A policy's ports are unions of intervals (`port`..`endPort`, a whole
protocol when `port` is missing) and named ports, which resolve to the
container ports destinations declare. Cutting each protocol's 1-65535 at
every interval edge and around every declared container port gives ranges
inside which no policy can tell two ports apart, so evaluating one port per
range (its first) answers for all of it, and "every port" is covered with
a handful of evaluations instead of 3 x 65535.

A `PortRange` is `(protocol, first, last)`; `describe_ranges` writes a set of
them compactly: `TCP 80,443,8000-8100; UDP 53`, or `all`.
"""

from __future__ import annotations

from collections.abc import Iterable

from rollout.policy.model import ClusterModel
from rollout.policy.portset import MAX_PORT, MIN_PORT, PROTOCOLS

PortRange = tuple[str, int, int]  # (protocol, first, last), both ends included


def port_cuts(model: ClusterModel) -> dict[str, set[int]]:
    """Per protocol, the ports at which a new constant range starts."""
    cuts: dict[str, set[int]] = {p: set() for p in PROTOCOLS}
    for ep in model.endpoints:
        for cp in ep.ports:
            cuts.setdefault(cp.protocol, set()).update((cp.port, cp.port + 1))
    for policy in model.policies:
        for rule in (*policy.ingress, *policy.egress):
            for spec in rule.ports or ():
                if isinstance(spec.port, int):
                    last = spec.end_port or spec.port
                    cuts.setdefault(spec.protocol, set()).update((spec.port, last + 1))
    return cuts


def port_segments(*models: ClusterModel) -> list[PortRange]:
    """Ranges covering every port of every protocol, constant for all `models`."""
    cuts: dict[str, set[int]] = {p: set() for p in PROTOCOLS}
    for model in models:
        for proto, found in port_cuts(model).items():
            cuts.setdefault(proto, set()).update(found)
    out: list[PortRange] = []
    for proto in sorted(cuts, key=_protocol_order):
        starts = sorted(c for c in cuts[proto] if MIN_PORT < c <= MAX_PORT)
        first = MIN_PORT
        for start in starts:
            out.append((proto, first, start - 1))
            first = start
        out.append((proto, first, MAX_PORT))
    return out


def merge_ranges(ranges: Iterable[PortRange]) -> list[PortRange]:
    """Sorted, with touching or overlapping ranges of one protocol joined."""
    out: list[PortRange] = []
    for proto, first, last in sorted(ranges, key=lambda r: (_protocol_order(r[0]), r[1])):
        if out and out[-1][0] == proto and first <= out[-1][2] + 1:
            out[-1] = (proto, out[-1][1], max(out[-1][2], last))
        else:
            out.append((proto, first, last))
    return out


def describe_ranges(ranges: Iterable[PortRange]) -> str:
    """`TCP 80,443,8000-8100; UDP 53`; `all` for every port of every protocol; `none`."""
    merged = merge_ranges(ranges)
    if merged == [(p, MIN_PORT, MAX_PORT) for p in sorted(PROTOCOLS, key=_protocol_order)]:
        return "all"
    if not merged:
        return "none"
    by_proto: dict[str, list[str]] = {}
    for proto, first, last in merged:
        text = "all" if (first, last) == (MIN_PORT, MAX_PORT) else _range_text(first, last)
        by_proto.setdefault(proto, []).append(text)
    return "; ".join(f"{proto} {','.join(parts)}" for proto, parts in by_proto.items())


def range_text(first: int, last: int) -> str:
    """`80`, `8000-8100`, or `all` for 1-65535."""
    return "all" if (first, last) == (MIN_PORT, MAX_PORT) else _range_text(first, last)


def _range_text(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def _protocol_order(proto: str) -> tuple[int, str]:
    return (PROTOCOLS.index(proto) if proto in PROTOCOLS else len(PROTOCOLS), proto)
