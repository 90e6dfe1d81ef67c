"""Seeded generator of NetworkPolicy sets over the differential test's world, and shrinking.

One case is 1-4 policies in the namespaces of one slot of `diff_world`. Every
feature of the API the enforcer has to get right can appear: pod and namespace
selectors (matchLabels and matchExpressions with In, NotIn, Exists,
DoesNotExist), rules with and without peers or ports, numeric, named and
protocol-only ports, endPort ranges, ipBlocks with `except` over pod IPs
(including 0.0.0.0/0), ingress and egress, every `policyTypes` shape
(omitted, Ingress, Egress, both), and several policies on one pod.

Why not hypothesis: a real case costs an apply, an enforcer sync and a round of
real connections (about a second), and cases are run in batches (one per slot,
all applied at once) to reach thousands of cases in minutes; hypothesis runs
one example per call and shrinks by re-running the test many times. So cases
come from `random.Random(seed)` (a failing case is replayed from its seed),
and `shrink_candidates` gives hypothesis-style simpler variants (fewer
policies, rules, peers, ports, expressions) that the test tries on the real
node, keeping each one that still disagrees.
"""

from __future__ import annotations

import copy
import ipaddress
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tests.integration.realnode.diff_world import NAMESPACES, PODS

Policy = dict[str, Any]

POD_LABEL_VALUES = {"app": ["web", "api", "db", "nope"], "role": ["front", "back"]}
NS_LABEL_VALUES = {"team": ["alpha", "beta", "gamma"], "env": ["prod", "dev"], "tier": ["one"]}
PORT_NAMES = ["http", "admin", "dns", "nope"]
NUMBERS = [80, 81, 8080, 8081, 53]
RANGES = [(80, 81), (79, 80), (8080, 8081), (81, 8080), (53, 8080)]


@dataclass(frozen=True)
class Case:
    """`policies` (manifests) generated from `seed` for `slot` of a world."""

    number: int
    seed: int
    slot: int
    policies: tuple[Policy, ...]


def generate_case(
    number: int, seed: int, slot: int, namespace_of: dict[str, str], ips: Sequence[str]
) -> Case:
    """Case `number` of the run with `seed`; `namespace_of` maps role a/b/c to namespaces."""
    rng = random.Random(seed * 1_000_003 + number)
    count = rng.choice([1, 1, 2, 2, 3, 4])
    policies = tuple(
        _policy(rng, f"c{number:06d}-p{i}", namespace_of[rng.choice(sorted(NAMESPACES))], ips)
        for i in range(count)
    )
    return Case(number, seed, slot, policies)


def _policy(rng: random.Random, name: str, namespace: str, ips: Sequence[str]) -> Policy:
    spec: dict[str, Any] = {"podSelector": _selector(rng, POD_LABEL_VALUES, empty_weight=3)}
    shape = rng.choice(["omitted", "Ingress", "Ingress", "Egress", "Egress", "both", "both"])
    ingress = shape in ("omitted", "Ingress", "both") or rng.random() < 0.1
    egress = shape in ("Egress", "both") or (shape == "omitted" and rng.random() < 0.5)
    if shape != "omitted":
        spec["policyTypes"] = {"Ingress": ["Ingress"], "Egress": ["Egress"]}.get(
            shape, ["Ingress", "Egress"]
        )
    if ingress and rng.random() < 0.85:
        spec["ingress"] = [_rule(rng, "from", ips) for _ in range(rng.choice([1, 1, 2]))]
    if egress and rng.random() < 0.85:
        spec["egress"] = [_rule(rng, "to", ips) for _ in range(rng.choice([1, 1, 2]))]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def _selector(
    rng: random.Random, values: dict[str, list[str]], empty_weight: int = 1
) -> dict[str, Any]:
    kind = rng.choice(["empty"] * empty_weight + ["labels", "expressions", "both"])
    selector: dict[str, Any] = {}
    if kind in ("labels", "both"):
        key = rng.choice(sorted(values))
        selector["matchLabels"] = {key: rng.choice(values[key])}
    if kind in ("expressions", "both"):
        expressions = []
        for _ in range(rng.choice([1, 1, 2])):
            key = rng.choice(sorted(values))
            operator = rng.choice(["In", "NotIn", "Exists", "DoesNotExist"])
            expression: dict[str, Any] = {"key": key, "operator": operator}
            if operator in ("In", "NotIn"):
                expression["values"] = sorted(
                    rng.sample(values[key], min(len(values[key]), rng.choice([1, 2])))
                )
            expressions.append(expression)
        selector["matchExpressions"] = expressions
    return selector


def _rule(rng: random.Random, peer_key: str, ips: Sequence[str]) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    if rng.random() < 0.75:
        rule[peer_key] = [_peer(rng, ips) for _ in range(rng.choice([1, 1, 2]))]
    if rng.random() < 0.7:
        rule["ports"] = [_port(rng) for _ in range(rng.choice([1, 1, 2]))]
    return rule


