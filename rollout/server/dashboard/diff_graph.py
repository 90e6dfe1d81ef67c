"""The connectivity diff as a graph (server-side SVG) and as a table.

The stored `rollout.diff` is what :func:`rollout.policy.report.diff_json`
writes::

    {"opened": [{"from": "shop/web", "to": "shop/db", "port": 5432, "protocol": "TCP",
                 "policies": ["shop/allow-web"], "from_external": false,
                 "to_external": false}, ...],
     "closed": [...same shape...],
     "ports": ["5432/TCP"], "added_endpoints": [], "removed_endpoints": []}

`from`/`to` are `namespace/workload`, or a CIDR for an external peer (then
`from_external`/`to_external` is true). Nodes are workloads grouped in one
box per namespace (external peers in an "external" box); one edge per
(opened|closed, from, to) labelled with every port it carries. Each edge is
`<g class="edge" data-kind="opened|closed">`, so tests and scripts can count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rollout.server.dashboard.markup import esc, table

EXTERNAL = "external"
MAX_NODES = 80
MAX_EDGES = 300
_NODE_W, _NODE_H, _NODE_GAP = 170, 28, 14
_COL_GAP, _PAD, _HEAD = 130, 16, 30


@dataclass(frozen=True)
class Edge:
    kind: str  # opened | closed
    source: str
    target: str
    ports: tuple[str, ...]
    policies: tuple[str, ...]


def _node_namespace(name: str, external: bool) -> str:
    if external or "/" not in name:
        return EXTERNAL
    return name.split("/", 1)[0]


def _port_text(item: Mapping[str, Any]) -> str:
    port = item.get("port")
    protocol = str(item.get("protocol") or "TCP")
    return f"{port}/{protocol}" if port not in (None, "") else f"any/{protocol}"


def connections(diff: Any, kind: str) -> list[Mapping[str, Any]]:
    """The `kind` ("opened"/"closed") rows of a stored diff; [] for anything malformed."""
    if not isinstance(diff, Mapping):
        return []
    rows = diff.get(kind)
    if not isinstance(rows, Sequence) or isinstance(rows, str):
        return []
    return [r for r in rows if isinstance(r, Mapping) and r.get("from") and r.get("to")]


def edges(diff: Any) -> list[Edge]:
    """One edge per (kind, from, to), ports and policies merged, in a stable order."""
    merged: dict[tuple[str, str, str], tuple[list[str], set[str]]] = {}
    for kind in ("opened", "closed"):
        for row in connections(diff, kind):
            key = (kind, str(row["from"]), str(row["to"]))
            ports, policies = merged.setdefault(key, ([], set()))
            text = _port_text(row)
            if text not in ports:
                ports.append(text)
            policies.update(str(p) for p in row.get("policies") or ())
    return [
        Edge(kind, src, dst, tuple(ports), tuple(sorted(policies)))
        for (kind, src, dst), (ports, policies) in sorted(merged.items())
    ]


def _external_nodes(diff: Any) -> set[str]:
    found: set[str] = set()
    for kind in ("opened", "closed"):
        for row in connections(diff, kind):
            if row.get("from_external"):
                found.add(str(row["from"]))
            if row.get("to_external"):
                found.add(str(row["to"]))
    return found


def graph_svg(diff: Any) -> str:
    """The diff as an SVG graph; a note instead when it is empty or too big to draw."""
    all_edges = edges(diff)
    if not all_edges:
        return '<p class="empty">No connectivity change.</p>'
    external = _external_nodes(diff)
    names = sorted({e.source for e in all_edges} | {e.target for e in all_edges})
    if len(names) > MAX_NODES or len(all_edges) > MAX_EDGES:
        return (
            f'<p class="note">{len(names)} workloads and {len(all_edges)} edges are too many '
            "to draw; the table below lists every connection.</p>"
        )
    columns: dict[str, list[str]] = {}
    for name in names:
        columns.setdefault(_node_namespace(name, name in external), []).append(name)
    order = sorted(c for c in columns if c != EXTERNAL) + (
        [EXTERNAL] if EXTERNAL in columns else []
    )
    pos: dict[str, tuple[float, float, int]] = {}  # node -> (x, y centre-left, column)
    boxes: list[str] = []
    tallest = 0
    for index, ns in enumerate(order):
        x = _PAD + index * (_NODE_W + 2 * _PAD + _COL_GAP)
        members = columns[ns]
        height = _HEAD + len(members) * (_NODE_H + _NODE_GAP) + _PAD
        tallest = max(tallest, height)
        label = "External peers" if ns == EXTERNAL else f"namespace {ns}"
        boxes.append(
            f'<g class="namespace" data-namespace="{esc(ns)}">'
            f'<rect x="{x}" y="{_PAD}" width="{_NODE_W + 2 * _PAD}" height="{height}" rx="8"/>'
            f'<text x="{x + _PAD}" y="{_PAD + 20}" class="ns-label">{esc(label)}</text>'
        )
        for row, name in enumerate(members):
            nx = x + _PAD
            ny = _PAD + _HEAD + row * (_NODE_H + _NODE_GAP)
            pos[name] = (nx, ny + _NODE_H / 2, index)
            shown = name.split("/", 1)[1] if ns != EXTERNAL and "/" in name else name
            if len(shown) > 22:
                shown = shown[:21] + "…"
            boxes.append(
                f'<g class="node" data-node="{esc(name)}"><title>{esc(name)}</title>'
                f'<rect x="{nx}" y="{ny}" width="{_NODE_W}" height="{_NODE_H}" rx="4"/>'
                f'<text x="{nx + 8}" y="{ny + 19}">{esc(shown)}</text></g>'
            )
        boxes.append("</g>")
    width = _PAD + len(order) * (_NODE_W + 2 * _PAD + _COL_GAP) - _COL_GAP + _PAD
    height = tallest + 2 * _PAD
    pair_seen: dict[frozenset[str], int] = {}
    drawn = [_edge_svg(e, pos, pair_seen) for e in all_edges]
    opened = sum(1 for e in all_edges if e.kind == "opened")
    closed = len(all_edges) - opened
    summary = f"{opened} opened and {closed} closed edges between {len(names)} workloads"
    return (
        f'<figure class="graph"><div class="scroll" tabindex="0" role="region" '
        f'aria-label="Connectivity graph">'
        f'<svg class="diff-graph" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-labelledby="graph-title">'
        f'<title id="graph-title">{esc(summary)}</title>'
        "<defs>"
        '<marker id="arrow-opened" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
        'class="arrow-opened"/></marker>'
        '<marker id="arrow-closed" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
        'class="arrow-closed"/></marker></defs>'
        f"{''.join(boxes)}{''.join(drawn)}</svg></div>"
        f'<figcaption>{esc(summary)}. <span class="key key-opened">green: opened</span>, '
        '<span class="key key-closed">red dashed: closed</span>; ports on the edges.'
        "</figcaption></figure>"
    )


def _edge_svg(
    edge: Edge, pos: Mapping[str, tuple[float, float, int]], seen: dict[frozenset[str], int]
) -> str:
    sx, sy, scol = pos[edge.source]
    tx, ty, tcol = pos[edge.target]
    pair = frozenset((edge.source, edge.target))
    bend = seen.get(pair, 0)
    seen[pair] = bend + 1
    offset = bend * 16
    if tcol > scol:
        x0, x3 = sx + _NODE_W, tx
        c1, c2 = (x0 + 60, sy + offset), (x3 - 60, ty + offset)
    elif tcol < scol:
        x0, x3 = sx, tx + _NODE_W
        c1, c2 = (x0 - 60, sy + offset), (x3 + 60, ty + offset)
    else:  # same namespace: loop out to the right of the box
        x0 = x3 = sx + _NODE_W
        reach = 50 + 12 * abs(ty - sy) / (_NODE_H + _NODE_GAP) + offset
        c1, c2 = (x0 + reach, sy), (x3 + reach, ty)
    y0, y3 = sy, ty
    mx = (x0 + 3 * c1[0] + 3 * c2[0] + x3) / 8
    my = (y0 + 3 * c1[1] + 3 * c2[1] + y3) / 8
    ports = ", ".join(edge.ports[:3]) + (f" +{len(edge.ports) - 3}" if len(edge.ports) > 3 else "")
    title = f"{edge.kind}: {edge.source} → {edge.target} on {', '.join(edge.ports)}"
    if edge.policies:
        title += f" ({', '.join(edge.policies)})"
    d = f"M{x0:.1f},{y0:.1f} C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} {x3:.1f},{y3:.1f}"
    return (
        f'<g class="edge edge-{edge.kind}" data-kind="{edge.kind}" '
        f'data-from="{esc(edge.source)}" data-to="{esc(edge.target)}" '
        f'data-ports="{esc(" ".join(edge.ports))}"><title>{esc(title)}</title>'
        f'<path d="{d}" marker-end="url(#arrow-{edge.kind})"/>'
        f'<text x="{mx:.1f}" y="{my - 4:.1f}" text-anchor="middle">{esc(ports)}</text></g>'
    )


def diff_table(diff: Any) -> str:
    """Every stored connection, opened first, as an accessible table."""
    rows = []
    for kind in ("opened", "closed"):
        for row in connections(diff, kind):
            rows.append(
                [
                    f'<span class="key key-{kind}">{kind}</span>',
                    f"<code>{esc(row['from'])}</code>",
                    f"<code>{esc(row['to'])}</code>",
                    esc(_port_text(row)),
                    esc(", ".join(str(p) for p in row.get("policies") or ()) or "—"),
                ]
            )
    return table(
        "Connections opened and closed",
        ["change", "from", "to", "port", "policies"],
        rows,
        class_="diff-table",
    )
