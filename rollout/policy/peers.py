"""Which namespaces' pods an analysis of some policies needs. PURE.

Linting or diffing policies against a cluster needs more than the managed
namespaces: a policy that allows DNS to kube-system or ingress from the
ingress controller's namespace is judged by the pods there. The service
reads the Namespaces first, asks `peer_namespaces`, then reads pods and
Services of exactly those.
"""

from __future__ import annotations

from collections.abc import Iterable

from rollout.policy.model import ClusterModel

__all__ = ["peer_namespaces"]


def peer_namespaces(model: ClusterModel, managed: Iterable[str] = ()) -> list[str]:
    """`managed`, the namespaces of `model`'s policies, and every namespace a peer may select.

    A peer with a namespaceSelector selects the namespaces (in `model`) whose
    labels match; one without selects in its policy's namespace; a rule
    without peers (all sources or destinations) selects every namespace.
    ipBlock peers select no namespace. Sorted.
    """
    every = set(model.namespaces)
    wanted = set(managed)
    for policy in model.policies:
        wanted.add(policy.namespace)
        for rule in (*policy.rules("ingress"), *policy.rules("egress")):
            if rule.peers is None:
                return sorted(every | wanted)
            for peer in rule.peers:
                if peer.ip_block is not None:
                    continue
                if peer.namespace_selector is None:
                    wanted.add(policy.namespace)
                    continue
                wanted.update(
                    name
                    for name, ns in model.namespaces.items()
                    if peer.namespace_selector.matches(ns.labels)
                )
    return sorted(wanted)
