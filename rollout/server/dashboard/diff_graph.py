"""The connectivity diff as a graph (server-side SVG) and as a table.

The stored `rollout.diff` is what :func:`rollout.policy.report.diff_json`
writes::

    {"opened": [{"from": "shop/web", "to": "shop/db", "port": 5432, "end_port": 5432,
                 "ports": "5432", "protocol": "TCP", "policies": ["shop/allow-web"],
                 "from_external": false, "to_external": false}, ...],
     "closed": [...same shape...], "ports": ["5432/TCP"], ...}

`from`/`to` are `namespace/name` as the policy engine names them (the same
names the PR comment and the CLI print), or a CIDR for an external peer.

Layout (computed here, so nothing depends on the browser's text metrics
beyond a monospace font): one column of namespace boxes stacked top to
bottom, one node per workload, every node as wide as the longest name; to
the right a gutter of vertical lanes. An edge leaves its source node to the
right, runs along its lane and enters its target from the right with an
arrow. Edges whose vertical extents overlap get different lanes; each lane
is as wide as its widest label, and labels sit in the bands between node
rows, where no edge runs horizontally. So no label overlaps another label,
a node or an edge, and the picture's size follows from its content: nothing
is cut at any width (a narrow screen scrolls the figure).

Each edge is `<g class="edge" data-kind="opened|closed" data-from data-to
data-ports>` with one `<text>`, so tests and scripts can count and read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rollout.server.dashboard.markup import esc

EXTERNAL = "external"
MAX_NODES = 80
MAX_EDGES = 300
MAX_LABEL_PORTS = 3

# Geometry in px. Text is monospace (see dashboard.css); widths per character
# are slightly generous so a name always fits its box.
NODE_CHAR_W, LABEL_CHAR_W, HEAD_CHAR_W = 8.2, 7.6, 8.2
PAD = 12  # inside a namespace box, around the figure
HEAD_H = 28  # a namespace box's title row
BAND_H = 22  # between node rows: where edge labels sit
NODE_MIN_H = 28
ATTACH_GAP = 10  # between edge ends on one node
LABEL_H = 16
GUTTER_GAP = 28  # between the node column and the first lane
LANE_GAP = 16  # between a label and the next lane


@dataclass(frozen=True)
class Edge:
    kind: str  # opened | closed
    source: str
    target: str
    ports: tuple[str, ...]
    policies: tuple[str, ...]

    @property
    def label(self) -> str:
        shown = ", ".join(self.ports[:MAX_LABEL_PORTS])
        hidden = len(self.ports) - MAX_LABEL_PORTS
        return f"{shown} +{hidden}" if hidden > 0 else shown


@dataclass
class _Node:
    name: str
    shown: str
    y: float = 0.0
    height: float = NODE_MIN_H
    ends: list[tuple[float, int, str]] = field(default_factory=list)  # (other y, edge, end)

    def attach_y(self, index: int) -> float:
        return (
            self.y
            + ATTACH_GAP * (index + 1)
            + (self.height - ATTACH_GAP * (len(self.ends) + 1)) / 2
        )


def _node_namespace(name: str, external: bool) -> str:
    if external or "/" not in name:
        return EXTERNAL
    return name.split("/", 1)[0]


def port_text(item: Mapping[str, Any]) -> str:
    """`5432/TCP`, `8447-8450/TCP` or `all/TCP` for one stored connection."""
    protocol = str(item.get("protocol") or "TCP")
    ports = item.get("ports")
    if ports not in (None, ""):
        return f"{ports}/{protocol}"
    port = item.get("port")
    return f"{port}/{protocol}" if port not in (None, "") else f"all/{protocol}"


def connections(diff: Any, kind: str) -> list[Mapping[str, Any]]:
    """The `kind` ("opened"/"closed") rows of a stored diff; [] for anything malformed."""
    if not isinstance(diff, Mapping):
        return []
    rows = diff.get(kind)
    if not isinstance(rows, Sequence) or isinstance(rows, str):
        return []
    return [r for r in rows if isinstance(r, Mapping) and r.get("from") and r.get("to")]


def workload_rows(diff: Any, kind: str) -> list[Mapping[str, Any]] | None:
    """The `kind` rows of the diff's `workloads` section (the PR comment's names and
    counts: one row per workload pair, ports as ranges); None for a diff without one."""
    section = diff.get("workloads") if isinstance(diff, Mapping) else None
    if not isinstance(section, Mapping):
        return None
    return connections(section, kind)


def heading(diff: Any) -> str:
    """`1 opened, 0 closed` per workload pair (pod-level counts too), as the PR comment says."""
    opened, closed = workload_rows(diff, "opened"), workload_rows(diff, "closed")
    pods = f"{len(connections(diff, 'opened'))} opened, {len(connections(diff, 'closed'))} closed"
    if opened is None or closed is None:
        return pods
    return f"{len(opened)} opened, {len(closed)} closed between workloads ({pods} pod-level)"


def _is_external(name: str) -> bool:
    try:
        ipaddress.ip_network(name, strict=False)
    except ValueError:
        return False
    return True


def edges(diff: Any) -> list[Edge]:
    """One edge per (kind, from, to), ports and policies merged, in a stable order: per
    workload pair when the diff has a `workloads` section, else per stored connection."""
    found: list[Edge] = []
    for kind in ("opened", "closed"):
        rows = workload_rows(diff, kind)
        if rows is None:
            return _pod_edges(diff)
        found += [
            Edge(
                kind,
                str(row["from"]),
                str(row["to"]),
                (str(row.get("ports") or "all"),),
                tuple(sorted(str(p) for p in row.get("policies") or ())),
            )
            for row in rows
        ]
    return sorted(found, key=lambda e: (e.kind, e.source, e.target))


def _pod_edges(diff: Any) -> list[Edge]:
    merged: dict[tuple[str, str, str], tuple[list[str], set[str]]] = {}
    for kind in ("opened", "closed"):
        for row in connections(diff, kind):
            key = (kind, str(row["from"]), str(row["to"]))
            ports, policies = merged.setdefault(key, ([], set()))
            text = port_text(row)
            if text not in ports:
                ports.append(text)
            policies.update(str(p) for p in row.get("policies") or ())
    return [
        Edge(kind, src, dst, tuple(ports), tuple(sorted(policies)))
        for (kind, src, dst), (ports, policies) in sorted(merged.items())
    ]


def _external_nodes(diff: Any) -> set[str]:
    found: set[str] = {n for e in edges(diff) for n in (e.source, e.target) if _is_external(n)}
    for kind in ("opened", "closed"):
        for row in connections(diff, kind):
            if row.get("from_external"):
                found.add(str(row["from"]))
            if row.get("to_external"):
                found.add(str(row["to"]))
    return found


@dataclass
class _Layout:
    boxes: list[str]
    nodes: dict[str, _Node]
    bands: list[tuple[float, float]]  # free of nodes: label rows
    node_x: float
    node_w: float
    height: float


def _layout_nodes(names: Sequence[str], external: set[str], all_edges: Sequence[Edge]) -> _Layout:
    columns: dict[str, list[str]] = {}
    for name in names:
        columns.setdefault(_node_namespace(name, name in external), []).append(name)
    order = sorted(c for c in columns if c != EXTERNAL) + (
        [EXTERNAL] if EXTERNAL in columns else []
    )
    nodes: dict[str, _Node] = {}
    for ns in order:
        for name in columns[ns]:
            shown = name.split("/", 1)[1] if ns != EXTERNAL else name
            nodes[name] = _Node(name, shown)
    for index, edge in enumerate(all_edges):
        nodes[edge.source].ends.append((0.0, index, "source"))
        nodes[edge.target].ends.append((0.0, index, "target"))
    for node in nodes.values():
        node.height = max(NODE_MIN_H, ATTACH_GAP * (len(node.ends) + 1))
    labels = ["External peers" if ns == EXTERNAL else f"namespace {ns}" for ns in order]
    node_w = max(
        [len(n.shown) * NODE_CHAR_W + 20 for n in nodes.values()]
        + [len(label) * HEAD_CHAR_W + 8 for label in labels]  # title: PAD in, PAD to spare
        + [120.0]
    )
    box_w = node_w + 2 * PAD
    node_x = PAD + PAD
    y = float(PAD)
    boxes: list[str] = []
    bands: list[tuple[float, float]] = [(0.0, y)]
    for ns, label in zip(order, labels, strict=True):
        top = y
        bands.append((top, top + HEAD_H))
        y += HEAD_H
        for name in columns[ns]:
            node = nodes[name]
            node.y = y
            y += node.height
            bands.append((y, y + BAND_H))
            y += BAND_H
        boxes.append(
            f'<g class="namespace" data-namespace="{esc(ns)}">'
            f'<rect x="{PAD}" y="{top:.1f}" width="{box_w:.1f}" height="{y - top:.1f}" rx="8"/>'
            f'<text x="{PAD + PAD}" y="{top + 19:.1f}" class="ns-label">{esc(label)}</text>'
        )
        for name in columns[ns]:
            node = nodes[name]
            boxes.append(
                f'<g class="node" data-node="{esc(name)}"><title>{esc(name)}</title>'
                f'<rect x="{node_x}" y="{node.y:.1f}" width="{node_w:.1f}" '
                f'height="{node.height:.1f}" rx="4"/>'
                f'<text x="{node_x + 10}" y="{node.y + node.height / 2 + 4.5:.1f}">'
                f"{esc(node.shown)}</text></g>"
            )
        boxes.append("</g>")
        bands.append((y, y + PAD))
        y += PAD
    return _Layout(boxes, nodes, bands, node_x, node_w, y + PAD)


def _order_ends(layout: _Layout, all_edges: Sequence[Edge]) -> None:
    """Each node's edge ends sorted by where the other end is, so edges cross less."""
    centre = {name: n.y + n.height / 2 for name, n in layout.nodes.items()}
    for node in layout.nodes.values():
        keyed = []
        for _, index, end in node.ends:
            edge = all_edges[index]
            other = edge.target if end == "source" else edge.source
            keyed.append((centre[other], index, end))
        node.ends = sorted(keyed)


