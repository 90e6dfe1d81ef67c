"""The connectivity diff as tables: workload pairs (the PR comment's rows), then pod pairs."""

from __future__ import annotations

from typing import Any

from rollout.server.dashboard.diff_graph import connections, port_text, workload_rows
from rollout.server.dashboard.markup import esc, table


def diff_table(diff: Any) -> str:
    """The workload pairs (when stored), then every stored pod-level connection."""
    pairs = []
    for kind in ("opened", "closed"):
        for row in workload_rows(diff, kind) or ():
            pairs.append(
                [
                    f'<span class="key key-{kind}">{kind}</span>',
                    f"<code>{esc(row['from'])}</code>",
                    f"<code>{esc(row['to'])}</code>",
                    esc(row.get("ports") or "all"),
                    esc(", ".join(str(p) for p in row.get("policies") or ()) or "—"),
                    esc(row.get("pod_pairs", "")),
                ]
            )
    workloads = ""
    if pairs:
        workloads = table(
            "Workload connections opened and closed",
            ["change", "from", "to", "ports", "policies", "pod pairs"],
            pairs,
            class_="workload-table",
        )
    rows = []
    for kind in ("opened", "closed"):
        for row in connections(diff, kind):
            rows.append(
                [
                    f'<span class="key key-{kind}">{kind}</span>',
                    f"<code>{esc(row['from'])}</code>",
                    f"<code>{esc(row['to'])}</code>",
                    esc(port_text(row)),
                    esc(", ".join(str(p) for p in row.get("policies") or ()) or "—"),
                ]
            )
    pods = table(
        "Connections opened and closed",
        ["change", "from", "to", "port", "policies"],
        rows,
        class_="diff-table",
    )
    if not workloads:
        return pods
    summary = f"<summary>Pod-level connections ({len(rows)})</summary>"
    return f"{workloads}<details>{summary}{pods}</details>"
