"""What kube-router v2.1.0 enforces, modelled from its source, and its known departures
from the NetworkPolicy API.

The model follows `pkg/controllers/netpol/{policy,pod}.go` of v2.1.0 rule by rule
(ipsets per policy and rule, one iptables chain per policy, one firewall chain
per pod): a connection S -> T is accepted when T's pod chain and S's pod chain
both mark it. Each departure from the API is one switch (`KNOWN_DIFFERENCES`);
with every switch off the model is the API reference itself, a second,
independent reading of the spec next to our engine.

`api_verdict` is therefore an oracle for our engine on every probed pair, including
those where kube-router departs from the API. A disagreement between our engine and
the real enforcer counts as a known
difference only when all of this holds for that very connection:
* the model with every switch off (the API) gives our engine's verdict;
* the model with every switch on (kube-router) gives what the packets showed;
* turning on the named difference(s) alone is what changes the verdict.

One difference (`named-port-aliasing`) depends on the order in which
kube-router lists pods (a Go map: random per sync), so the model gives the
set of verdicts possible over every order.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tests.integration.realnode.kube_router_differences import KNOWN_DIFFERENCES

ALL = frozenset(KNOWN_DIFFERENCES)
NOTHING: frozenset[str] = frozenset()


class _Verdict(Protocol):
    source: str
    destination: str
    port: int
    protocol: str
    engine: bool
    real: bool


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    labels: Mapping[str, str]
    ip: str
    ports: tuple[tuple[str, str, int], ...]  # (name, protocol, number)


@dataclass
class Cluster:
    namespaces: dict[str, Mapping[str, str]] = field(default_factory=dict)
    pods: list[Pod] = field(default_factory=list)
    policies: list[Mapping[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, objects: Iterable[Mapping[str, Any]]) -> Cluster:
        cluster = cls()
        for obj in objects:
            meta = obj["metadata"]
            if obj["kind"] == "Namespace":
                cluster.namespaces[meta["name"]] = meta.get("labels") or {}
            elif obj["kind"] == "NetworkPolicy":
                cluster.policies.append(obj)
            elif obj["kind"] == "Pod" and obj.get("status", {}).get("podIP"):
                if obj["status"].get("phase") in ("Succeeded", "Failed"):
                    continue
                ports = tuple(
                    (p.get("name", ""), p.get("protocol", "TCP"), int(p["containerPort"]))
                    for c in obj["spec"]["containers"]
                    for p in c.get("ports") or []
                )
                cluster.pods.append(
                    Pod(
                        meta["namespace"],
                        meta["name"],
                        meta.get("labels") or {},
                        obj["status"]["podIP"],
                        ports,
                    )
                )
        return cluster

    def by_ip(self, ip: str) -> Pod:
        return next(p for p in self.pods if p.ip == ip)

    def pod(self, key: str) -> Pod:
        namespace, name = key.split("/")
        return next(p for p in self.pods if (p.namespace, p.name) == (namespace, name))


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Label selector semantics (an empty selector selects everything)."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def possible_verdicts(
    cluster: Cluster, source: str, destination: str, port: int, protocol: str, on: frozenset[str]
) -> set[bool]:
    """Verdicts the model allows for a new connection, with the differences `on` switched on."""
    s, t = cluster.pod(source), cluster.pod(destination)
    low = _allowed(cluster, s, t, port, protocol, on, widest=False)
    if "named-port-aliasing" not in on:
        return {low}
    return {low, _allowed(cluster, s, t, port, protocol, on, widest=True)}


def api_verdict(cluster: Cluster, source: str, destination: str, port: int, protocol: str) -> bool:
    """What the NetworkPolicy API says (the model with no difference switched on)."""
    (allowed,) = possible_verdicts(cluster, source, destination, port, protocol, NOTHING)
    return allowed


def explain_disagreement(objects: Sequence[Mapping[str, Any]], verdict: _Verdict) -> list[str]:
    """The known differences that explain engine != enforcer on `verdict`; [] if none does."""
    cluster = Cluster.of(objects)
    args = (cluster, verdict.source, verdict.destination, verdict.port, verdict.protocol)
    if possible_verdicts(*args, NOTHING) != {verdict.engine}:
        return []  # the API, read independently, does not give our engine's verdict
    if verdict.real not in possible_verdicts(*args, ALL):
        return []  # kube-router did something its modelled behaviour does not give
    alone = [
        name for name in sorted(ALL) if verdict.real in possible_verdicts(*args, frozenset({name}))
    ]
    needed = [
        name for name in sorted(ALL) if verdict.real not in possible_verdicts(*args, ALL - {name})
    ]
    if alone or needed:
        return sorted(set(alone) | set(needed))
    for size in range(2, len(ALL) + 1):  # only several differences together explain it
        together = [
            "+".join(names)
            for names in itertools.combinations(sorted(ALL), size)
            if verdict.real in possible_verdicts(*args, frozenset(names))
        ]
        if together:
            return together
    return []


# -- kube-router's rules -------------------------------------------------------------------


@dataclass
class _Ports:
    """A rule's ports as kube-router keeps them: numeric entries and resolved named ports."""

    match_all: bool
    numeric: list[tuple[str, int | None, int | None]]  # (protocol, port, endPort)
    named: list[tuple[str, int, frozenset[str]]]  # (protocol, number, pod IPs)
    names: list[tuple[str, str]] = field(default_factory=list)  # (name, protocol) as written


