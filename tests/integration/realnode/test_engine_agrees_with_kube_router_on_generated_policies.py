"""The differential test: our policy engine against a real enforcer on real packets.

Generated NetworkPolicy sets (`policy_generator`) are applied to a real node
whose pods (`diff_world`) stay up for the whole run; kube-router v2.1.0
enforces them; every ordered pair of a case's pods is probed on every port
of `PROBE_PORTS` with a real TCP or UDP connection; the verdicts are compared
with the pod matrix of `rollout.policy` over the same objects.

Our engine's verdict on every pair must also be the one an independent reading of the
API (`kube_router_model.api_verdict`) gives, so pairs where kube-router is wrong are
still checked. Every disagreement must be one of kube-router's known departures from the
NetworkPolicy API (`kube_router_model.KNOWN_DIFFERENCES`, each with the API
text it breaks): the test asserts that kube-router's observed verdict is the
one its documented behaviour gives, and that our engine's is the one the API
gives. Anything else fails the test, after shrinking the case on the real node.

Profiles (environment):
  NETPOL_DIFF_CASES   cases to run (default 96: the CI profile, a minute or two)
  NETPOL_DIFF_SEED    seed of the generator (default 16)
  NETPOL_DIFF_SLOTS   cases per apply (default 8)
  NETPOL_DIFF_REPORT  write a JSON line per batch and a summary there
  NETPOL_DIFF_DUMP    a folder: every batch with a disagreement is written there
                      (objects and disagreeing verdicts) for investigation
  NETPOL_DIFF_SHRINK  shrink steps per unexplained disagreement (default 60)
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rollout.devcluster.real_node import RealNode
from tests.harness.apiserver import ApiServer
from tests.integration.realnode.diff_world import World, start_world
from tests.integration.realnode.differential import Runner, Verdict
from tests.integration.realnode.kube_router_model import (
    KNOWN_DIFFERENCES,
    Cluster,
    api_verdict,
    explain_disagreement,
)
from tests.integration.realnode.policy_generator import Case, generate_case, shrink_candidates

pytestmark = [pytest.mark.integration, pytest.mark.realnode]

CASES = int(os.environ.get("NETPOL_DIFF_CASES", "96"))
SEED = int(os.environ.get("NETPOL_DIFF_SEED", "16"))
SLOTS = int(os.environ.get("NETPOL_DIFF_SLOTS", "8"))
REPORT = os.environ.get("NETPOL_DIFF_REPORT", "")
DUMP = os.environ.get("NETPOL_DIFF_DUMP", "")
SHRINK_STEPS = int(os.environ.get("NETPOL_DIFF_SHRINK", "60"))
SHRUNK_AT_MOST = 3  # disagreements shrunk on the real node; the rest are listed as found


@pytest.fixture(scope="module")
def world(real_node: RealNode, real_node_apiserver: ApiServer) -> Iterator[World]:
    built = start_world(real_node, real_node_apiserver, f"d{uuid.uuid4().hex[:4]}-", SLOTS)
    try:
        yield built
    finally:
        built.close()


def test_engine_agrees_with_kube_router_except_its_known_differences(
    real_node: RealNode, real_node_apiserver: ApiServer, world: World
) -> None:
    runner = Runner(real_node, real_node_apiserver, world)
    report = Path(REPORT).open("a") if REPORT else None  # noqa: SIM115
    began = time.monotonic()
    known: Counter[str] = Counter()
    unexplained: list[str] = []
    engine_vs_api: list[str] = []
    pairs = cases = disagreements = 0
    try:
        for first in range(0, CASES, SLOTS):
            batch = [
                _case(world, number, slot)
                for slot, number in enumerate(range(first, min(first + SLOTS, CASES)))
            ]
            policies = [p for case in batch for p in case.policies]
            result = runner.run_batch(policies, [case.slot for case in batch])
            cases += len(batch)
            pairs += len(result.verdicts)
            batch_known: Counter[str] = Counter()
            cluster = Cluster.of(result.objects)
            for verdict in result.verdicts:
                api = api_verdict(cluster, *verdict.connection)
                if api != verdict.engine:
                    engine_vs_api.append(f"{verdict.describe()}; the API says {api}")
                if not verdict.disagrees:
                    continue
                disagreements += 1
                case = batch[verdict.slot]
                names = explain_disagreement(result.objects, verdict)
                if names:
                    batch_known.update(names)
                elif len(unexplained) < SHRUNK_AT_MOST:
                    unexplained.append(_unexplained(runner, world, case, verdict))
                else:
                    unexplained.append(f"unexplained (not shrunk): {verdict.describe()}")
            known.update(batch_known)
            if DUMP and any(v.disagrees for v in result.verdicts):
                Path(DUMP).mkdir(parents=True, exist_ok=True)
                (Path(DUMP) / f"batch-{SEED}-{first:06d}.json").write_text(
                    json.dumps(
                        {
                            "objects": result.objects,
                            "verdicts": [v.__dict__ for v in result.verdicts if v.disagrees],
                        }
                    )
                )
            if report is not None:
                report.write(
                    json.dumps(
                        {
                            "first_case": first,
                            "cases": len(batch),
                            "probes": len(result.verdicts),
                            "disagreements": sum(v.disagrees for v in result.verdicts),
                            "known": dict(batch_known),
                            "sync_s": round(result.sync_seconds, 3),
                            "probe_s": round(result.probe_seconds, 3),
                            "elapsed_s": round(time.monotonic() - began, 1),
                        }
                    )
                    + "\n"
                )
                report.flush()
    finally:
        summary = {
            "seed": SEED,
            "cases": cases,
            "pairs_probed": pairs,
            "connections_made": runner.probes,
            "timeouts_retried": runner.timeouts_retried,
            "retried": dict(runner.retried),
            "batches_reprobed_after_a_sync": runner.reprobed,
            "disagreements": disagreements,
            "known_differences": dict(known),
            "unexplained": len(unexplained),
            "engine_vs_api_model": len(engine_vs_api),
            "wall_s": round(time.monotonic() - began, 1),
        }
        if report is not None:
            report.write(json.dumps({"summary": summary}) + "\n")
            report.close()
        print(json.dumps(summary))
    assert cases == CASES
    assert not unexplained, "\n\n".join(unexplained)
    assert not engine_vs_api, "our engine and the API model differ:\n" + "\n".join(engine_vs_api)
    assert {part for name in known for part in name.split("+")} <= set(KNOWN_DIFFERENCES)


def _case(world: World, number: int, slot: int) -> Case:
    namespace_of = {role: world.namespace(slot, role) for role in ("a", "b", "c")}
    ips = [ref.ip for ref in world.pods[slot]]
    return generate_case(number, SEED, slot, namespace_of, ips)


def _unexplained(runner: Runner, world: World, case: Case, verdict: Verdict) -> str:
    """Shrink the case on the real node (alone), keeping every step that still disagrees."""
    policies = list(case.policies)
    steps = 0
    still = _disagrees(runner, policies, verdict)
    improved = still is not None
    while improved and steps < SHRINK_STEPS:
        improved = False
        for candidate in shrink_candidates(policies):
            steps += 1
            if _disagrees(runner, candidate, verdict) is not None:
                policies, improved = candidate, True
                break
            if steps >= SHRINK_STEPS:
                break
    alone = "disagrees alone" if still is not None else "disagrees only within its batch"
    return (
        f"unexplained disagreement (seed {case.seed}, case {case.number}, {alone}, "
        f"{steps} shrink steps):\n  {verdict.describe()}\n"
        + "\n".join("  " + json.dumps(p, sort_keys=True) for p in policies)
    )


def _disagrees(runner: Runner, policies: list[Any], verdict: Verdict) -> Verdict | None:
    result = runner.run_batch(policies, [verdict.slot])
    for again in result.verdicts:
        same = (again.source, again.destination, again.port, again.protocol)
        wanted = (verdict.source, verdict.destination, verdict.port, verdict.protocol)
        if same == wanted and again.disagrees and not explain_disagreement(result.objects, again):
            return again
    return None
