"""Reading observed flow files: paths, globs and HTTP URLs, streamed line by line.

The adapter of `rollout.flows`: it decodes lines and hands each record to a
`FlowAggregator`, so memory stays bounded by the number of distinct flows
whatever the size of the files. Formats are recognised per source: `.csv`
(or a `text/csv` response) is the neutral CSV; anything else is JSON lines,
Hubble's (`{"flow": {...}}`) or the neutral format's, told apart by the
first object. Files ending `.gz` (rotated Hubble exporter files) are read
compressed. Errors name the source and line.
"""

from __future__ import annotations

import csv
import glob
import gzip
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import requests

from rollout.errors import InputError
from rollout.flows.aggregate import FlowAggregator
from rollout.flows.hubble import parse_hubble
from rollout.flows.neutral import csv_row_parser, parse_neutral

HTTP_TIMEOUT = 30.0
# Keys of Hubble's GetFlowsResponse (and of a bare flow) that the neutral format lacks.
_HUBBLE_KEYS = frozenset(
    {"flow", "verdict", "IP", "node_name", "lost_events", "node_status", "agent_event"}
)


def expand(sources: Sequence[str], *, base: Path | None = None) -> list[str]:
    """Paths, glob matches (sorted) and URLs, in the order given.

    Relative paths are taken from `base` when given. Raises InputError for a
    path that does not exist or a glob that matches nothing.
    """
    found: list[str] = []
    for source in sources:
        if source.startswith(("http://", "https://")):
            found.append(source)
            continue
        path = Path(source).expanduser()
        if base is not None and not path.is_absolute():
            path = base / path
        if any(ch in source for ch in "*?["):
            matches = sorted(glob.glob(str(path), recursive=True))
            if not matches:
                raise InputError(f"observed flows: {source!r} matches no file")
            found += matches
        elif not path.is_file():
            raise InputError(f"observed flows: {path} does not exist or is not a file")
        else:
            found.append(str(path))
    return found


def read_into(
    aggregator: FlowAggregator, sources: Iterable[str], *, session: requests.Session | None = None
) -> None:
    """Feed every record of every source (already `expand`ed) to `aggregator`."""
    for source in sources:
        if source.startswith(("http://", "https://")):
            _read_url(aggregator, source, session or requests.Session())
        else:
            opener = gzip.open if source.endswith(".gz") else open
            try:
                with opener(source, "rt", encoding="utf-8", newline="") as stream:
                    _read_stream(aggregator, stream, source, source.removesuffix(".gz"))
            except OSError as exc:
                raise InputError(f"observed flows: cannot read {source}: {exc}") from exc
            except UnicodeDecodeError as exc:
                raise InputError(f"observed flows: {source} is not UTF-8 text ({exc})") from exc


def _read_url(aggregator: FlowAggregator, url: str, session: requests.Session) -> None:
    try:
        with session.get(url, stream=True, timeout=HTTP_TIMEOUT) as response:
            if response.status_code != 200:
                raise InputError(
                    f"observed flows: {url} answered HTTP {response.status_code} "
                    f"(expected 200 with the flow file)"
                )
            kind = response.headers.get("Content-Type", "")
            name = url.split("?", 1)[0]
            if "csv" in kind and not name.endswith(".csv"):
                name += ".csv"
            response.encoding = response.encoding or "utf-8"
            lines = response.iter_lines(decode_unicode=True)
            _read_stream(aggregator, (f"{line}\n" for line in lines), url, name)
    except requests.RequestException as exc:
        raise InputError(f"observed flows: cannot fetch {url}: {exc}") from exc


def _read_stream(aggregator: FlowAggregator, stream: Iterable[str], source: str, name: str) -> None:
    if name.endswith(".csv"):
        _read_csv(aggregator, stream, source)
    else:
        _read_json_lines(aggregator, stream, source)


def _read_csv(aggregator: FlowAggregator, stream: Iterable[str], source: str) -> None:
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None:
        return
    missing = {"time", "source", "destination", "port"} - {h.strip() for h in header}
    if missing:
        raise InputError(
            f"{source}:1: CSV header lacks {', '.join(sorted(missing))} "
            "(expected time,source,destination,port,protocol,count)"
        )
    parse = csv_row_parser(header, source)
    add = aggregator.add
    for row in reader:
        if row:
            add(parse(row, reader.line_num))


def _read_json_lines(aggregator: FlowAggregator, stream: Iterable[str], source: str) -> None:
    hubble: bool | None = None
    add = aggregator.add
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not JSON ({exc.msg})") from None
        if hubble is None:
            hubble = isinstance(obj, dict) and not _HUBBLE_KEYS.isdisjoint(obj)
        if hubble:
            found = parse_hubble(obj, where)
            if isinstance(found, str):
                aggregator.skip(found)
            else:
                add(found)
        elif isinstance(obj, dict):
            add(parse_neutral(obj, where))
        else:
            raise InputError(f"{where}: expected a JSON object per line")
