"""Run generated policy sets on the real node and compare real packets with our engine.

A batch holds one case per world slot. `Runner.run_batch`:

1. deletes the previous batch's policies and creates this batch's;
2. waits for kube-router's first full sync after every one of those events
   (`RealNode.wait_synced`; never a fixed sleep), then flushes the node
   netns's conntrack table so no earlier flow is taken for an established one;
3. reads back every Namespace, Pod and NetworkPolicy from the apiserver (so
   the engine sees exactly the objects the enforcer sees, API defaults
   applied) and computes the pod matrix with `rollout.policy`: the rows
   `rollout policy matrix --pods` prints (`workload_connections`), checked
   against `Analysis.allowed` for every pair;
4. probes every ordered pair of each slot's pods on every `PROBE_PORTS` entry
   with a new real connection, all concurrently; a probe that neither
   connects nor is refused is retried once with a longer timeout; if
   kube-router started a sync while the probes ran (its periodic one), the
   batch is probed again after it (a sync restores ipsets before rules, and
   named-port sets are numbered in random order, so verdicts can be wrong
   for a moment: `kube_router_differences.TRANSIENT_DIFFERENCES`);
5. returns the verdicts; `Verdict.disagrees` marks engine != enforcer.

The engine computes over the union of every applied object, so a case's
policies that select another slot's namespaces or addresses change nothing
about the comparison.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rollout.devcluster import node_host
from rollout.devcluster.real_node import RealNode
from rollout.policy import analyze, load_cluster
from rollout.policy.connectivity import workload_connections
from tests.harness.apiserver import ApiServer
from tests.integration.realnode.diff_world import PROBE_PORTS, PodRef, World
from tests.integration.realnode.pod_sockets import Probe, probe_many

NETPOL = "/apis/networking.k8s.io/v1"
PROBE_TIMEOUT = 1.0
RETRY_TIMEOUT = 3.0


@dataclass(frozen=True)
class Verdict:
    slot: int
    source: str  # namespace/name
    destination: str
    port: int
    protocol: str
    engine: bool
    real: bool
    outcome: str  # connected, refused, timeout

    @property
    def connection(self) -> tuple[str, str, int, str]:
        return (self.source, self.destination, self.port, self.protocol)

    @property
    def disagrees(self) -> bool:
        return self.engine != self.real

    def describe(self) -> str:
        word = {True: "allow", False: "deny"}
        return (
            f"{self.source} -> {self.destination} {self.port}/{self.protocol}: "
            f"engine {word[self.engine]}, kube-router {word[self.real]} ({self.outcome})"
        )


@dataclass
class BatchResult:
    verdicts: list[Verdict]
    objects: list[dict[str, Any]]  # what the apiserver held (namespaces, pods, policies)
    sync_seconds: float
    probe_seconds: float


class Runner:
    def __init__(self, node: RealNode, apiserver: ApiServer, world: World) -> None:
        self.node = node
        self.apiserver = apiserver
        self.rest = apiserver.rest()
        self.world = world
        self._applied: list[tuple[str, str]] = []
        self.probes = 0
        self.timeouts_retried = 0
        self.reprobed = 0  # batches probed again: a kube-router sync overlapped the probes
        self._quiet_since = 0
        self.retried: Counter[str] = Counter()  # "<protocol> <first> -> <second>"

    def apply(self, policies: Sequence[dict[str, Any]]) -> float:
        """Replace the applied policies with `policies`; seconds until the enforcer synced."""
        began = time.monotonic()
        since = self.node.enforcer_log_offset()
        events = []
        for namespace, name in self._applied:
            self.rest.request("DELETE", f"{NETPOL}/namespaces/{namespace}/networkpolicies/{name}")
            events.append(f"network policy: {namespace}/{name} delete event")
        self._applied = []
        for policy in policies:
            namespace, name = policy["metadata"]["namespace"], policy["metadata"]["name"]
            self.rest.create(
                f"{NETPOL}/namespaces/{namespace}/networkpolicies", policy, exist_ok=False
            )
            self._applied.append((namespace, name))
            events.append(f"update for network policy: {namespace}/{name}")
        if events and not self.node.wait_synced(events, timeout=60, since=since):
            raise AssertionError(f"kube-router did not sync {len(events)} policy events in 60s")
        # A sync that starts after this point overlaps the probes (run_batch checks).
        self._quiet_since = self.node.enforcer_log_offset()
        node_host.run(["conntrack", "-F"], netns=self.node.netns, check=False)
        return time.monotonic() - began

    def cluster_objects(self) -> list[dict[str, Any]]:
        objects: list[dict[str, Any]] = []
        for path, kind in (
            ("/api/v1/namespaces", "Namespace"),
            ("/api/v1/pods", "Pod"),
            (f"{NETPOL}/networkpolicies", "NetworkPolicy"),
        ):
            listing = self.rest.get(path)
            for item in listing.get("items", []):
                item.setdefault("kind", kind)
                item.setdefault("apiVersion", listing.get("apiVersion", "v1"))
                item["metadata"].pop("managedFields", None)
                objects.append(item)
        return objects

    def run_batch(self, policies: Sequence[dict[str, Any]], slots: Sequence[int]) -> BatchResult:
        sync_seconds = self.apply(policies)
        objects = self.cluster_objects()
        engine = engine_verdicts(objects, self.world, slots)
        began = time.monotonic()
        plan = [
            (slot, src, dst, port, proto)
            for slot in slots
            for src in self.world.pods[slot]
            for dst in self.world.pods[slot]
            if src is not dst
            for port, proto in PROBE_PORTS
        ]
        mark = self._quiet_since
        for _ in range(5):
            outcomes = self.probe(plan)
            if not self.node.enforcer_synced_since(mark):
                break
            # kube-router ran a full sync (its periodic one, every 5 minutes) while we
            # probed: it restores ipsets before rules, so probe again once it is done.
            self.reprobed += 1
            if not self.node.wait_synced([], timeout=60, since=mark):
                raise AssertionError("kube-router did not finish a sync in 60s")
            mark = self.node.enforcer_log_offset()
        else:
            raise AssertionError("kube-router kept syncing while the batch was probed")
        probe_seconds = time.monotonic() - began
        verdicts = [
            Verdict(
                slot,
                src.key,
                dst.key,
                port,
                proto,
                engine[(src.key, dst.key, port, proto)],
                outcome == "connected",
                outcome,
            )
            for (slot, src, dst, port, proto), outcome in zip(plan, outcomes, strict=True)
        ]
        return BatchResult(verdicts, objects, sync_seconds, probe_seconds)

    def probe(self, plan: Sequence[tuple[int, PodRef, PodRef, int, str]]) -> list[str]:
        probes = [Probe(src.netns_fd, dst.ip, port, proto) for _, src, dst, port, proto in plan]
        outcomes = probe_many(probes, PROBE_TIMEOUT)
        unsure = [
            i for i, outcome in enumerate(outcomes) if outcome not in ("connected", "refused")
        ]
        if unsure:
            self.timeouts_retried += len(unsure)
            again = probe_many([probes[i] for i in unsure], RETRY_TIMEOUT)
            for i, outcome in zip(unsure, again, strict=True):
                self.retried[f"{probes[i].protocol} {outcomes[i]} -> {outcome}"] += 1
                outcomes[i] = outcome
        self.probes += len(probes) + len(unsure)
        return outcomes


def engine_verdicts(
    objects: Sequence[dict[str, Any]], world: World, slots: Sequence[int]
) -> dict[tuple[str, str, int, str], bool]:
    """Our engine on `objects`: the pod matrix rows, checked against `allowed` per pair."""
    analysis = analyze(load_cluster(list(objects)))
    matrix: dict[tuple[str, str], list[tuple[str, int, int]]] = {}
    for row in workload_connections(analysis, pods=True, externals=False):
        matrix[(row.source, row.destination)] = list(row.ranges)
    verdicts: dict[tuple[str, str, int, str], bool] = {}
    for slot in slots:
        for src in world.pods[slot]:
            for dst in world.pods[slot]:
                if src is dst:
                    continue
                ranges = matrix.get((f"{src.key}[Pod]", f"{dst.key}[Pod]"), [])
                for port, proto in PROBE_PORTS:
                    in_matrix = any(p == proto and lo <= port <= hi for p, lo, hi in ranges)
                    ns1, n1 = src.key.split("/")
                    ns2, n2 = dst.key.split("/")
                    allowed = analysis.allowed(ns1, n1, ns2, n2, port, proto)
                    assert in_matrix == allowed, (
                        f"engine inconsistent: matrix row {src.key} -> {dst.key} says "
                        f"{in_matrix} on {port}/{proto}, Analysis.allowed says {allowed}"
                    )
                    verdicts[(src.key, dst.key, port, proto)] = allowed
    return verdicts


def conntrack_available() -> bool:
    return subprocess.run(["conntrack", "--version"], capture_output=True).returncode == 0