def _allowed(
    cluster: Cluster, s: Pod, t: Pod, port: int, protocol: str, on: frozenset[str], widest: bool
) -> bool:
    ingress_ok = egress_ok = None
    has_ingress = has_egress = False
    for policy in cluster.policies:
        types = set(policy["spec"].get("policyTypes") or ["Ingress"])
        targets = _targets(cluster, policy)
        packet = (s.ip, t.ip, port, protocol)
        if t.ip in targets and "Ingress" in types:
            has_ingress = True
            leak = "Egress" in types and "egress-rules-admit-ingress" in on
            if _chain(cluster, policy, targets, packet, on, widest, ingress=True, egress=leak):
                ingress_ok = True
        if s.ip in targets and "Egress" in types:
            has_egress = True
            leak = "Ingress" in types and "ingress-rules-admit-egress" in on
            if _chain(cluster, policy, targets, packet, on, widest, ingress=leak, egress=True):
                egress_ok = True
    return (not has_ingress or bool(ingress_ok)) and (not has_egress or bool(egress_ok))


def _targets(cluster: Cluster, policy: Mapping[str, Any]) -> dict[str, Pod]:
    namespace = policy["metadata"]["namespace"]
    selector = policy["spec"].get("podSelector")
    return {
        p.ip: p for p in cluster.pods if p.namespace == namespace and selects(selector, p.labels)
    }


def _chain(
    cluster: Cluster,
    policy: Mapping[str, Any],
    targets: dict[str, Pod],
    packet: tuple[str, str, int, str],
    on: frozenset[str],
    widest: bool,
    *,
    ingress: bool,
    egress: bool,
) -> bool:
    src, dst, port, protocol = packet
    spec = policy["spec"]
    types = set(spec.get("policyTypes") or ["Ingress"])
    if ingress and "Ingress" in types:
        named_pods = list(targets.values())
        for rule in spec.get("ingress") or []:
            peers = rule.get("from") or []
            pods, blocks = _peers(cluster, policy, peers)
            ports = _ports(rule, named_pods, on, widest)
            if _rule_matches(
                src,
                dst,
                port,
                protocol,
                peers,
                pods,
                blocks,
                ports,
                set(targets),
                on,
                incoming=True,
            ):
                return True
    if egress and "Egress" in types:
        for rule in spec.get("egress") or []:
            peers = rule.get("to") or []
            pods, blocks = _peers(cluster, policy, peers)
            if peers:
                named_pods = [p for p in pods]
            elif "egress-named-port-resolved-in-policy-namespace" in on:
                named_pods = [
                    p for p in cluster.pods if p.namespace == policy["metadata"]["namespace"]
                ]
            else:
                named_pods = list(cluster.pods)
            ports = _ports(rule, named_pods, on, widest)
            if src not in targets:
                continue
            if _rule_matches(
                src,
                dst,
                port,
                protocol,
                peers,
                pods,
                blocks,
                ports,
                None,
                on,
                incoming=False,
                dst_ports=frozenset(cluster.by_ip(dst).ports),
            ):
                return True
    return False


def _rule_matches(
    src: str,
    dst: str,
    port: int,
    protocol: str,
    peers: list[Any],
    pods: list[Pod],
    blocks: list[Mapping[str, Any]],
    ports: _Ports,
    targets: set[str] | None,
    on: frozenset[str],
    *,
    incoming: bool,
    dst_ports: frozenset[tuple[str, str, int]] = frozenset(),
) -> bool:
    """One rule of the policy chain. `incoming`: an ingress rule (peer = source)."""
    peer_ip, own_ip = (src, dst) if incoming else (dst, src)
    own_ok = targets is None or own_ip in targets  # egress: the caller checked the source
    if not own_ok:
        return False
    pod_ips = {p.ip for p in pods}
    no_port_list = not ports.numeric and not ports.named
    if pod_ips and peer_ip in pod_ips:
        if _numeric(ports, port, protocol):
            return True
        if _named(ports, dst, port, protocol):
            return True
        if no_port_list and (ports.match_all or "unresolved-named-port-opens-all-ports" in on):
            return True
    if not peers:
        if ports.match_all or _numeric(ports, port, protocol):
            return True
        if incoming and _named(ports, dst, port, protocol):
            return True
        if not incoming:
            for proto, number, ips in ports.named:
                if (proto, number) == (protocol, port) and (
                    "egress-named-port-resolved-in-policy-namespace" in on or dst in ips
                ):
                    return True
    if blocks and _in_blocks(peer_ip, blocks, on):
        if ports.match_all or _numeric(ports, port, protocol):
            return True
        if incoming and _named(ports, dst, port, protocol):
            return True
        # The API: a named port of an ipBlock destination is that destination pod's port.
        by_name = any(
            (name, protocol, port) in dst_ports for name, proto in ports.names if proto == protocol
        )
        if not incoming and by_name and "egress-named-port-ignored-for-ipblock" not in on:
            return True
    return False


