"""A connectivity diff per workload pair: what a reviewer reads first.

The pod-level connections of a `ConnectivityDiff` are gathered per (opened or
closed, source workload, destination workload or external peer): the port
ranges joined and written compactly (`TCP 80,443; UDP 53`), the responsible
policies united, and how many pod pairs changed. Names are the workload
keys of `workloads` (`shop/web[Deployment]`); external peers keep their CIDR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rollout.policy.diff import Connection, ConnectivityDiff
from rollout.policy.port_ranges import PortRange, describe_ranges, merge_ranges


@dataclass(frozen=True, slots=True)
class WorkloadChange:
    source: str
    destination: str
    ranges: tuple[PortRange, ...]
    policies: tuple[str, ...]
    pod_pairs: int

    @property
    def ports(self) -> str:
        return describe_ranges(self.ranges)

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.source,
            "to": self.destination,
            "ports": self.ports,
            "port_ranges": [
                {"protocol": proto, "first": first, "last": last}
                for proto, first, last in self.ranges
            ],
            "policies": list(self.policies),
            "pod_pairs": self.pod_pairs,
        }


def workload_changes(diff: ConnectivityDiff, which: str) -> list[WorkloadChange]:
    """`which` is "opened" or "closed"; rows sorted by source then destination."""
    groups: dict[tuple[str, str], tuple[list[PortRange], set[str], set[tuple[str, str]]]] = {}
    for c in getattr(diff, which):
        key = (_side(diff, c, source=True), _side(diff, c, source=False))
        ranges, policies, pairs = groups.setdefault(key, ([], set(), set()))
        ranges.append((c.protocol, c.port, c.last_port))
        policies.update(c.policies)
        pairs.add((c.source, c.destination))
    return [
        WorkloadChange(src, dst, tuple(merge_ranges(r)), tuple(sorted(p)), len(pairs))
        for (src, dst), (r, p, pairs) in sorted(groups.items())
    ]


def _side(diff: ConnectivityDiff, c: Connection, *, source: bool) -> str:
    key = c.source if source else c.destination
    external = c.from_external if source else c.to_external
    return key if external else diff.workload_of.get(key, key)


def workload_diff_json(diff: ConnectivityDiff) -> dict[str, Any]:
    """The `workloads` section of the diff JSON."""
    return {
        which: [w.to_json() for w in workload_changes(diff, which)]
        for which in ("opened", "closed")
    }


def workload_diff_text(diff: ConnectivityDiff) -> str:
    if diff.empty:
        return "No connectivity change."
    opened, closed = workload_changes(diff, "opened"), workload_changes(diff, "closed")
    out = [
        f"{len(opened)} workload connection(s) opened, {len(closed)} closed "
        f"({len(diff.opened)} and {len(diff.closed)} pod-level)"
    ]
    for title, sign, rows in (("Opened", "+", opened), ("Closed", "-", closed)):
        if rows:
            out.append(f"\n{title}:")
            out.extend(
                f"  {sign} {w.source} => {w.destination} : {w.ports}   [{', '.join(w.policies)}]"
                for w in rows
            )
    return "\n".join(out)


def workload_diff_markdown(diff: ConnectivityDiff) -> str:
    if diff.empty:
        return "**No connectivity change.**"
    opened, closed = workload_changes(diff, "opened"), workload_changes(diff, "closed")
    out = [f"**{len(opened)} workload connection(s) opened, {len(closed)} closed**", ""]
    for title, rows in (("Opened", opened), ("Closed", closed)):
        if rows:
            out += [f"#### {title}", "", "| from | to | ports | policies |", "|---|---|---|---|"]
            out.extend(
                f"| `{w.source}` | `{w.destination}` | {w.ports} | {', '.join(w.policies)} |"
                for w in rows
            )
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
