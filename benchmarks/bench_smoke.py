"""Benchmark: 100 expectations over 10 sources against the real apiserver + fake node.

    python benchmarks/bench_smoke.py [--parallelism N] [--timeout S]

Prints wall time, the longest probe script (the probe timeouts themselves)
and the runner's overhead beyond them: creating/polling/reading/deleting
pods, starting listeners, sweeping. Target: overhead < 30 s.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kubernetes import client as k8s

from rollout.kube.probes import ProbePods
from rollout.smoke.plan import build_plan
from rollout.smoke.runner import RunOptions, run_smoke_suite
from rollout.smoke.spec import parse_smoke_file, suite_for
from tests.harness.apiserver import ApiServer, KubeBinaries
from tests.harness.fake_node import FakeNode, FakeSource, FakeTarget

SOURCES = 10
PER_SOURCE = 10


def _expectations(web: str, api: str) -> list[dict[str, Any]]:
    tests = []
    for s in range(SOURCES):
        for i in range(PER_SOURCE):
            to: dict[str, Any]
            if i < 6:  # pod destinations: 3 with running pods, 3 that need listeners
                to = {"namespace": api, "labels": {"app": f"d{i % 6}"}}
            else:
                to = {"host": f"203.0.113.{i}"}
            tests.append(
                {
                    "name": f"s{s}-t{i}",
                    "from": {"namespace": web, "labels": {"app": f"s{s}"}},
                    "to": to,
                    "port": 8000 + i,
                    "expect": "allow" if i % 2 == 0 else "deny",
                }
            )
    return tests


def _connectivity(source: FakeSource, target: FakeTarget, port: int, protocol: str) -> bool:
    return port % 2 == 0  # the even ports are the expected allows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parallelism", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args()

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
            spec = parse_smoke_file({"tests": _expectations(web, api)})
            suite = suite_for(spec, "bench", dns_check=False, cni_canary=False)
            plan = build_plan(suite, [web, api], default_timeout=args.timeout)
            options = RunOptions(
                environment="bench",
                parallelism=args.parallelism,
                poll_interval=0.25,
                start_timeout=60,
            )
            with FakeNode(server.kubeconfig_path, _connectivity, namespaces=[web, api]) as node:
                time.sleep(1.0)  # the app pods are Running before the clock starts
                began = time.monotonic()
                report = run_smoke_suite(plan, ProbePods(client), options)
                wall = time.monotonic() - began
            probe = max(node.probe_seconds)
            waves = -(-len(plan.probes) // args.parallelism)
    counts = report.counts()
    print(
        f"checks: {len(report.results)} over {len(plan.probes)} probe pods, "
        f"parallelism {args.parallelism} ({waves} wave(s)), timeout {args.timeout:g}s"
    )
    print(
        f"verdicts: {counts['passed']} passed, {counts['failed']} failed, {counts['error']} errors"
    )
    overhead = wall - waves * probe
    note = "" if waves == 1 else " (estimate: waves x longest probe; use one wave for the figure)"
    print(
        f"wall: {wall:.2f}s; longest probe script: {probe:.2f}s; "
        f"runner overhead beyond probe timeouts: {overhead:.2f}s{note}"
    )
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