def _end_y(layout: _Layout, edge_index: int, name: str, end: str) -> float:
    node = layout.nodes[name]
    for position, (_, index, which) in enumerate(node.ends):
        if index == edge_index and which == end:
            return node.attach_y(position)
    raise KeyError(name)


def _label_band(bands: Sequence[tuple[float, float]], lo: float, hi: float) -> float:
    """The top of the label band nearest the middle of [lo, hi] (inside it when one fits)."""
    middle = (lo + hi) / 2
    fitting = [(a, b) for a, b in bands if b - a >= LABEL_H + 2]
    inside = [(a, b) for a, b in fitting if lo <= (a + b) / 2 <= hi]
    a, b = min(inside or fitting, key=lambda band: abs((band[0] + band[1]) / 2 - middle))
    return (a + b) / 2 - LABEL_H / 2


@dataclass
class _Placed:
    """An edge's ends, label row and vertical extent; its lane once assigned."""

    index: int
    ys: float
    yt: float
    label_top: float
    low: float
    high: float
    width: float
    lane: int = 0


def _place(layout: _Layout, index: int, edge: Edge) -> _Placed:
    ys = _end_y(layout, index, edge.source, "source")
    yt = _end_y(layout, index, edge.target, "target")
    top = _label_band(layout.bands, min(ys, yt), max(ys, yt))
    low = min(ys, yt, top) - 3
    high = max(ys, yt, top + LABEL_H) + 3
    return _Placed(index, ys, yt, top, low, high, len(edge.label) * LABEL_CHAR_W + 8)


