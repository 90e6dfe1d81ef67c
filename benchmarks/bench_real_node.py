"""Benchmark: the real node (needs root and hack/node-binaries.sh).

    python benchmarks/bench_real_node.py [--parallelism N] [--timeout S]

Prints (1) the real node's start time (kubelet Ready, enforcer rules in
place), (2) a 100-expectation smoke suite over 10 sources on real packets:
wall time and the runner's overhead beyond the probe timeouts, and (3) the
enforcement lag after an apply: from the policy write to the end of the
enforcer's first full sync that includes it (from kube-router's log).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rollout.devcluster.real_node import RealNode
from rollout.kube.probes import ProbePods
from rollout.smoke.plan import build_plan
from rollout.smoke.runner import RunOptions, run_smoke_suite
from rollout.smoke.spec import parse_smoke_file, suite_for
from tests.harness.apiserver import ApiServer, KubeBinaries
from tests.harness.real_node import network_policy

SOURCES = 10
PER_SOURCE = 10


def _expectations(web: str, api: str) -> list[dict[str, Any]]:
    tests = []
    for s in range(SOURCES):
        for i in range(PER_SOURCE):
            to: dict[str, Any]
            if i < 6:  # listeners started by the runner; even ports are allowed
                to = {"namespace": api, "labels": {"app": f"d{i}"}}
                expect = "allow" if i % 2 == 0 else "deny"
            else:  # no route out of the node: never connects
                to = {"host": f"203.0.113.{i}"}
                expect = "deny"
            tests.append(
                {
                    "name": f"s{s}-t{i}",
                    "from": {"namespace": web, "labels": {"app": f"s{s}"}},
                    "to": to,
                    "port": 8000 + i,
                    "expect": expect,
                }
            )
    return tests


def _policies(web: str, api: str) -> list[dict[str, Any]]:
    allow = {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [{"namespaceSelector": {"matchLabels": {"bench": web}}}],
                "ports": [{"port": p, "protocol": "TCP"} for p in (8000, 8002, 8004)],
            }
        ],
    }
    return [network_policy(api, "allow-even-ports", allow)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parallelism", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args()

    with ApiServer(KubeBinaries.discover(), name="bench-real") as server:
        suffix = uuid.uuid4().hex[:6]
        web = server.create_namespace(f"web-{suffix}", {"bench": f"web-{suffix}"})
        api = server.create_namespace(f"api-{suffix}")
        began = time.monotonic()
        with RealNode(server, [web, api]) as node:
            print(f"real node start: {time.monotonic() - began:.2f}s")
            rest = server.rest()
            path = f"/apis/networking.k8s.io/v1/namespaces/{api}/networkpolicies"
            written = time.time()
            for policy in _policies(web, api):
                rest.create(path, policy)
            node.wait_policies_enforced([(api, "allow-even-ports")], timeout=60)
            print(
                f"enforcement lag (policy write -> enforcer sync done): {_lag(node, written):.2f}s"
            )
            spec = parse_smoke_file({"tests": _expectations(web, api)})
            suite = suite_for(spec, "bench", dns_check=False, cni_canary=False)
            plan = build_plan(suite, [web, api], default_timeout=args.timeout)
            options = RunOptions(
                environment="bench",
                image=node.probe_image,
                parallelism=args.parallelism,
                poll_interval=0.25,
                start_timeout=120,
                node="real",
            )
            with server.client() as client:
                began = time.monotonic()
                report = run_smoke_suite(plan, ProbePods(client), options)
                wall = time.monotonic() - began
    counts = report.counts()
    waves = -(-len(plan.probes) // args.parallelism)
    longest = max(r.seconds for r in report.results)
    print(
        f"checks: {len(report.results)} over {len(plan.probes)} probe pods, "
        f"parallelism {args.parallelism} ({waves} wave(s)), timeout {args.timeout:g}s"
    )
    print(
        f"verdicts: {counts['passed']} passed, {counts['failed']} failed, {counts['error']} errors"
    )
    for failure in report.failures[:5]:
        print(f"  {failure.name}: {failure.message}")
    print(
        f"wall: {wall:.2f}s; longest check: {longest:.0f}s; "
        f"runner overhead beyond probe timeouts: {wall - waves * longest:.2f}s"
    )
    return 0 if report.passed else 1


def _lag(node: RealNode, written: float) -> float:
    """Seconds from `written` (epoch) to the first 'sync iptables took' logged after it."""
    from datetime import datetime

    log = (node.work / "logs" / "kube-router.log").read_text(errors="replace").splitlines()
    day = datetime.now().strftime("%m%d")
    for line in log:
        # klog: I1203 19:12:01.123456 ...
        if "sync iptables took" in line and line[1:5] == day:
            stamp = datetime.strptime(
                f"{datetime.now().year}{line[1:5]} {line.split()[1]}", "%Y%m%d %H:%M:%S.%f"
            )
            if stamp.timestamp() >= written:
                return stamp.timestamp() - written
    return float("nan")


if __name__ == "__main__":
    sys.exit(main())