def _numeric(ports: _Ports, port: int, protocol: str) -> bool:
    for proto, first, last in ports.numeric:
        if proto != protocol:
            continue
        if first is None or (first <= port <= (last if last is not None else first)):
            return True
    return False


def _named(ports: _Ports, dst: str, port: int, protocol: str) -> bool:
    return any(
        (proto, number) == (protocol, port) and dst in ips for proto, number, ips in ports.named
    )


def _peers(
    cluster: Cluster, policy: Mapping[str, Any], peers: list[Mapping[str, Any]]
) -> tuple[list[Pod], list[Mapping[str, Any]]]:
    namespace = policy["metadata"]["namespace"]
    pods: list[Pod] = []
    blocks = []
    for peer in peers:
        if "ipBlock" in peer:
            blocks.append(peer["ipBlock"])
            continue
        if "namespaceSelector" in peer:
            spaces = {
                name
                for name, labels in cluster.namespaces.items()
                if selects(peer["namespaceSelector"], labels)
            }
        else:
            spaces = {namespace}
        pods.extend(
            p
            for p in cluster.pods
            if p.namespace in spaces and selects(peer.get("podSelector"), p.labels)
        )
    return pods, blocks


def _ports(
    rule: Mapping[str, Any], named_pods: Sequence[Pod], on: frozenset[str], widest: bool
) -> _Ports:
    raw = rule.get("ports") or []
    if not raw:
        return _Ports(True, [], [])
    entries = _named_entries(named_pods, aliasing="named-port-aliasing" in on and widest)
    numeric: list[tuple[str, int | None, int | None]] = []
    named: list[tuple[str, int, frozenset[str]]] = []
    names: list[tuple[str, str]] = []
    for item in raw:
        protocol = item.get("protocol", "TCP")
        value = item.get("port")
        if value is None:
            numeric.append((protocol, None, None))
        elif isinstance(value, int):
            end = item.get("endPort")
            numeric.append((protocol, value, end if end is not None and end >= value else None))
        else:
            names.append((value, protocol))
            for (name, proto, number), ips in entries.items():
                if (name, proto) == (value, protocol):
                    named.append((proto, number, ips))
    return _Ports(False, numeric, named, names)


def _named_entries(
    pods: Sequence[Pod], *, aliasing: bool
) -> dict[tuple[str, str, int], frozenset[str]]:
    """kube-router's named-port table: (name, protocol, number) -> pod IPs.

    Without aliasing: the pods that declare exactly that port. With aliasing,
    the widest table any listing order gives: the first pod to declare an entry
    lends its address list to every entry it creates, and each later pod that
    shares any of those entries appends its address to that same list.
    """
    own: dict[tuple[str, str, int], set[str]] = {}
    for pod in pods:
        for entry in pod.ports:
            own.setdefault(entry, set()).add(pod.ip)
    if not aliasing:
        return {entry: frozenset(ips) for entry, ips in own.items()}
    wide: dict[tuple[str, str, int], set[str]] = {e: set(ips) for e, ips in own.items()}
    for first in pods:
        sharing = {
            other.ip
            for other in pods
            if other.ip != first.ip and set(other.ports) & set(first.ports)
        }
        for entry in first.ports:
            wide[entry] |= sharing
    return {entry: frozenset(ips) for entry, ips in wide.items()}


def _in_blocks(ip: str, blocks: Sequence[Mapping[str, Any]], on: frozenset[str]) -> bool:
    address = ipaddress.ip_address(ip)
    if "ipblock-except-crosses-peers" not in on:
        return any(
            address in ipaddress.ip_network(b["cidr"])
            and not any(address in ipaddress.ip_network(e) for e in b.get("except") or [])
            for b in blocks
        )
    # One hash:net ipset per rule; the most specific entry containing the address decides.
    entries: dict[ipaddress.IPv4Network, bool] = {}  # network -> nomatch
    for block in blocks:
        for cidr in _halves(block["cidr"]):
            entries[cidr] = False
        for cidr in block.get("except") or []:
            for half in _halves(cidr):
                entries[half] = True
    best = max((net for net in entries if address in net), key=lambda n: n.prefixlen, default=None)
    return best is not None and not entries[best]


def _halves(cidr: str) -> list[ipaddress.IPv4Network]:
    network = ipaddress.ip_network(cidr)
    if network.prefixlen == 0:  # kube-router writes /0 as two /1 entries
        return list(network.subnets(new_prefix=1))  # type: ignore[arg-type]
    return [network]  # type: ignore[list-item]
