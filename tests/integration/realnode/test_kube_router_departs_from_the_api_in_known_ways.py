"""kube-router v2.1.0's known departures from the NetworkPolicy API, each as a minimal case
on real packets: the enforcer does X (asserted on the probes), the API says Y (asserted
on our engine, with the API text cited from k8s.io/api networking/v1 types.go).

These are the differences the differential test accepts
(`kube_router_model.KNOWN_DIFFERENCES`); docs/real-node.md lists them. If kube-router
is upgraded and one of them is fixed, its test here fails: then drop it from the list.
"""

from __future__ import annotations

import ipaddress
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from rollout.devcluster.real_node import RealNode
from tests.harness.apiserver import ApiServer
from tests.integration.realnode.diff_world import World, start_world
from tests.integration.realnode.differential import Runner, Verdict
from tests.integration.realnode.kube_router_differences import TRANSIENT_DIFFERENCES
from tests.integration.realnode.kube_router_model import KNOWN_DIFFERENCES, explain_disagreement
from tests.integration.realnode.pod_sockets import Probe, probe_many

pytestmark = [pytest.mark.integration, pytest.mark.realnode]

# The world (diff_world, one slot): namespaces a (team=alpha), b (team=beta), c (team=gamma);
#   a/p0 app=web  http 80, admin 81        a/p1 app=api  http 8080, dns 53/UDP
#   b/p0 app=web  http 80, admin 8081, dns 53/UDP      b/p1 app=db  (no ports)
#   c/p0 app=api  http 8080, admin 81, dns 8080/UDP    c/p1 app=web admin 8081, dns 53/UDP


@pytest.fixture(scope="module")
def world(real_node: RealNode, real_node_apiserver: ApiServer) -> Iterator[World]:
    built = start_world(real_node, real_node_apiserver, f"k{uuid.uuid4().hex[:4]}-", 1)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def run(real_node: RealNode, real_node_apiserver: ApiServer, world: World) -> Any:
    runner = Runner(real_node, real_node_apiserver, world)

    def apply_and_probe(*policies: tuple[str, str, dict[str, Any]]) -> Probed:
        manifests = [
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": name, "namespace": world.namespace(0, role)},
                "spec": spec,
            }
            for role, name, spec in policies
        ]
        result = runner.run_batch(manifests, [0])
        return Probed(world, result.verdicts, result.objects)

    yield apply_and_probe
    runner.apply([])


class Probed:
    def __init__(self, world: World, verdicts: list[Verdict], objects: list[Any]) -> None:
        self.world = world
        self.objects = objects
        self._by = {(v.source, v.destination, v.port, v.protocol): v for v in verdicts}

    def __call__(self, source: str, destination: str, port: int, protocol: str = "TCP") -> Verdict:
        def key(short: str) -> str:
            role, pod = short.split("/")
            return f"{self.world.namespace(0, role)}/{pod}"

        return self._by[(key(source), key(destination), port, protocol)]

    def ip(self, short: str) -> str:
        role, pod = short.split("/")
        return next(p.ip for p in self.world.pods[0] if p.key.endswith(f"-{role}/{pod}"))

    def known(self, verdict: Verdict) -> list[str]:
        return explain_disagreement(self.objects, verdict)


def _api(name: str) -> str:
    return KNOWN_DIFFERENCES[name][1]


def test_egress_rules_of_a_two_way_policy_admit_ingress(run: Any) -> None:
    """API: "Traffic is allowed to a pod if ... the traffic matches at least one ingress rule
    across all of the NetworkPolicy objects whose podSelector matches the pod": a/p1 is
    isolated for ingress with no ingress rule, so a/p0 -> a/p1 is denied. kube-router runs
    the policy's egress rule (allow all) for a/p1's ingress too and lets it through."""
    probed = run(
        (
            "a",
            "both-ways",
            {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [{}]},
        )
    )

    leak = probed("a/p0", "a/p1", 80)
    assert (leak.engine, leak.real) == (False, True), _api("egress-rules-admit-ingress")
    assert "egress-rules-admit-ingress" in probed.known(leak)
    outside = probed("b/p0", "a/p1", 80)  # b/p0 is not selected: no leak, both deny
    assert (outside.engine, outside.real) == (False, False)


