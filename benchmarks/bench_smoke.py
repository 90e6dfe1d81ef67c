"""Benchmark: 100 expectations over 10 sources against the real apiserver + fake node.

    python benchmarks/bench_smoke.py [--parallelism N] [--timeout S]

Prints wall time, the longest probe script (the probe timeouts themselves)
and the runner's overhead beyond them: creating/polling/reading/deleting
pods, starting listeners, sweeping. Target: overhead < 30 s.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kubernetes import client as k8s

from benchmarks import smoke_suite as bench
from rollout.kube.probes import ProbePods
from rollout.smoke.runner import run_smoke_suite
from tests.harness.apiserver import ApiServer, KubeBinaries
from tests.harness.fake_node import FakeNode, FakeSource, FakeTarget


def _targets(api: str) -> bench.Target:
    def target(i: int) -> tuple[dict[str, Any], str]:
        # Pod destinations: 3 with running pods, 3 that need listeners; then hosts.
        pod = {"namespace": api, "labels": {"app": f"d{i % 6}"}}
        return (pod if i < 6 else {"host": f"203.0.113.{i}"}), "allow" if i % 2 == 0 else "deny"

    return target


def _connectivity(source: FakeSource, target: FakeTarget, port: int, protocol: str) -> bool:
    return port % 2 == 0  # the even ports are the expected allows


def main() -> int:
    args = bench.arguments()
    with ApiServer(KubeBinaries.discover(), name="bench") as server:
        suffix = uuid.uuid4().hex[:6]
        web = server.create_namespace(f"web-{suffix}")
        api = server.create_namespace(f"api-{suffix}")
        with server.client() as client:
            core = k8s.CoreV1Api(client)
            for d in range(3):
                core.create_namespaced_pod(
                    api,
                    {
                        "metadata": {"name": f"d{d}", "labels": {"app": f"d{d}"}},
                        "spec": {
                            "automountServiceAccountToken": False,
                            "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}],
                        },
                    },
                )
            tests = bench.expectations(web, _targets(api))
            plan = bench.plan_of(tests, [web, api], args.timeout)
            options = bench.options(args.parallelism, start_timeout=60)
            with FakeNode(server.kubeconfig_path, _connectivity, namespaces=[web, api]) as node:
                time.sleep(1.0)  # the app pods are Running before the clock starts
                began = time.monotonic()
                report = run_smoke_suite(plan, ProbePods(client), options)
                wall = time.monotonic() - began
            probe = max(node.probe_seconds)
    return bench.print_figures(report, plan, args, wall, probe)


if __name__ == "__main__":
    sys.exit(main())
