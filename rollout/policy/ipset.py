"""IP address sets (IPv4 and IPv6) as integer intervals.

An `ipBlock` is its `cidr` minus every `except` entry. Sets of addresses are
kept as merged intervals per address family, so union, difference, subset
and membership are exact and cheap, and any set can be printed back as CIDRs.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rollout.errors import PolicyError

Interval = tuple[int, int]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

PRIVATE_V4 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


class IPSet:
    """An immutable set of addresses: sorted, merged intervals for v4 and v6."""

    __slots__ = ("_v4", "_v6")

    def __init__(self, v4: Iterable[Interval] = (), v6: Iterable[Interval] = ()) -> None:
        self._v4 = _merge(v4)
        self._v6 = _merge(v6)

    @classmethod
    def of(cls, networks: Iterable[IPNetwork]) -> IPSet:
        v4: list[Interval] = []
        v6: list[Interval] = []
        for net in networks:
            iv = (int(net.network_address), int(net.broadcast_address))
            (v4 if net.version == 4 else v6).append(iv)
        return cls(v4, v6)

    @classmethod
    def parse(cls, *cidrs: str) -> IPSet:
        return cls.of(parse_network(c, "address") for c in cidrs)

    def __bool__(self) -> bool:
        return bool(self._v4 or self._v6)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IPSet) and (self._v4, self._v6) == (other._v4, other._v6)

    def __hash__(self) -> int:
        return hash((self._v4, self._v6))

    def __or__(self, other: IPSet) -> IPSet:
        return IPSet(self._v4 + other._v4, self._v6 + other._v6)

    def __sub__(self, other: IPSet) -> IPSet:
        return IPSet(_subtract(self._v4, other._v4), _subtract(self._v6, other._v6))

    def __and__(self, other: IPSet) -> IPSet:
        return self - (self - other)

    def issubset(self, other: IPSet) -> bool:
        return not (self - other)

    def contains_address(
        self, address: str | ipaddress.IPv4Address | ipaddress.IPv6Address
    ) -> bool:
        addr = ipaddress.ip_address(address) if isinstance(address, str) else address
        intervals = self._v4 if addr.version == 4 else self._v6
        value = int(addr)
        i = bisect.bisect_right(intervals, (value, 1 << 130)) - 1
        return i >= 0 and intervals[i][0] <= value <= intervals[i][1]

    def contains_int(self, value: int, version: int) -> bool:
        intervals = self._v4 if version == 4 else self._v6
        i = bisect.bisect_right(intervals, (value, 1 << 130)) - 1
        return i >= 0 and intervals[i][0] <= value <= intervals[i][1]

    def to_cidrs(self) -> list[str]:
        """The set as the fewest CIDRs, v4 first."""
        out: list[str] = []
        for intervals, cls4 in ((self._v4, True), (self._v6, False)):
            ctor = ipaddress.IPv4Address if cls4 else ipaddress.IPv6Address
            for lo, hi in intervals:
                out.extend(str(n) for n in ipaddress.summarize_address_range(ctor(lo), ctor(hi)))
        return out

    def address_ranges(self) -> list[str]:
        """The set as `first-last` address ranges, v4 first (`0.0.0.0-9.255.255.255`)."""
        out: list[str] = []
        for intervals, ctor in (
            (self._v4, ipaddress.IPv4Address),
            (self._v6, ipaddress.IPv6Address),
        ):
            out.extend(f"{ctor(lo)}-{ctor(hi)}" for lo, hi in intervals)
        return out

    def blocks(self) -> list[tuple[str, tuple[str, ...]]]:
        """The set as few `(cidr, excepts)` pairs: per family, the smallest CIDR
        covering it minus the gaps, when that is shorter than a list of CIDRs."""
        out: list[tuple[str, tuple[str, ...]]] = []
        for intervals, bits in ((self._v4, 32), (self._v6, 128)):
            if not intervals:
                continue
            lo, hi = intervals[0][0], intervals[-1][1]
            prefix = bits - (lo ^ hi).bit_length()
            base = lo >> (bits - prefix) << (bits - prefix)
            hull = ipaddress.ip_network((base, prefix))
            family = IPSet(intervals, ()) if bits == 32 else IPSet((), intervals)
            gaps = IPSet.of([hull]) - family
            plain = family.to_cidrs()
            holes = gaps.to_cidrs()
            if len(holes) < len(plain):
                out.append((str(hull), tuple(holes)))
            else:
                out.extend((c, ()) for c in plain)
        return out

    def describe(self) -> str:
        cidrs = self.to_cidrs()
        return ", ".join(cidrs[:6]) + (f" (+{len(cidrs) - 6} more)" if len(cidrs) > 6 else "")

    def __repr__(self) -> str:
        return f"IPSet({self.describe()})"


@dataclass(frozen=True, slots=True)
class IPBlock:
    """A parsed `ipBlock`: the cidr and its except list, and the resulting set."""

    cidr: str
    excepts: tuple[str, ...] = ()

    @property
    def addresses(self) -> IPSet:
        return _block_set(self.cidr, self.excepts)

    def describe(self) -> str:
        if not self.excepts:
            return self.cidr
        return f"{self.cidr} except {', '.join(self.excepts)}"


@functools.lru_cache(maxsize=65536)
def _block_set(cidr: str, excepts: tuple[str, ...]) -> IPSet:
    # Pure function of its arguments; generated clusters repeat the same blocks.
    return IPSet.parse(cidr) - IPSet.parse(*excepts)


def address_int(text: str) -> tuple[int, int]:
    """(integer value, IP version) of an address; a fast path for dotted IPv4."""
    parts = text.split(".")
    if len(parts) == 4 and all(p.isdigit() and len(p) <= 3 for p in parts):
        a, b, c, d = (int(p) for p in parts)
        if max(a, b, c, d) <= 255:
            return (a << 24) | (b << 16) | (c << 8) | d, 4
    addr = ipaddress.ip_address(text)
    return int(addr), addr.version


def check_address(text: Any, where: str) -> None:
    """Raise PolicyError unless `parse_network` reads `text`; dotted IPv4 checked fast."""
    parts = text.split(".") if isinstance(text, str) else ()
    if len(parts) == 4 and all(
        p.isascii() and p.isdigit() and (p == "0" or p[0] != "0") and int(p) <= 255 for p in parts
    ):
        return
    parse_network(text, where)


def parse_network(text: Any, where: str) -> IPNetwork:
    """Parse a CIDR or single address (as /32 or /128).

    Host bits are tolerated (`10.0.0.1/8` is `10.0.0.0/8`), as the API server does.
    """
    if not isinstance(text, str):
        raise PolicyError(f"{where}: expected a CIDR string such as 10.0.0.0/8, got {text!r}")
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as exc:
        raise PolicyError(f"{where}: {text!r} is not a valid CIDR ({exc})") from exc


def parse_ip_block(raw: Any, where: str) -> IPBlock:
    """Parse an `ipBlock`. Raises PolicyError naming `where` on bad input."""
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: expected a mapping with cidr and except")
    if "cidr" not in raw:
        raise PolicyError(f"{where}.cidr: required")
    net = parse_network(raw["cidr"], f"{where}.cidr")
    excepts_raw = raw.get("except") or []
    if not isinstance(excepts_raw, list):
        raise PolicyError(f"{where}.except: expected a list of CIDRs")
    excepts = []
    for i, item in enumerate(excepts_raw):
        ex = parse_network(item, f"{where}.except[{i}]")
        if ex.version != net.version:
            raise PolicyError(f"{where}.except[{i}]: {ex} is not the same IP family as {net}")
        excepts.append(str(ex))
    return IPBlock(str(net), tuple(excepts))


def _merge(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    out: list[Interval] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def _subtract(base: tuple[Interval, ...], cut: tuple[Interval, ...]) -> list[Interval]:
    out: list[Interval] = []
    j = 0
    for lo, hi in base:
        cur = lo
        while j < len(cut) and cut[j][1] < cur:
            j += 1
        k = j
        while k < len(cut) and cut[k][0] <= hi and cur <= hi:
            clo, chi = cut[k]
            if clo > cur:
                out.append((cur, clo - 1))
            cur = max(cur, chi + 1)
            k += 1
        if cur <= hi:
            out.append((cur, hi))
    return out