def test_ingress_rules_of_a_two_way_policy_admit_egress(run: Any) -> None:
    """API: "Outgoing traffic is allowed if ... the traffic matches at least one egress rule
    across all of the NetworkPolicy objects whose podSelector matches the pod": a/p0 has no
    egress rule, so a/p0 -> a/p1 is denied. kube-router lets the ingress rule admit it."""
    probed = run(
        (
            "a",
            "both-ways",
            {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [{}]},
        )
    )

    leak = probed("a/p0", "a/p1", 80)
    assert (leak.engine, leak.real) == (False, True), _api("ingress-rules-admit-egress")
    assert "ingress-rules-admit-egress" in probed.known(leak)
    outside = probed("a/p0", "b/p0", 80)
    assert (outside.engine, outside.real) == (False, False)


def test_a_named_port_no_pod_resolves_opens_every_port(run: Any) -> None:
    """API (ports): "If this field is present and contains at least one item, then this rule
    allows traffic only if the traffic matches at least one port in the list": b/p1 declares
    no `http`, so nothing is allowed to it. kube-router opens every port and protocol."""
    probed = run(
        (
            "b",
            "db-http",
            {
                "podSelector": {"matchLabels": {"app": "db"}},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {}}], "ports": [{"port": "http"}]}],
            },
        )
    )

    for port, protocol in ((80, "TCP"), (8081, "TCP"), (53, "UDP")):
        opened = probed("b/p0", "b/p1", port, protocol)
        assert (opened.engine, opened.real) == (False, True), _api(
            "unresolved-named-port-opens-all-ports"
        )
        assert "unresolved-named-port-opens-all-ports" in probed.known(opened)


def test_an_egress_named_port_without_to_is_resolved_in_the_policy_namespace(run: Any) -> None:
    """API (port): "a numerical or named port on a pod": `http` is the destination's own
    port, so a/p0 may reach c/p0 on 8080 (its http) but not on 80, and b/p1 (no ports) not at
    all. kube-router resolves `http` on namespace a's pods (80 and 8080) and allows both
    numbers to every destination."""
    probed = run(
        (
            "a",
            "web-out",
            {
                "podSelector": {"matchLabels": {"app": "web"}},
                "policyTypes": ["Egress"],
                "egress": [{"ports": [{"port": "http"}]}],
            },
        )
    )

    name = "egress-named-port-resolved-in-policy-namespace"
    for destination, port in (("c/p0", 80), ("b/p1", 80), ("b/p1", 8080)):
        wrong = probed("a/p0", destination, port)
        assert (wrong.engine, wrong.real) == (False, True), _api(name)
        assert name in probed.known(wrong)
    right = probed("a/p0", "c/p0", 8080)
    assert (right.engine, right.real) == (True, True)


def test_a_pod_can_take_another_pods_number_for_a_shared_port_name(run: Any) -> None:
    """API (port): "a numerical or named port on a pod. If present, only traffic on the
    specified protocol AND port will be matched": `admin` is 81 on a/p0 and 8081 on b/p0,
    so c/p0 may reach a/p0 on 81 and b/p0 on 8081 only. a/p0 and b/p0 both name 80 `http`;
    kube-router lists them in random order and the later one joins the address list of
    every port of the first, so one of them is also reachable on the other's admin number."""
    probed = run(
        (
            "c",
            "to-admin",
            {
                "podSelector": {"matchLabels": {"app": "api"}},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchExpressions": [
                                        {
                                            "key": "team",
                                            "operator": "In",
                                            "values": ["alpha", "beta"],
                                        }
                                    ]
                                },
                                "podSelector": {"matchLabels": {"app": "web"}},
                            }
                        ],
                        "ports": [{"port": "admin"}],
                    }
                ],
            },
        )
    )

    assert (probed("c/p0", "a/p0", 81).real, probed("c/p0", "b/p0", 8081).real) == (True, True)
    crossed = [probed("c/p0", "b/p0", 81), probed("c/p0", "a/p0", 8081)]
    assert [v.engine for v in crossed] == [False, False]
    assert any(v.real for v in crossed), _api("named-port-aliasing")
    for verdict in crossed:
        if verdict.real:
            assert "named-port-aliasing" in probed.known(verdict)


