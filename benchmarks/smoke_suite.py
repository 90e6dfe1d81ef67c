"""What the smoke benchmarks share: the 100-expectation suite over 10 sources, its
plan and run options, and the figures printed (bench_smoke.py on the simulated node,
bench_real_node.py on the real one)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from rollout.smoke.plan import SmokePlan, build_plan
from rollout.smoke.results import SmokeReport
from rollout.smoke.runner import RunOptions
from rollout.smoke.spec import parse_smoke_file, suite_for

SOURCES = 10
PER_SOURCE = 10
ENVIRONMENT = "bench"

# Check number i of a source -> (its `to`, its `expect`).
Target = Callable[[int], tuple[dict[str, Any], str]]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parallelism", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=2.0)
    return parser.parse_args()


def expectations(web: str, target: Target) -> list[dict[str, Any]]:
    """PER_SOURCE checks from each of SOURCES probe sources in `web`, on ports 8000+i."""
    tests = []
    for s in range(SOURCES):
        for i in range(PER_SOURCE):
            to, expect = target(i)
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


def plan_of(tests: list[dict[str, Any]], namespaces: Sequence[str], timeout: float) -> SmokePlan:
    suite = suite_for(
        parse_smoke_file({"tests": tests}), ENVIRONMENT, dns_check=False, cni_canary=False
    )
    return build_plan(suite, namespaces, default_timeout=timeout)


def options(parallelism: int, start_timeout: float, **extra: Any) -> RunOptions:
    return RunOptions(
        environment=ENVIRONMENT,
        parallelism=parallelism,
        poll_interval=0.25,
        start_timeout=start_timeout,
        **extra,
    )


def print_figures(
    report: SmokeReport, plan: SmokePlan, args: argparse.Namespace, wall: float, longest: float
) -> int:
    """Checks, verdicts (and the first failures), wall time and the runner's overhead
    beyond the probe timeouts (`longest`: the longest probe); the exit code."""
    counts = report.counts()
    waves = -(-len(plan.probes) // args.parallelism)
    print(
        f"checks: {len(report.results)} over {len(plan.probes)} probe pods, "
        f"parallelism {args.parallelism} ({waves} wave(s)), timeout {args.timeout:g}s"
        + (f", node: {report.node}" if report.node else "")
    )
    print(
        f"verdicts: {counts['passed']} passed, {counts['failed']} failed, {counts['error']} errors"
    )
    for failure in report.failures[:5]:
        print(f"  {failure.name}: {failure.message}")
    note = "" if waves == 1 else " (estimate: waves x longest probe; use one wave for the figure)"
    print(
        f"wall: {wall:.2f}s; longest probe: {longest:.2f}s; "
        f"runner overhead beyond probe timeouts: {wall - waves * longest:.2f}s{note}"
    )
    return 0 if report.passed else 1