def _assign_lanes(placed: Sequence[_Placed]) -> list[float]:
    """Give each edge a lane (shortest extents first, nearest the nodes) where its
    extent overlaps no other's; return each lane's width (its widest label)."""
    lanes: list[list[_Placed]] = []
    for edge in sorted(placed, key=lambda p: (p.high - p.low, p.index)):
        for number, taken in enumerate(lanes):
            if all(edge.high <= o.low or edge.low >= o.high for o in taken):
                edge.lane = number
                taken.append(edge)
                break
        else:
            edge.lane = len(lanes)
            lanes.append([edge])
    return [max(p.width for p in lane) for lane in lanes]


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
    layout = _layout_nodes(names, external, all_edges)
    _order_ends(layout, all_edges)
    placed = [_place(layout, index, edge) for index, edge in enumerate(all_edges)]
    right = layout.node_x + layout.node_w
    x = right + GUTTER_GAP
    lane_x = []
    for width in _assign_lanes(placed):
        lane_x.append(x)
        x += 6 + width + LANE_GAP
    svg_w = x + PAD
    drawn = [_edge_svg(all_edges[p.index], right, lane_x[p.lane], p) for p in placed]
    opened = sum(1 for e in all_edges if e.kind == "opened")
    closed = len(all_edges) - opened
    summary = f"{opened} opened and {closed} closed edges between {len(names)} workloads"
    return (
        f'<figure class="graph"><div class="scroll" tabindex="0" role="region" '
        f'aria-label="Connectivity graph">'
        f'<svg class="diff-graph" viewBox="0 0 {svg_w:.0f} {layout.height:.0f}" '
        f'width="{svg_w:.0f}" height="{layout.height:.0f}" role="img" '
        f'aria-labelledby="graph-title">'
        f'<title id="graph-title">{esc(summary)}</title>'
        "<defs>"
        '<marker id="arrow-opened" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
        'class="arrow-opened"/></marker>'
        '<marker id="arrow-closed" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
        'class="arrow-closed"/></marker></defs>'
        f"{''.join(layout.boxes)}{''.join(drawn)}</svg></div>"
        f'<figcaption>{esc(summary)}. <span class="key key-opened">green: opened</span>, '
        '<span class="key key-closed">red dashed: closed</span>; each edge leaves its source '
        "to the right and points into its destination; ports on the edges.</figcaption></figure>"
    )


