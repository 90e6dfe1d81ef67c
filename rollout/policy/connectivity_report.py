"""Workload connectivity written as it is computed: chunks of text, row by row.

Each formatter takes the rows of `connectivity.workload_connections` (an
iterator) and yields strings; nothing holds the whole report. Formats:
`table` (`from => to : ports`), `json` (schema in docs/connectivity.md,
`"version": 1`), `csv`, `markdown`, `dot`, and netpol-analyzer's own JSON and
CSV (`src`, `dst`, `conn`) for scripts written against that tool.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator

from rollout.policy.connectivity import WorkloadConnection
from rollout.policy.port_ranges import merge_ranges
from rollout.policy.portset import MAX_PORT, MIN_PORT, PROTOCOLS

SCHEMA_VERSION = 1

Rows = Iterable[WorkloadConnection]


def table(rows: Rows) -> Iterator[str]:
    empty = True
    for r in rows:
        empty = False
        yield f"{r.source} => {r.destination} : {r.ports}\n"
    if empty:
        yield "No connection is allowed.\n"


def as_json(rows: Rows, *, level: str = "workload") -> Iterator[str]:
    yield f'{{"version": {SCHEMA_VERSION}, "level": {json.dumps(level)}, "connections": ['
    sep = "\n  "
    for r in rows:
        item: dict[str, object] = {"from": r.source, "to": r.destination, "ports": r.ports}
        item["port_ranges"] = [
            {"protocol": proto, "first": first, "last": last} for proto, first, last in r.ranges
        ]
        if r.source_addresses is not None:
            item["from_addresses"] = r.source_addresses.to_cidrs()
        if r.destination_addresses is not None:
            item["to_addresses"] = r.destination_addresses.to_cidrs()
        yield sep + json.dumps(item)
        sep = ",\n  "
    yield "\n]}\n"


def as_csv(rows: Rows) -> Iterator[str]:
    yield "from,to,ports\n"
    for r in rows:
        yield _csv_line([r.source, r.destination, r.ports])


def markdown(rows: Rows) -> Iterator[str]:
    yield "| from | to | ports |\n|---|---|---|\n"
    for r in rows:
        yield f"| `{r.source}` | `{r.destination}` | {r.ports} |\n"


def dot(rows: Rows) -> Iterator[str]:
    yield "digraph connectivity {\n  rankdir=LR;\n  node [shape=box];\n"
    for r in rows:
        edge = f"{json.dumps(r.source)} -> {json.dumps(r.destination)}"
        yield f"  {edge} [label={json.dumps(r.ports)}];\n"
    yield "}\n"


# -- netpol-analyzer's formats ---------------------------------------------------


def netpol_analyzer_conn(ranges: Iterable[tuple[str, int, int]]) -> str:
    """netpol-analyzer's `conn`: `All Connections`, or `TCP 53,UDP 53` (protocols sorted)."""
    merged = merge_ranges(ranges)
    if sorted(merged) == sorted((p, MIN_PORT, MAX_PORT) for p in PROTOCOLS):
        return "All Connections"
    by_proto: dict[str, list[str]] = {}
    for proto, first, last in merged:
        by_proto.setdefault(proto, []).append(str(first) if first == last else f"{first}-{last}")
    return ",".join(sorted(f"{proto} {','.join(parts)}" for proto, parts in by_proto.items()))


def _analyzer_items(rows: Rows) -> Iterator[tuple[str, str, str]]:
    for r in rows:
        conn = netpol_analyzer_conn(r.ranges)
        if r.source_addresses is not None:
            for text in r.source_addresses.address_ranges():
                yield text, r.destination, conn
        elif r.destination_addresses is not None:
            for text in r.destination_addresses.address_ranges():
                yield r.source, text, conn
        else:
            yield r.source, r.destination, conn


def netpol_analyzer_json(rows: Rows) -> Iterator[str]:
    yield "["
    sep = "\n  "
    for src, dst, conn in _analyzer_items(rows):
        yield sep + json.dumps({"src": src, "dst": dst, "conn": conn})
        sep = ",\n  "
    yield "\n]\n"


def netpol_analyzer_csv(rows: Rows) -> Iterator[str]:
    yield "src,dst,conn\n"
    for src, dst, conn in _analyzer_items(rows):
        yield _csv_line([src, dst, conn])


def _csv_line(fields: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(fields)
    return out.getvalue()


FORMATS: dict[str, Callable[[Rows], Iterator[str]]] = {
    "table": table,
    "json": as_json,
    "csv": as_csv,
    "markdown": markdown,
    "dot": dot,
}
ANALYZER_FORMATS: dict[str, Callable[[Rows], Iterator[str]]] = {
    "json": netpol_analyzer_json,
    "csv": netpol_analyzer_csv,
}
