"""Endpoint-level matching: does this policy select that endpoint, this peer match it.

The direct, readable form of the semantics, used by `explain` and `lint`. The
bitset engine in `evaluate` computes the same answers per equivalence class;
property tests check the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping

from rollout.policy.ipset import IPSet
from rollout.policy.model import Endpoint, Namespace, Peer, Policy, Rule

ALL_ADDRESSES = IPSet.parse("0.0.0.0/0", "::/0")


def endpoint_addresses(endpoint: Endpoint) -> IPSet:
    return IPSet.parse(*endpoint.ips)


def ip_matches(peer: Peer, endpoint: Endpoint, pod_ip_in_ipblock: bool) -> bool:
    """An ipBlock matches an external CIDR inside it, or a pod with an IP inside it."""
    if peer.ip_block is None or not endpoint.ips:
        return False
    if not endpoint.is_external and not pod_ip_in_ipblock:
        return False
    block = peer.ip_block.addresses
    if endpoint.is_external:
        return endpoint_addresses(endpoint).issubset(block)
    return any(block.contains_address(ip) for ip in endpoint.ips)


def selectable(endpoint: Endpoint) -> bool:
    """Pod and namespace selectors never match external addresses or hostNetwork pods.

    hostNetwork traffic looks like node traffic to most network plugins (the
    behaviour the API reference calls the most common implementation).
    """
    return not endpoint.is_external and not endpoint.host_network


def isolatable(endpoint: Endpoint) -> bool:
    return selectable(endpoint)


def peer_matches(
    peer: Peer,
    policy_namespace: str,
    endpoint: Endpoint,
    namespaces: Mapping[str, Namespace],
    pod_ip_in_ipblock: bool = True,
) -> bool:
    if peer.ip_block is not None:
        return ip_matches(peer, endpoint, pod_ip_in_ipblock)
    if not selectable(endpoint):
        return False
    if peer.namespace_selector is None:
        if endpoint.namespace != policy_namespace:
            return False
    else:
        ns = namespaces.get(endpoint.namespace)
        if ns is None or not peer.namespace_selector.matches(ns.labels):
            return False
    return peer.pod_selector is None or peer.pod_selector.matches(endpoint.labels)


def policy_selects(policy: Policy, endpoint: Endpoint) -> bool:
    return (
        isolatable(endpoint)
        and endpoint.namespace == policy.namespace
        and policy.pod_selector.matches(endpoint.labels)
    )


def rule_allows(
    rule: Rule,
    policy: Policy,
    peer: Endpoint,
    destination: Endpoint,
    port: int,
    protocol: str,
    namespaces: Mapping[str, Namespace],
    pod_ip_in_ipblock: bool = True,
) -> bool:
    """Whether `rule` of `policy` lets `peer` in/out on (port, protocol) to `destination`.

    For ingress, `peer` is the source and `destination` the selected pod; for
    egress, `peer` is the destination. Named ports resolve on `destination`.
    """
    if rule.ports is not None and not any(
        spec.matches(port, protocol, destination.ports) for spec in rule.ports
    ):
        return False
    if rule.peers is None:
        return True
    return any(
        peer_matches(p, policy.namespace, peer, namespaces, pod_ip_in_ipblock) for p in rule.peers
    )
