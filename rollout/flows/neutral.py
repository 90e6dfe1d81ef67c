"""The neutral flow format: CSV or JSON lines with six fields.

    time,source,destination,port,protocol,count
    2026-12-03T02:14:00Z,batch/report-job-28512-x7k2p,database/postgres-0,5432,TCP,1204
    2026-12-03T02:15:00Z,10.0.3.17,203.0.113.9,443,TCP,3

`time` is RFC 3339 (a bare time is UTC) or Unix seconds; `source` and
`destination` are `NAMESPACE/POD` or an IP address; `port` 1-65535;
`protocol` TCP, UDP or SCTP (default TCP); `count` connections (default 1).
A CSV file starts with this header (columns in any order; others are
ignored). A JSON line is an object with the same keys (`port` and `count`
may be numbers). VPC flow logs, conntrack dumps or Calico flow logs convert
with one line of awk or jq (docs/observed-flows.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from rollout.errors import InputError
from rollout.flows.records import PROTOCOLS, FlowRecord, ObservedEndpoint

FIELDS = ("time", "source", "destination", "port", "protocol", "count")
REQUIRED = ("time", "source", "destination", "port")


def parse_neutral(row: Mapping[str, Any], where: str) -> FlowRecord:
    """One neutral record; InputError naming `where` and the field otherwise."""
    for name in REQUIRED:
        if row.get(name) in (None, ""):
            raise InputError(f"{where}: {name!r} is required ({', '.join(FIELDS)})")
    port = _int(row["port"], f"{where}: port")
    if not 0 < port < 65536:
        raise InputError(f"{where}: port: expected 1-65535, got {port}")
    protocol = str(row.get("protocol") or "TCP").upper()
    if protocol not in PROTOCOLS:
        raise InputError(f"{where}: protocol: expected TCP, UDP or SCTP, got {protocol!r}")
    raw_count = row.get("count")
    count = 1 if raw_count in (None, "") else _int(raw_count, f"{where}: count")
    if count < 1:
        raise InputError(f"{where}: count: expected a positive number, got {count}")
    return FlowRecord(
        time=parse_time(row["time"], f"{where}: time"),
        source=_endpoint(str(row["source"]), f"{where}: source"),
        destination=_endpoint(str(row["destination"]), f"{where}: destination"),
        port=port,
        protocol=protocol,
        count=count,
    )


def csv_row_parser(header: Sequence[str], source: str) -> Callable[[list[str], int], FlowRecord]:
    """A parser for rows of a CSV file with `header`: the fast path for millions of rows.

    A row it cannot take as it is goes through `parse_neutral`, whose error
    names `source:line` and the field.
    """
    columns = {name.strip(): i for i, name in enumerate(header)}
    it, isrc, idst, iport = (columns[name] for name in REQUIRED)
    iproto, icount = columns.get("protocol"), columns.get("count")

    def parse(row: list[str], line: int) -> FlowRecord:
        try:
            port = int(row[iport])
            protocol = (row[iproto] if iproto is not None else "").upper() or "TCP"
            count = int(row[icount]) if icount is not None and row[icount] else 1
            when = _cached_time(row[it])
            src, dst = _parse_endpoint(row[isrc].strip()), _parse_endpoint(row[idst].strip())
            if (
                when is not None
                and src is not None
                and dst is not None
                and 0 < port < 65536
                and protocol in PROTOCOLS
                and count > 0
            ):
                return FlowRecord(when, src, dst, port, protocol, count)
        except (ValueError, IndexError):
            pass
        named = dict(zip((h.strip() for h in header), row, strict=False))
        return parse_neutral(named, f"{source}:{line}")

    return parse


@lru_cache(maxsize=8192)  # records of one second (or minute) share their time
def _cached_time(raw: str) -> datetime | None:
    try:
        return parse_time(raw, "")
    except InputError:
        return None


def parse_time(raw: Any, where: str) -> datetime:
    """RFC 3339 (naive means UTC) or Unix seconds, as an aware datetime."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return datetime.fromtimestamp(raw, UTC)
    text = str(raw).strip()
    try:
        if text.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(text), UTC)
        found = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise InputError(f"{where}: {text!r} is not an RFC 3339 time or Unix seconds") from None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def _int(raw: Any, where: str) -> int:
    if isinstance(raw, bool):
        raise InputError(f"{where}: expected a whole number")
    if isinstance(raw, int):
        return raw
    try:
        return int(str(raw).strip())
    except ValueError:
        raise InputError(f"{where}: expected a whole number, got {raw!r}") from None


def _endpoint(text: str, where: str) -> ObservedEndpoint:
    found = _parse_endpoint(text.strip())
    if found is None:
        raise InputError(f"{where}: expected NAMESPACE/POD or an IP address, got {text!r}")
    return found


@lru_cache(maxsize=65536)  # files repeat the same endpoints millions of times
def _parse_endpoint(text: str) -> ObservedEndpoint | None:
    if "/" in text:
        namespace, _, pod = text.partition("/")
        if not namespace or not pod or "/" in pod:
            return None
        return ObservedEndpoint(namespace=namespace, pod=pod)
    if not text or not (":" in text or text.replace(".", "").isdigit()):
        return None
    return ObservedEndpoint(ip=text)