def _edge_svg(edge: Edge, right: float, lane: float, placed: _Placed) -> str:
    ys, yt, label_top, width = placed.ys, placed.yt, placed.label_top, placed.width
    title = f"{edge.kind}: {edge.source} → {edge.target} on {', '.join(edge.ports)}"
    if edge.policies:
        title += f" ({', '.join(edge.policies)})"
    label_mid = label_top + LABEL_H / 2
    # Out along the source's row, along the lane (by the label when it lies outside the
    # span, as for a workload talking to itself), back along the target's row.
    d = f"M{right:.1f},{ys:.1f} H{lane:.1f} V{label_mid:.1f} V{yt:.1f} H{right:.1f}"
    return (
        f'<g class="edge edge-{edge.kind}" data-kind="{edge.kind}" '
        f'data-from="{esc(edge.source)}" data-to="{esc(edge.target)}" '
        f'data-ports="{esc(" ".join(edge.ports))}"><title>{esc(title)}</title>'
        f'<path d="{d}" marker-end="url(#arrow-{edge.kind})"/>'
        f'<rect class="label-bg" x="{lane + 4:.1f}" y="{label_top:.1f}" width="{width:.1f}" '
        f'height="{LABEL_H}" rx="3"/>'
        f'<text x="{lane + 8:.1f}" y="{label_top + 12:.1f}">{esc(edge.label)}</text></g>'
    )
