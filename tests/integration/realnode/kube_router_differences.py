"""kube-router v2.1.0's known departures from the NetworkPolicy API.

Each was found on real packets (the shared reference notes, and the
differential test for the last one), confirmed in kube-router's source
(`pkg/controllers/netpol/policy.go`, `pod.go`), is a switch of
`kube_router_model`, and has a minimal case asserted on the real node in
`test_kube_router_departs_from_the_api_in_known_ways.py`. docs/real-node.md
lists them.
"""

from __future__ import annotations

# name -> (what kube-router v2.1.0 does, the API text it departs from: k8s.io/api
# networking/v1 types.go, the text of the NetworkPolicy API reference)
KNOWN_DIFFERENCES: dict[str, tuple[str, str]] = {
    "egress-rules-admit-ingress": (
        "a policy with policyTypes [Ingress, Egress] puts its ingress and egress rules in one "
        "chain that both directions run, so its egress rules also admit traffic INTO its pods "
        "(from another of its pods) that its ingress rules do not allow",
        "ingress: Traffic is allowed to a pod if there are no NetworkPolicies selecting the "
        "pod ..., OR if the traffic matches at least one ingress rule across all of the "
        "NetworkPolicy objects whose podSelector matches the pod.",
    ),
    "ingress-rules-admit-egress": (
        "the mirror: a policy with both policyTypes lets its ingress rules admit traffic OUT "
        "of its pods (to another of its pods) that its egress rules do not allow",
        "egress: Outgoing traffic is allowed if there are no NetworkPolicies selecting the "
        "pod ..., OR if the traffic matches at least one egress rule across all of the "
        "NetworkPolicy objects whose podSelector matches the pod.",
    ),
    "unresolved-named-port-opens-all-ports": (
        "a rule with pod peers whose ports are only named ports that no pod resolves gets "
        "no port list at all, and a rule without ports matches every port",
        "ports: If this field is present and contains at least one item, then this rule "
        "allows traffic only if the traffic matches at least one port in the list.",
    ),
    "egress-named-port-resolved-in-policy-namespace": (
        "an egress rule without `to` resolves a named port on the pods of the policy's own "
        "namespace and allows the resulting numbers to every destination",
        "port represents the port on the given protocol. This can either be a numerical or "
        "named port on a pod. (A named port is the destination pod's own port of that name.)",
    ),
    "named-port-aliasing": (
        "pods listed after one that declares several named ports share its address list, "
        "so a pod can be allowed on a number another pod gives a port name it shares",
        "port represents the port on the given protocol. This can either be a numerical or "
        "named port on a pod. If present, only traffic on the specified protocol AND port "
        "will be matched.",
    ),
    "ipblock-except-crosses-peers": (
        "all ipBlocks of one rule go into one ipset, `except` entries as nomatch, so one "
        "peer's except also removes addresses another peer of the same rule allows",
        "from/to: Items in this list are combined using a logical OR operation. IPBlock: "
        "The except entry describes CIDRs that should not be included within this rule "
        "(within that IPBlock: except is a slice of CIDRs that should not be included "
        "within an IPBlock).",
    ),
    "egress-named-port-ignored-for-ipblock": (
        "in an egress rule, named ports are applied to its pod peers only: a destination "
        "reached through an ipBlock peer is never allowed on a named port",
        "to: Items in this list are combined using a logical OR operation. port ... can "
        "either be a numerical or named port on a pod.",
    ),
}

# Not a steady state, so not a switch of the model: the differential test probes a
# batch again when a sync overlapped its probes.
TRANSIENT_DIFFERENCES: dict[str, tuple[str, str]] = {
    "named-port-sets-swapped-during-sync": (
        "every full sync (on any policy, pod or namespace event, and every 5 minutes) "
        "restores the ipsets before the iptables rules; named-port ipsets are numbered in "
        "the random order of a Go map, so for a moment a rule for one port number matches "
        "the pods of another number (and some allowed connections are refused)",
        "port represents the port on the given protocol. This can either be a numerical or "
        "named port on a pod. If present, only traffic on the specified protocol AND port "
        "will be matched.",
    ),
}
