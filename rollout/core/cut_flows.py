"""The `breaks_observed_flows` risk rule: observed flows a change would cut.

PURE. The engine stores the replay's cut flows in the rollout's `risk`
artifact (`{"cut_flows": [...]}`, see `rollout.flows.report.flow_json`); this
module turns them into `CutFlow` records and decides whether a rule's
thresholds are met. A reviewer may acknowledge a specific cut flow (by its
`key`) on a rollout; acknowledged flows no longer count.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CutFlow:
    """An observed flow the change would newly deny."""

    source: str
    destination: str
    port: int
    protocol: str
    count: int
    last_seen: str  # RFC 3339, UTC

    @property
    def key(self) -> str:
        """How a reviewer names the flow to acknowledge it: `SRC -> DST PORT/PROTO`."""
        return f"{self.source} -> {self.destination} {self.port}/{self.protocol}"

    def describe(self) -> str:
        seen = self.last_seen.replace("T", " ")[:16]
        times = "once" if self.count == 1 else f"{self.count:,} times"
        return f"{self.key}, last seen {seen} UTC, {times}"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CutFlow:
        return cls(
            source=str(data.get("source", "")),
            destination=str(data.get("destination", "")),
            port=int(data.get("port", 0)),
            protocol=str(data.get("protocol") or "TCP"),
            count=int(data.get("count", 0)),
            last_seen=str(data.get("last_seen", "")),
        )


def breaking_flows(
    cut: Sequence[CutFlow],
    *,
    more_than_flows: int = 0,
    seen_more_than: int = 0,
    acknowledged: Collection[str] = (),
) -> tuple[CutFlow, ...]:
    """The unacknowledged cut flows that make the rule apply, or () when it does not.

    Flows seen `seen_more_than` times or fewer do not count; the rule applies
    when more than `more_than_flows` flows count (the defaults: any cut flow).
    """
    counted = tuple(f for f in cut if f.count > seen_more_than and f.key not in set(acknowledged))
    return counted if len(counted) > more_than_flows else ()


def cut_flows_reason(flows: Sequence[CutFlow], window: str | None) -> str:
    seen = f"seen in the last {window}" if window else "observed"
    plural = "s" if len(flows) != 1 else ""
    text = f"this change would cut {len(flows)} flow{plural} {seen}: {flows[0].describe()}"
    if len(flows) > 1:
        text += f" (and {len(flows) - 1} more)"
    return text
