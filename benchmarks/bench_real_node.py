"""Benchmark: the real node (needs root and hack/node-binaries.sh).

    python benchmarks/bench_real_node.py [--parallelism N] [--timeout S]

Prints (1) the real node's start time (kubelet Ready, enforcer rules in
place), (2) a 100-expectation smoke suite over 10 sources on real packets:
wall time and the runner's overhead beyond the probe timeouts, and (3) the
enforcement lag after an apply: from the policy write to the end of the
enforcer's first full sync that includes it (from kube-router's log).
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import smoke_suite as bench
from rollout.devcluster.real_node import RealNode
from rollout.kube.probes import ProbePods
from rollout.smoke.runner import run_smoke_suite
from tests.harness.apiserver import ApiServer, KubeBinaries
from tests.harness.real_node import network_policy


def _targets(api: str) -> bench.Target:
    def target(i: int) -> tuple[dict[str, Any], str]:
        if i < 6:  # listeners started by the runner; even ports are allowed
            return {"namespace": api, "labels": {"app": f"d{i}"}}, "allow" if i % 2 == 0 else "deny"
        return {"host": f"203.0.113.{i}"}, "deny"  # no route out of the node: never connects

    return target


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
    args = bench.arguments()
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
            plan = bench.plan_of(bench.expectations(web, _targets(api)), [web, api], args.timeout)
            options = bench.options(args.parallelism, start_timeout=120, image=node.probe_image)
            with server.client() as client:
                began = time.monotonic()
                report = run_smoke_suite(plan, ProbePods(client), options)
                wall = time.monotonic() - began
    longest = max(r.seconds for r in report.results)
    return bench.print_figures(report, plan, args, wall, longest)


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
