"""Plain formatters for engine results: text, JSON, CSV, Markdown, SARIF.

Pure string builders shared by the CLI, pull-request comments and
notifications; rich tables are built in the CLI from `matrix_grid`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from typing import Any

from rollout.findings import findings_to_json
from rollout.policy.diff import Connection, ConnectivityDiff
from rollout.policy.diff_workloads import workload_diff_json
from rollout.policy.evaluate import Analysis, PortKey
from rollout.policy.explain import Explanation
from rollout.policy.lint import Finding
from rollout.policy.port_ranges import range_text

ALLOW, DENY = "✓", "✗"


# -- matrix -----------------------------------------------------------------


def iter_connections(analysis: Analysis, ports: Sequence[PortKey]) -> Iterator[dict[str, Any]]:
    """Every ordered endpoint pair (self pairs included) for each port."""
    eps = analysis.endpoints
    cls = analysis.class_of
    for port, proto in ports:
        rows = analysis.class_rows(port, proto)
        for si, src in enumerate(eps):
            row = rows[cls[si]]
            for di, dst in enumerate(eps):
                yield {
                    "from": src.key,
                    "to": dst.key,
                    "port": port,
                    "protocol": proto,
                    "allowed": si == di or bool(row >> cls[di] & 1),
                }


def matrix_json(analysis: Analysis, ports: Sequence[PortKey]) -> str:
    return json.dumps({"connections": list(iter_connections(analysis, ports))}, indent=2)


def matrix_csv(analysis: Analysis, ports: Sequence[PortKey]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, ["from", "to", "port", "protocol", "allowed"], lineterminator="\n")
    writer.writeheader()
    for row in iter_connections(analysis, ports):
        writer.writerow({**row, "allowed": str(row["allowed"]).lower()})
    return out.getvalue()


def matrix_grid(analysis: Analysis, port: int, proto: str) -> tuple[list[str], list[list[str]]]:
    """(endpoint keys, rows of ✓/✗): row = source, column = destination."""
    keys = [ep.key for ep in analysis.endpoints]
    cls = analysis.class_of
    rows = analysis.class_rows(port, proto)
    grid = [
        [ALLOW if si == di or rows[cls[si]] >> cls[di] & 1 else DENY for di in range(len(keys))]
        for si in range(len(keys))
    ]
    return keys, grid


def matrix_markdown(analysis: Analysis, ports: Sequence[PortKey]) -> str:
    parts = []
    for port, proto in ports:
        keys, grid = matrix_grid(analysis, port, proto)
        parts.append(f"### {port}/{proto} (row: from, column: to)\n")
        parts.append("| from \\ to | " + " | ".join(f"`{k}`" for k in keys) + " |")
        parts.append("|---|" + "---|" * len(keys))
        parts.extend(f"| `{k}` | " + " | ".join(r) + " |" for k, r in zip(keys, grid, strict=True))
        parts.append("")
    return "\n".join(parts)


# -- explain ----------------------------------------------------------------


def explanation_text(explanation: Explanation) -> str:
    return "\n".join(explanation.lines())


def explanation_json(explanation: Explanation) -> str:
    def side(s: Any) -> dict[str, Any]:
        return {
            "endpoint": s.endpoint,
            "isolated": s.isolated,
            "allowed": s.allowed,
            "selecting": list(s.selecting),
            "allowing": [
                {"policy": m.policy, "rule": m.rule, "detail": m.detail} for m in s.allowing
            ],
            "note": s.note,
        }

    e = explanation
    return json.dumps(
        {
            "from": e.source,
            "to": e.destination,
            "port": e.port,
            "protocol": e.protocol,
            "allowed": e.allowed,
            "note": e.note,
            "egress": side(e.egress),
            "ingress": side(e.ingress),
        },
        indent=2,
    )


# -- diff -------------------------------------------------------------------


def _connection_dict(c: Connection) -> dict[str, Any]:
    return {
        "from": c.source,
        "to": c.destination,
        "port": c.port,
        "end_port": c.last_port,
        "ports": c.ports_text,
        "protocol": c.protocol,
        "policies": list(c.policies),
        "cross_namespace": c.cross_namespace,
        "to_external": c.to_external,
        "from_external": c.from_external,
        "to_labels": c.to_labels_or_external if not c.to_external else {},
        "to_namespace_labels": dict(c.to_namespace_labels),
    }


def diff_json(diff: ConnectivityDiff) -> str:
    return json.dumps(
        {
            "opened": [_connection_dict(c) for c in diff.opened],
            "closed": [_connection_dict(c) for c in diff.closed],
            "ports": [f"{range_text(first, last)}/{proto}" for first, last, proto in diff.ports],
            "added_endpoints": diff.added_endpoints,
            "removed_endpoints": diff.removed_endpoints,
            "workloads": workload_diff_json(diff),
        },
        indent=2,
    )


def _diff_sections(diff: ConnectivityDiff) -> Iterator[tuple[str, str, list[tuple[str, str]]]]:
    """(title, source, [(line, policies)]) grouped by source namespace/workload and port."""
    for which, title in (("opened", "Opened"), ("closed", "Closed")):
        groups = diff.grouped(which)
        by_source: dict[str, list[tuple[str, str]]] = {}
        for (source, _to_ns, port), conns in sorted(groups.items()):
            targets = sorted({c.destination for c in conns})
            shown = ", ".join(targets[:5]) + (
                f" (+{len(targets) - 5} more)" if len(targets) > 5 else ""
            )
            pols = ", ".join(sorted({p for c in conns for p in c.policies}))
            by_source.setdefault(source, []).append((f"{port} -> {shown}", pols))
        for source, lines in by_source.items():
            yield title, source, lines


def diff_text(diff: ConnectivityDiff) -> str:
    if diff.empty:
        return "No connectivity change."
    out = [f"{len(diff.opened)} connection(s) opened, {len(diff.closed)} closed"]
    current = ""
    for title, source, lines in _diff_sections(diff):
        if title != current:
            out.append(f"\n{title}:")
            current = title
        out.append(f"  {source}")
        sign = "+" if title == "Opened" else "-"
        out.extend(f"    {sign} {line}   [{pols}]" for line, pols in lines)
    return "\n".join(out)


def diff_markdown(diff: ConnectivityDiff) -> str:
    if diff.empty:
        return "**No connectivity change.**"
    out = [f"**{len(diff.opened)} connection(s) opened, {len(diff.closed)} closed**", ""]
    current = ""
    for title, source, lines in _diff_sections(diff):
        if title != current:
            out += [f"#### {title}", "", "| from | port -> to | policies |", "|---|---|---|"]
            current = title
        out.extend(f"| `{source}` | {line} | {pols} |" for line, pols in lines)
    return "\n".join(out) + "\n"


# -- lint -------------------------------------------------------------------


def findings_text(findings: Sequence[Finding]) -> str:
    if not findings:
        return "No findings."
    lines = []
    for f in findings:
        where = f" ({f.origin})" if f.origin else ""
        path = f" {f.path}" if f.path else ""
        lines.append(f"{f.severity.upper():7} {f.id} {f.object}{path}{where}: {f.message}")
    counts = {s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")}
    lines.append(", ".join(f"{n} {s}(s)" for s, n in counts.items()))
    return "\n".join(lines)


def findings_markdown(findings: Sequence[Finding]) -> str:
    """A table for job summaries and pull-request comments."""
    if not findings:
        return "**No findings.**\n"
    rows = [
        f"| {f.severity} | `{f.id}` | `{f.object}` | {f.origin or ''} | {f.message} |"
        for f in findings
    ]
    return (
        "\n".join(
            ["| severity | rule | object | where | message |", "|---|---|---|---|---|", *rows]
        )
        + "\n"
    )


def findings_json(findings: Sequence[Finding]) -> str:
    return json.dumps(findings_to_json(findings), indent=2)
