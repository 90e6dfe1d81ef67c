"""Ports and protocols as interval sets, and NetworkPolicy port specs.

A `PortSpec` is one element of a rule's `ports`: protocol (default TCP), an
optional port (a number, or a name resolved against the destination pod's
container ports, protocol included) and an optional `endPort` for ranges.
A `PortSet` is a set of (protocol, port) as sorted intervals per protocol.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rollout.errors import InputError, PolicyError

PROTOCOLS = ("TCP", "UDP", "SCTP")
MIN_PORT, MAX_PORT = 1, 65535
_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")

Interval = tuple[int, int]


@dataclass(frozen=True, slots=True)
class ContainerPort:
    """A port a container declares: number, protocol and optional name."""

    port: int
    protocol: str = "TCP"
    name: str | None = None


@dataclass(frozen=True, slots=True)
class PortSpec:
    """One entry of a rule's `ports` list."""

    protocol: str = "TCP"
    port: int | str | None = None
    end_port: int | None = None

    def numeric(self) -> PortSet | None:
        """The ports as a set when they do not depend on the destination pod."""
        if isinstance(self.port, str):
            return None
        if self.port is None:
            return PortSet({self.protocol: ((MIN_PORT, MAX_PORT),)})
        return PortSet({self.protocol: ((self.port, self.end_port or self.port),)})

    def resolve(self, container_ports: Iterable[ContainerPort]) -> PortSet:
        """The ports this spec allows on a destination with these container ports."""
        fixed = self.numeric()
        if fixed is not None:
            return fixed
        return PortSet.of(
            (cp.port, cp.protocol)
            for cp in container_ports
            if cp.name == self.port and cp.protocol == self.protocol
        )

    def matches(self, port: int, protocol: str, container_ports: Iterable[ContainerPort]) -> bool:
        if protocol != self.protocol:
            return False
        if self.port is None:
            return True
        if isinstance(self.port, int):
            return self.port <= port <= (self.end_port or self.port)
        return any(
            cp.name == self.port and cp.port == port and cp.protocol == protocol
            for cp in container_ports
        )

    def describe(self) -> str:
        if self.port is None:
            return f"any/{self.protocol}"
        if self.end_port is not None:
            return f"{self.port}-{self.end_port}/{self.protocol}"
        return f"{self.port}/{self.protocol}"


class PortSet:
    """An immutable set of (port, protocol), as merged intervals per protocol."""

    __slots__ = ("_by_proto",)

    def __init__(self, by_proto: Mapping[str, Iterable[Interval]] | None = None) -> None:
        merged: dict[str, tuple[Interval, ...]] = {}
        for proto, intervals in (by_proto or {}).items():
            norm = _merge(intervals)
            if norm:
                merged[proto] = norm
        self._by_proto = merged

    @classmethod
    def all(cls) -> PortSet:
        return cls({p: ((MIN_PORT, MAX_PORT),) for p in PROTOCOLS})

    @classmethod
    def of(cls, pairs: Iterable[tuple[int, str]]) -> PortSet:
        acc: dict[str, list[Interval]] = {}
        for port, proto in pairs:
            acc.setdefault(proto, []).append((port, port))
        return cls(acc)

    def __bool__(self) -> bool:
        return bool(self._by_proto)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PortSet) and self._by_proto == other._by_proto

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._by_proto.items())))

    def __contains__(self, item: tuple[int, str]) -> bool:
        port, proto = item
        return any(lo <= port <= hi for lo, hi in self._by_proto.get(proto, ()))

    def __or__(self, other: PortSet) -> PortSet:
        keys = set(self._by_proto) | set(other._by_proto)
        return PortSet({k: self._by_proto.get(k, ()) + other._by_proto.get(k, ()) for k in keys})

    def issubset(self, other: PortSet) -> bool:
        for proto, intervals in self._by_proto.items():
            theirs = other._by_proto.get(proto, ())
            for lo, hi in intervals:
                if not any(tlo <= lo and hi <= thi for tlo, thi in theirs):
                    return False
        return True

    def intervals(self) -> dict[str, tuple[Interval, ...]]:
        return dict(self._by_proto)

    def __repr__(self) -> str:
        parts = [
            f"{lo}-{hi}/{proto}" if lo != hi else f"{lo}/{proto}"
            for proto, ivs in sorted(self._by_proto.items())
            for lo, hi in ivs
        ]
        return f"PortSet({', '.join(parts)})"


def _merge(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    out: list[Interval] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def parse_protocol(raw: Any, where: str) -> str:
    if raw is None:
        return "TCP"
    if raw not in PROTOCOLS:
        raise PolicyError(f"{where}.protocol: {raw!r} is not one of {', '.join(PROTOCOLS)}")
    return str(raw)


def parse_port_spec(raw: Any, where: str) -> PortSpec:
    """Parse one `NetworkPolicyPort`. Raises PolicyError naming `where`."""
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: expected a mapping with protocol, port, endPort")
    protocol = parse_protocol(raw.get("protocol"), where)
    port = raw.get("port")
    end_port = raw.get("endPort")
    if port is None:
        if end_port is not None:
            raise PolicyError(f"{where}.endPort: needs a numeric port")
        return PortSpec(protocol)
    if isinstance(port, bool):
        raise PolicyError(f"{where}.port: expected a number or a port name, got {port!r}")
    if isinstance(port, str):
        if not _PORT_NAME.match(port) or len(port) > 15 or port.isdigit():
            raise PolicyError(
                f"{where}.port: {port!r} is neither a port number nor a valid port name"
            )
        if end_port is not None:
            raise PolicyError(f"{where}.endPort: needs a numeric port, not the name {port!r}")
        return PortSpec(protocol, port)
    if not isinstance(port, int) or not MIN_PORT <= port <= MAX_PORT:
        raise PolicyError(f"{where}.port: {port!r} is out of range {MIN_PORT}-{MAX_PORT}")
    if end_port is not None:
        if isinstance(end_port, bool) or not isinstance(end_port, int):
            raise PolicyError(f"{where}.endPort: expected a number, got {end_port!r}")
        if not MIN_PORT <= end_port <= MAX_PORT:
            raise PolicyError(f"{where}.endPort: {end_port} is out of range 1-65535")
        if end_port < port:
            raise PolicyError(f"{where}.endPort: {end_port} is below port {port}")
    return PortSpec(protocol, port, end_port)


def parse_port_arg(text: str) -> tuple[int, str]:
    """Parse `80`, `80/TCP`, `53/udp` as given on a command line."""
    number, _, proto = text.partition("/")
    proto = (proto or "TCP").upper()
    if proto not in PROTOCOLS or not number.isdigit():
        raise InputError(f"port {text!r}: expected NUMBER[/TCP|UDP|SCTP], e.g. 5432/TCP")
    port = int(number)
    if not MIN_PORT <= port <= MAX_PORT:
        raise InputError(f"port {text!r}: out of range {MIN_PORT}-{MAX_PORT}")
    return port, proto
