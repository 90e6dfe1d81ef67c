"""One record of a replay for every place it shows: CLI, artifacts, PR, Slack, dashboard.

`replay_summary` is the JSON stored in the rollout's artifacts; every other
view (the sentence in notifications, the CLI table and CSV) is made from it,
so they cannot disagree.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rollout.flows.aggregate import Observed
from rollout.flows.replay import ReplayedFlow, ReplayResult
from rollout.flows.resolve import describe

CSV_FIELDS = (
    "change",
    "source",
    "destination",
    "port",
    "protocol",
    "count",
    "last_seen",
    "reason",
)


def _when(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def flow_json(item: ReplayedFlow) -> dict[str, Any]:
    flow = item.flow
    return {
        "source": describe(flow.source),
        "source_kind": flow.source.kind,
        "destination": describe(flow.destination),
        "destination_kind": flow.destination.kind,
        "port": flow.port,
        "protocol": flow.protocol,
        "count": flow.count,
        "first_seen": _when(flow.first_seen),
        "last_seen": _when(flow.last_seen),
        "reason": item.reason,
    }


def replay_summary(
    result: ReplayResult, observed: Observed, *, window: str | None = None
) -> dict[str, Any]:
    """The replay as plain JSON: cut, opened, unevaluated, unresolved, counts."""
    return {
        "window": window,
        "records": observed.records,
        "too_old": observed.too_old,
        "skipped": dict(sorted(observed.skipped.items())),
        "flows": len(observed.flows),
        "cut": [flow_json(f) for f in result.cut],
        "opened": [flow_json(f) for f in result.opened],
        "unevaluated": [
            {"flow": u.flow.describe(), "count": u.flow.count, "reason": u.reason}
            for u in result.unevaluated
        ],
        "unresolved": [
            {
                "flow": u.describe(),
                "side": u.side,
                "endpoint": u.endpoint,
                "reason": u.reason,
                "count": u.count,
                "last_seen": _when(u.last_seen),
            }
            for u in observed.unresolved
        ],
        "unchanged_allowed": result.unchanged_allowed,
        "unchanged_denied": result.unchanged_denied,
    }


def describe_flow(item: Mapping[str, Any]) -> str:
    """`batch/report-job -> database/postgres 5432/TCP, last seen 02:14 UTC, 1,204 times`."""
    last = datetime.fromisoformat(str(item["last_seen"]))
    times = "once" if item["count"] == 1 else f"{item['count']:,} times"
    return (
        f"{item['source']} -> {item['destination']} {item['port']}/{item['protocol']}, "
        f"last seen {last:%Y-%m-%d %H:%M} UTC, {times}"
    )


def cut_sentence(summary: Mapping[str, Any], limit: int = 5) -> str | None:
    """The headline for notifications, or None when no observed flow is cut."""
    cut: Sequence[Mapping[str, Any]] = summary.get("cut") or ()
    if not cut:
        return None
    window = summary.get("window")
    seen = f"seen in the last {window}" if window else "observed"
    head = f"this change would cut {len(cut)} flow{'s' if len(cut) != 1 else ''} {seen}: "
    lines = [describe_flow(item) for item in cut[:limit]]
    more = f" (and {len(cut) - limit} more)" if len(cut) > limit else ""
    return head + "; ".join(lines) + more


def replay_csv(summary: Mapping[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for change in ("cut", "opened"):
        for item in summary.get(change) or ():
            writer.writerow([change, *(item[f] for f in CSV_FIELDS[1:])])
    return out.getvalue()


def replay_header(summary: Mapping[str, Any]) -> list[str]:
    """What was read: records, distinct flows, the window, what was skipped and why."""
    lines = [
        f"{summary['records']:,} records, {summary['flows']:,} distinct flows"
        + (f" in the last {summary['window']}" if summary.get("window") else "")
        + (f" ({summary['too_old']:,} older records left out)" if summary.get("too_old") else "")
    ]
    for reason, count in (summary.get("skipped") or {}).items():
        lines.append(f"  skipped {count:,}: {reason}")
    return lines


def replay_text(summary: Mapping[str, Any]) -> str:
    """Plain lines: the counts, then each cut and opened flow with why."""
    lines = replay_header(summary)
    for change, title in (("cut", "newly denied (cut)"), ("opened", "newly allowed")):
        items = summary.get(change) or ()
        lines.append(f"{len(items)} flow(s) {title}:")
        mark = "-" if change == "cut" else "+"
        lines += [f"  {mark} {describe_flow(i)} ({i['reason']})" for i in items]
    for u in summary.get("unresolved") or ():
        lines.append(f"unresolved ({u['count']:,} records): {u['flow']}")
    for u in summary.get("unevaluated") or ():
        lines.append(f"not evaluated ({u['count']:,}): {u['flow']}: {u['reason']}")
    return "\n".join(lines)