def test_an_except_of_one_ipblock_removes_addresses_another_ipblock_allows(run: Any) -> None:
    """API (from): "Items in this list are combined using a logical OR operation", and an
    except excludes CIDRs from its own IPBlock: b/p0 is allowed by the first peer. kube-router
    puts both peers in one ipset where the except, more specific, wins."""

    def policy(ip: str) -> tuple[str, str, dict[str, Any]]:
        pair = ipaddress.ip_network(f"{ip}/31", strict=False)
        return (
            "a",
            "blocks",
            {
                "podSelector": {"matchLabels": {"app": "api"}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {"ipBlock": {"cidr": str(pair)}},
                            {"ipBlock": {"cidr": "10.244.0.0/24", "except": [f"{ip}/32"]}},
                        ]
                    }
                ],
            },
        )

    probed = run()  # nothing applied: learn b/p0's address
    probed = run(policy(probed.ip("b/p0")))

    removed = probed("b/p0", "a/p1", 80)
    assert (removed.engine, removed.real) == (True, False), _api("ipblock-except-crosses-peers")
    assert "ipblock-except-crosses-peers" in probed.known(removed)
    other = probed("c/p0", "a/p1", 80)
    assert (other.engine, other.real) == (True, True)


def test_an_egress_named_port_is_not_applied_to_an_ipblock_destination(run: Any) -> None:
    """API (to): peers are ORed, and a port "can either be a numerical or named port on a
    pod": a/p0 is inside the ipBlock and its `http` is 80, so b/p1 may reach it on 80 (our
    engine matches pod IPs in ipBlocks, as kube-router itself does for numeric ports).
    kube-router applies named ports to pod-selector peers only."""
    probed = run()
    a0 = probed.ip("a/p0")
    probed = run(
        (
            "b",
            "db-out",
            {
                "podSelector": {"matchLabels": {"app": "db"}},
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [{"ipBlock": {"cidr": f"{a0}/32"}}], "ports": [{"port": "http"}]},
                    {"to": [{"ipBlock": {"cidr": f"{a0}/32"}}], "ports": [{"port": 81}]},
                ],
            },
        )
    )

    named = probed("b/p1", "a/p0", 80)
    assert (named.engine, named.real) == (True, False), _api(
        "egress-named-port-ignored-for-ipblock"
    )
    assert "egress-named-port-ignored-for-ipblock" in probed.known(named)
    numeric = probed("b/p1", "a/p0", 81)
    assert (numeric.engine, numeric.real) == (True, True)


def test_named_port_verdicts_are_swapped_for_a_moment_during_every_sync(
    run: Any, real_node: RealNode, real_node_apiserver: ApiServer, world: World
) -> None:
    """API (port): "a numerical or named port on a pod. If present, only traffic on the
    specified protocol AND port will be matched": `dns` is UDP 8080 on c/p0 and UDP 53 on
    c/p1. Steady state, kube-router agrees; but while it runs a full sync (here forced by
    no-op updates of the policy) c/p0 is reachable on 53 or c/p1 on 8080 for a moment."""
    probed = run(
        (
            "c",
            "named-dns",
            {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "ports": [{"protocol": "UDP", "port": "dns"}],
                        "from": [{"namespaceSelector": {"matchLabels": {"env": "prod"}}}],
                    }
                ],
            },
        )
    )
    steady = [("c/p0", 8080, True), ("c/p0", 53, False), ("c/p1", 53, True), ("c/p1", 8080, False)]
    for destination, port, allowed in steady:
        verdict = probed("a/p1", destination, port, "UDP")
        assert (verdict.engine, verdict.real) == (allowed, allowed)

    source = next(p for p in world.pods[0] if p.key.endswith("-a/p1"))
    swapped = [(probed.ip("c/p0"), 53), (probed.ip("c/p1"), 8080)]
    probes = [Probe(source.netns_fd, ip, port, "UDP") for ip, port in swapped]
    seen: list[str] = []
    stop = threading.Event()

    def probe_until_stopped() -> None:
        while not stop.is_set() and not seen:
            seen.extend(o for o in probe_many(probes, 0.5) if o == "connected")

    prober = threading.Thread(target=probe_until_stopped)
    prober.start()
    path = f"/apis/networking.k8s.io/v1/namespaces/{world.namespace(0, 'c')}/networkpolicies"
    try:
        for attempt in range(60):
            if seen:
                break
            since = real_node.enforcer_log_offset()
            real_node_apiserver.rest().merge_patch(
                f"{path}/named-dns", {"metadata": {"annotations": {"resync": str(attempt)}}}
            )
            real_node.wait_synced([f"network policy: {path.split('/')[-2]}/named-dns"], since=since)
    finally:
        stop.set()
        prober.join(timeout=10)
    assert seen, TRANSIENT_DIFFERENCES["named-port-sets-swapped-during-sync"]
