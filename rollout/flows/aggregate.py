"""Millions of records down to distinct (source, destination, port, protocol).

`FlowAggregator.add` takes one record at a time, so memory grows with the
number of distinct flows, never with the number of records. Records older
than `since` (the retention window) are counted and left out. A record with
an endpoint that cannot be resolved is aggregated into `unresolved`, with
the reason, and shown to the user: nothing is dropped silently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from rollout.flows.records import FlowRecord, ObservedEndpoint
from rollout.flows.resolve import PodDirectory, Unresolved, describe, order
from rollout.policy.workloads import Workload


@dataclass(frozen=True, slots=True)
class ObservedFlow:
    """One distinct flow: who talked to whom on which port, how often, how lately.

    `source_seen`/`destination_seen` are the endpoints of the latest record
    (with the snapshot's labels added): the replay evaluates them.
    """

    source: Workload
    destination: Workload
    port: int
    protocol: str
    count: int
    first_seen: datetime
    last_seen: datetime
    source_seen: ObservedEndpoint
    destination_seen: ObservedEndpoint

    def describe(self) -> str:
        return (
            f"{describe(self.source)} -> {describe(self.destination)} {self.port}/{self.protocol}"
        )


@dataclass(frozen=True, slots=True)
class UnresolvedFlow:
    """Records whose source or destination could not be tied to a workload."""

    side: str  # "source" | "destination"
    endpoint: str
    reason: str
    peer: str  # the other side, as far as it resolved
    port: int
    protocol: str
    count: int
    last_seen: datetime

    def describe(self) -> str:
        arrow = f"{self.endpoint} -> {self.peer}"
        if self.side == "destination":
            arrow = f"{self.peer} -> {self.endpoint}"
        return f"{arrow} {self.port}/{self.protocol}: {self.side} {self.reason}"


@dataclass(frozen=True)
class Observed:
    flows: tuple[ObservedFlow, ...]  # busiest first
    unresolved: tuple[UnresolvedFlow, ...]
    records: int  # records read (each may stand for `count` connections)
    too_old: int  # records before the retention window
    skipped: dict[str, int]  # records a format skips on purpose, by reason


_Resolved = tuple[Workload, ObservedEndpoint] | Unresolved


class FlowAggregator:
    def __init__(self, directory: PodDirectory, *, since: datetime | None = None) -> None:
        self._directory = directory
        self._since = since
        self._named: dict[ObservedEndpoint, _Resolved] = {}
        self._by_ip: dict[tuple[str, int], _Resolved] = {}
        # key -> [count, first, last, source_seen, destination_seen]
        self._flows: dict[tuple[Workload, Workload, int, str], list[object]] = {}
        self._unresolved: dict[tuple[str, str, str, str, int, str], list[object]] = {}
        self.records = 0
        self.too_old = 0
        self.skipped: Counter[str] = Counter()

    def skip(self, reason: str) -> None:
        self.records += 1
        self.skipped[reason] += 1

    def _resolve(self, endpoint: ObservedEndpoint, when: datetime) -> _Resolved:
        if endpoint.has_pod or not endpoint.ip:
            found = self._named.get(endpoint)
            if found is None:
                found = self._named[endpoint] = self._directory.resolve(endpoint)
            return found
        key = (endpoint.ip, self._directory.epoch(endpoint.ip, when))
        found = self._by_ip.get(key)
        if found is None:
            found = self._by_ip[key] = self._directory.resolve(endpoint, key[1])
        return found

    def add(self, record: FlowRecord) -> None:
        self.records += 1
        when = record.time
        if self._since is not None and when < self._since:
            self.too_old += 1
            return
        src = self._resolve(record.source, when)
        dst = self._resolve(record.destination, when)
        if isinstance(src, Unresolved) or isinstance(dst, Unresolved):
            self._add_unresolved(record, src, dst)
            return
        key = (src[0], dst[0], record.port, record.protocol)
        entry = self._flows.get(key)
        if entry is None:
            self._flows[key] = [record.count, when, when, src[1], dst[1]]
            return
        entry[0] += record.count  # type: ignore[operator]
        if when < entry[1]:  # type: ignore[operator]
            entry[1] = when
        if when >= entry[2]:  # type: ignore[operator]
            entry[2], entry[3], entry[4] = when, src[1], dst[1]

    def _add_unresolved(self, record: FlowRecord, src: _Resolved, dst: _Resolved) -> None:
        side, bad, peer = "source", src, dst
        if not isinstance(src, Unresolved):
            side, bad, peer = "destination", dst, src
        assert isinstance(bad, Unresolved)
        peer_text = peer.endpoint if isinstance(peer, Unresolved) else describe(peer[0])
        key = (side, bad.endpoint, bad.reason, peer_text, record.port, record.protocol)
        entry = self._unresolved.get(key)
        if entry is None:
            self._unresolved[key] = [record.count, record.time]
            return
        entry[0] += record.count  # type: ignore[operator]
        if record.time > entry[1]:  # type: ignore[operator]
            entry[1] = record.time

    def result(self) -> Observed:
        flows = [
            ObservedFlow(k[0], k[1], k[2], k[3], *v)  # type: ignore[arg-type]
            for k, v in self._flows.items()
        ]
        flows.sort(
            key=lambda f: (-f.count, order(f.source), order(f.destination), f.port, f.protocol)
        )
        unresolved = [
            UnresolvedFlow(*k, *v)  # type: ignore[arg-type]
            for k, v in self._unresolved.items()
        ]
        unresolved.sort(key=lambda u: (-u.count, u.endpoint, u.peer, u.port))
        return Observed(
            tuple(flows), tuple(unresolved), self.records, self.too_old, dict(self.skipped)
        )
