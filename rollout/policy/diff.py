"""Connections opened and closed between two revisions, with the policies responsible.

Both revisions are analysed over the same endpoints (those present in both,
taken with their attributes from each revision) and a common partition into
classes, so rows compare bit for bit. Only classes whose egress or ingress
side changed are re-examined. Every port of every protocol is compared, as
ranges on which both revisions' verdicts are constant, so a change on a
port no policy names (a range tightened from 8443-8450 to 8443-8446) shows
as the range it affects (8447-8450). Egress to and ingress from addresses outside
the cluster are compared as address sets and reported as external peers
(`0.0.0.0/0` style CIDRs), which is what "widens egress to external
addresses" risk rules look at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rollout.policy.evaluate import Analysis, PortKey, iter_bits
from rollout.policy.ipset import IPSet
from rollout.policy.matching import rule_allows
from rollout.policy.model import ClusterModel, Endpoint
from rollout.policy.port_ranges import PortRange, port_segments, range_text
from rollout.policy.workloads import group_workloads


@dataclass(frozen=True, slots=True)
class Connection:
    """One endpoint pair and port whose verdict changed.

    An external peer has an empty namespace, its CIDR as name, and
    `to_labels_or_external` (or `from_labels`, for ingress) set to the CIDR.
    """

    from_ns: str
    from_name: str
    from_labels: Mapping[str, str] | str
    to_ns: str
    to_name: str
    to_labels_or_external: Mapping[str, str] | str
    port: int
    protocol: str
    policies: tuple[str, ...]
    to_namespace_labels: Mapping[str, str] = field(default_factory=dict)
    external_except: tuple[str, ...] = ()  # carved out of the external CIDR peer
    end_port: int | None = None  # the last port of the range `port`..`end_port`

    @property
    def last_port(self) -> int:
        return self.port if self.end_port is None else self.end_port

    @property
    def ports_text(self) -> str:
        """`5432`, `8447-8450` or `all` (every port of the protocol)."""
        return range_text(self.port, self.last_port)

    @property
    def cross_namespace(self) -> bool:
        return self.from_ns != self.to_ns

    @property
    def to_external(self) -> bool:
        return isinstance(self.to_labels_or_external, str)

    @property
    def from_external(self) -> bool:
        return isinstance(self.from_labels, str)

    @property
    def source(self) -> str:
        if self.from_ns:
            return f"{self.from_ns}/{self.from_name}"
        return str(self.from_labels) if self.from_external else self.from_name

    @property
    def destination(self) -> str:
        if self.to_ns:
            return f"{self.to_ns}/{self.to_name}"
        return str(self.to_labels_or_external) if self.to_external else self.to_name


@dataclass(frozen=True)
class ConnectivityDiff:
    opened: list[Connection]
    closed: list[Connection]
    ports: list[tuple[int, int, str]]  # the compared (first, last, protocol) ranges
    added_endpoints: list[str] = field(default_factory=list)
    removed_endpoints: list[str] = field(default_factory=list)
    # Endpoint key (`ns/name`) -> workload key (`ns/name[Kind]`), for workload-level views.
    workload_of: Mapping[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.opened and not self.closed

    def grouped(self, which: str) -> dict[tuple[str, str, str], list[Connection]]:
        """Connections of `opened`/`closed` keyed by (source, destination namespace, port)."""
        out: dict[tuple[str, str, str], list[Connection]] = {}
        for c in getattr(self, which):
            key = (c.source, c.to_ns or "external", f"{c.ports_text}/{c.protocol}")
            out.setdefault(key, []).append(c)
        return out


def connectivity_diff(
    old_model: ClusterModel,
    new_model: ClusterModel,
    ports: Sequence[PortKey] | None = None,
    *,
    pod_ip_in_ipblock: bool = True,
) -> ConnectivityDiff:
    """Connections opened and closed from `old_model` to `new_model`.

    By default every port of every protocol is compared, as the ranges on
    which both revisions' verdicts are constant (see `port_ranges`); a
    connection then covers a port range (`port`..`end_port`), adjacent
    ranges with the same change and policies joined. `ports` restricts the
    comparison to those single ports.
    """
    new_keys = {ep.key for ep in new_model.endpoints}
    old_keys = {ep.key for ep in old_model.endpoints}
    common = [ep.key for ep in new_model.endpoints if ep.key in old_keys]
    old_by_key = {ep.key: ep for ep in old_model.endpoints}
    old_eps = [old_by_key[k] for k in common]
    new_by_key = {ep.key: ep for ep in new_model.endpoints}
    new_eps = [new_by_key[k] for k in common]
    old = Analysis(old_model, pod_ip_in_ipblock=pod_ip_in_ipblock, endpoints=old_eps)
    new = Analysis(
        new_model,
        pod_ip_in_ipblock=pod_ip_in_ipblock,
        endpoints=new_eps,
        discriminators=old.class_of,
    )
    if len(new.classes) != len(old.classes):
        old = Analysis(
            old_model,
            pod_ip_in_ipblock=pod_ip_in_ipblock,
            endpoints=old_eps,
            discriminators=new.class_of,
        )
    ranges: list[PortRange] = (
        port_segments(old_model, new_model)
        if ports is None
        else [(proto, port, port) for port, proto in ports]
    )
    changes: dict[_ChangeKey, list[_Span]] = {}
    for proto, first, last in ranges:
        _diff_port(old, new, proto, first, last, changes)
        _diff_external(old, new, proto, first, last, changes)
    opened: list[Connection] = []
    closed: list[Connection] = []
    for key, spans in _merged(changes):
        (opened if key[0] else closed).extend(_expand(new, key, spans))
    return ConnectivityDiff(
        opened,
        closed,
        [(first, last, proto) for proto, first, last in ranges],
        sorted(new_keys - old_keys),
        sorted(old_keys - new_keys),
        _workload_keys(new.endpoints),
    )


def _workload_keys(endpoints: Sequence[Endpoint]) -> dict[str, str]:
    index = group_workloads(endpoints)
    return {
        ep.key: index.workloads[index.workload_of[i]].key
        for i, ep in enumerate(endpoints)
        if not ep.is_external
    }


# (opened?, source class, destination class, "") for pairs;
# (opened?, class, direction, "cidr|except,...") for external peers.
_ChangeKey = tuple[bool, int, int | str, str]
_Span = tuple[str, int, int, tuple[str, ...]]  # protocol, first, last, policies


def _merged(
    changes: dict[_ChangeKey, list[_Span]],
) -> list[tuple[_ChangeKey, list[_Span]]]:
    """Per change, adjacent ranges with the same policies joined; ordered by first port."""
    out: list[tuple[_ChangeKey, list[_Span]]] = []
    for key, spans in changes.items():
        joined: list[_Span] = []
        for proto, first, last, refs in spans:  # already in port order
            if (
                joined
                and joined[-1][0] == proto
                and joined[-1][2] + 1 == first
                and (joined[-1][3] == refs)
            ):
                joined[-1] = (proto, joined[-1][1], last, refs)
            else:
                joined.append((proto, first, last, refs))
        out.append((key, joined))
    return out


def _expand(a: Analysis, key: _ChangeKey, spans: list[_Span]) -> list[Connection]:
    _, c, other, peer = key
    out: list[Connection] = []
    for proto, first, last, refs in spans:
        if isinstance(other, int):
            for si in a.classes[c].members:
                for di in a.classes[other].members:
                    if si != di:
                        out.append(_connection(a, si, di, first, last, proto, refs))
        else:
            cidr, _, excepts = peer.partition("|")
            ex = tuple(excepts.split(",")) if excepts else ()
            for mi in a.classes[c].members:
                out.append(
                    _external_connection(
                        a, a.endpoints[mi], cidr, ex, other, first, last, proto, refs
                    )
                )
    return out


def _diff_port(
    old: Analysis,
    new: Analysis,
    proto: str,
    port: int,
    last: int,
    found: dict[_ChangeKey, list[_Span]],
) -> None:
    n = len(new.classes)
    old_in, old_out = old.side_bits(port, proto)
    new_in, new_out = new.side_bits(port, proto)
    og_out, ng_out = old.egress_group_of, new.egress_group_of
    og_in, ng_in = old.ingress_group_of, new.ingress_group_of
    egress_changed = [s for s in range(n) if old_out[og_out[s]] != new_out[ng_out[s]]]
    ingress_changed = [d for d in range(n) if old_in[og_in[d]] != new_in[ng_in[d]]]
    changes: dict[tuple[int, int], bool] = {}  # (src, dst) -> opened?
    seen_src = 0
    old_rows = old.rows_for(egress_changed, port, proto)
    new_rows = new.rows_for(egress_changed, port, proto)
    for s in egress_changed:
        seen_src |= 1 << s
        before, after = old_rows[s], new_rows[s]
        for d in iter_bits(after & ~before):
            changes[(s, d)] = True
        for d in iter_bits(before & ~after):
            changes[(s, d)] = False
    old_cols = old.columns_for(ingress_changed, port, proto)
    new_cols = new.columns_for(ingress_changed, port, proto)
    for d in ingress_changed:
        before, after = old_cols[d], new_cols[d]
        for s in iter_bits(after & ~before & ~seen_src):
            changes[(s, d)] = True
        for s in iter_bits(before & ~after & ~seen_src):
            changes[(s, d)] = False
    for (s, d), is_open in sorted(changes.items()):
        if s == d and len(new.classes[s].members) < 2:
            continue  # a pod may always talk to itself
        now, then = (new, old) if is_open else (old, new)
        refs = _responsible(now, then, s, d, port, proto)
        found.setdefault((is_open, s, d, ""), []).append((proto, port, last, refs))


def _diff_external(
    old: Analysis,
    new: Analysis,
    proto: str,
    port: int,
    last: int,
    found: dict[_ChangeKey, list[_Span]],
) -> None:
    for c in new.classes:
        if not c.isolatable and not c.endpoint.host_network:
            continue
        for direction in ("egress", "ingress"):
            reach = old.external_reach(c.index, direction)
            if reach != "some" and reach == new.external_reach(c.index, direction):
                continue  # both all or both none, on every port
            fn_old = old.external_egress if direction == "egress" else old.external_ingress
            fn_new = new.external_egress if direction == "egress" else new.external_ingress
            before, after = fn_old(c.index, port, proto), fn_new(c.index, port, proto)
            if before == after:
                continue
            for gained, now, then, is_open in (
                (after - before, new, old, True),
                (before - after, old, new, False),
            ):
                if not gained:
                    continue
                refs = _external_responsible(now, then, c.index, direction, gained, port, proto)
                for cidr, excepts in gained.blocks():
                    key = (is_open, c.index, direction, f"{cidr}|{','.join(excepts)}")
                    found.setdefault(key, []).append((proto, port, last, refs))


def _connection(
    a: Analysis, si: int, di: int, port: int, last: int, proto: str, refs: tuple[str, ...]
) -> Connection:
    src, dst = a.endpoints[si], a.endpoints[di]
    ns = a.model.namespaces.get(dst.namespace)
    return Connection(
        src.namespace,
        src.name,
        src.ips[0] if src.is_external else dict(src.labels),
        dst.namespace,
        dst.name,
        dst.ips[0] if dst.is_external else dict(dst.labels),
        port,
        proto,
        refs,
        dict(ns.labels) if ns else {},
        end_port=last,
    )


def _external_connection(
    a: Analysis,
    ep: Endpoint,
    cidr: str,
    excepts: tuple[str, ...],
    direction: str,
    port: int,
    last: int,
    proto: str,
    refs: tuple[str, ...],
) -> Connection:
    ns = a.model.namespaces.get(ep.namespace)
    text = f"{cidr} except {', '.join(excepts)}" if excepts else cidr
    if direction == "egress":
        return Connection(
            ep.namespace,
            ep.name,
            dict(ep.labels),
            "",
            cidr,
            text,
            port,
            proto,
            refs,
            {},
            excepts,
            last,
        )
    return Connection(
        "",
        cidr,
        text,
        ep.namespace,
        ep.name,
        dict(ep.labels),
        port,
        proto,
        refs,
        dict(ns.labels) if ns else {},
        excepts,
        last,
    )


def _allowing(a: Analysis, s: int, d: int, port: int, proto: str) -> tuple[set[str], set[str]]:
    """(policies whose rules allow s->d, policies isolating either side)."""
    src, dst = a.classes[s].endpoint, a.classes[d].endpoint
    ingress_pols, _ = a.group_signature(d)
    _, egress_pols = a.group_signature(s)
    allow: set[str] = set()
    isolate: set[str] = set()
    for pols, direction, peer in ((egress_pols, "egress", dst), (ingress_pols, "ingress", src)):
        for pi in pols:
            policy = a.model.policies[pi]
            isolate.add(policy.ref)
            for rule in policy.rules(direction):
                if rule_allows(
                    rule, policy, peer, dst, port, proto, a.model.namespaces, a.pod_ip_in_ipblock
                ):
                    allow.add(policy.ref)
                    break
    return allow, isolate


def _responsible(
    now: Analysis, then: Analysis, s: int, d: int, port: int, proto: str
) -> tuple[str, ...]:
    allow_now, isolate_now = _allowing(now, s, d, port, proto)
    allow_then, isolate_then = _allowing(then, s, d, port, proto)
    refs = (allow_now - allow_then) | (isolate_then - isolate_now)
    return tuple(sorted(refs or allow_now or isolate_now or isolate_then))


def _external_allowing(
    a: Analysis, c: int, direction: str, changed: IPSet, port: int, proto: str
) -> tuple[set[str], set[str]]:
    """(policies whose rules reach the changed addresses, policies isolating the side)."""
    ingress_pols, egress_pols = a.group_signature(c)
    pols = egress_pols if direction == "egress" else ingress_pols
    dst_ports = a.classes[c].endpoint.ports if direction == "ingress" else ()
    allow: set[str] = set()
    for pi in pols:
        policy = a.model.policies[pi]
        for rule in policy.rules(direction):
            if rule.ports is not None and not any(
                sp.matches(port, proto, dst_ports) for sp in rule.ports
            ):
                continue
            if rule.peers is None or any(
                p.ip_block is not None and (p.ip_block.addresses & changed) for p in rule.peers
            ):
                allow.add(policy.ref)
    return allow, {a.model.policies[pi].ref for pi in pols}


def _external_responsible(
    now: Analysis, then: Analysis, c: int, direction: str, changed: IPSet, port: int, proto: str
) -> tuple[str, ...]:
    allow_now, isolate_now = _external_allowing(now, c, direction, changed, port, proto)
    allow_then, isolate_then = _external_allowing(then, c, direction, changed, port, proto)
    refs = (allow_now - allow_then) | (isolate_then - isolate_now)
    return tuple(sorted(refs or allow_now or isolate_now or isolate_then))