def _peer(rng: random.Random, ips: Sequence[str]) -> dict[str, Any]:
    kind = rng.choice(["pods", "namespaces", "both", "both", "ipBlock", "ipBlock"])
    if kind == "ipBlock":
        return {"ipBlock": _ip_block(rng, ips)}
    peer: dict[str, Any] = {}
    if kind in ("pods", "both"):
        peer["podSelector"] = _selector(rng, POD_LABEL_VALUES)
    if kind in ("namespaces", "both"):
        peer["namespaceSelector"] = _selector(rng, NS_LABEL_VALUES)
    return peer


def _ip_block(rng: random.Random, ips: Sequence[str]) -> dict[str, Any]:
    """A CIDR around one of the case's pod IPs, except some of the others inside it."""
    anchor = ipaddress.ip_address(rng.choice(list(ips)))
    prefix = rng.choice([0, 24, 28, 29, 30, 31, 32, 32])
    network = ipaddress.ip_network(f"{anchor}/{prefix}", strict=False)
    block: dict[str, Any] = {"cidr": str(network)}
    inside = [ip for ip in ips if ipaddress.ip_address(ip) in network]
    if prefix < 32 and rng.random() < 0.6:
        excepts = set()
        for ip in rng.sample(inside, min(len(inside), rng.choice([1, 1, 2]))):
            sub = ipaddress.ip_network(f"{ip}/{rng.choice([32, 32, 31])}", strict=False)
            if sub.prefixlen > network.prefixlen:
                excepts.add(str(sub))
        if excepts:
            block["except"] = sorted(excepts)
    return block


def _port(rng: random.Random) -> dict[str, Any]:
    port: dict[str, Any] = {}
    kind = rng.choice(["number", "number", "named", "named", "range", "protocol"])
    protocol = rng.choice([None, "TCP", "TCP", "UDP"])
    if protocol:
        port["protocol"] = protocol
    if kind == "number":
        port["port"] = rng.choice(NUMBERS)
    elif kind == "named":
        port["port"] = rng.choice(PORT_NAMES)
    elif kind == "range":
        first, last = rng.choice(RANGES)
        port["port"], port["endPort"] = first, last
    elif not protocol:
        port["protocol"] = "UDP"
    return port


def pod_labels() -> dict[tuple[str, str], dict[str, str]]:
    return {key: labels for key, (labels, _) in PODS.items()}


# -- shrinking ---------------------------------------------------------------------


def shrink_candidates(policies: Sequence[Policy]) -> Iterator[list[Policy]]:
    """Simpler variants of `policies`, simplest changes first (one change each)."""
    for i in range(len(policies)):
        yield [p for j, p in enumerate(policies) if j != i]
    for i, policy in enumerate(policies):
        for smaller in _smaller_policy(policy):
            yield [*policies[:i], smaller, *policies[i + 1 :]]


def _smaller_policy(policy: Policy) -> Iterator[Policy]:
    spec = policy["spec"]
    for direction, peer_key in (("ingress", "from"), ("egress", "to")):
        rules = spec.get(direction) or []
        for r, rule in enumerate(rules):
            yield _with_rules(policy, direction, [x for k, x in enumerate(rules) if k != r])
            for field_name in (peer_key, "ports"):
                items = rule.get(field_name) or []
                if len(items) > 1:
                    for k in range(len(items)):
                        smaller = copy.deepcopy(rule)
                        smaller[field_name] = [x for m, x in enumerate(items) if m != k]
                        yield _with_rule(policy, direction, r, smaller)
                for k, item in enumerate(items):
                    for simpler in _simpler_item(item):
                        smaller = copy.deepcopy(rule)
                        smaller[field_name][k] = simpler
                        yield _with_rule(policy, direction, r, smaller)
    for simpler in _simpler_selector(spec["podSelector"]):
        shrunk = copy.deepcopy(policy)
        shrunk["spec"]["podSelector"] = simpler
        yield shrunk


def _simpler_item(item: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("podSelector", "namespaceSelector"):
        if key in item and len(item) > 1:
            yield {k: v for k, v in item.items() if k != key}
        if key in item:
            for simpler in _simpler_selector(item[key]):
                yield {**item, key: simpler}
    if "ipBlock" in item and item["ipBlock"].get("except"):
        excepts = item["ipBlock"]["except"]
        for k in range(len(excepts)):
            rest = [x for m, x in enumerate(excepts) if m != k]
            block = {"cidr": item["ipBlock"]["cidr"], **({"except": rest} if rest else {})}
            yield {"ipBlock": block}


def _simpler_selector(selector: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "matchLabels" in selector:
        yield {k: v for k, v in selector.items() if k != "matchLabels"}
    expressions = selector.get("matchExpressions") or []
    for k in range(len(expressions)):
        rest = [x for m, x in enumerate(expressions) if m != k]
        simpler = {key: v for key, v in selector.items() if key != "matchExpressions"}
        if rest:
            simpler["matchExpressions"] = rest
        yield simpler


def _with_rules(policy: Policy, direction: str, rules: list[dict[str, Any]]) -> Policy:
    shrunk = copy.deepcopy(policy)
    shrunk["spec"][direction] = rules
    if not rules:
        del shrunk["spec"][direction]
    return shrunk


def _with_rule(policy: Policy, direction: str, index: int, rule: dict[str, Any]) -> Policy:
    shrunk = copy.deepcopy(policy)
    shrunk["spec"][direction][index] = rule
    return shrunk
