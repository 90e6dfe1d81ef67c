"""A smoke runner in its own process, for tests that kill it: `python -m ... KUBECONFIG ENV NS...`.

Runs the built-ins for the given namespaces with a long start timeout, so
without a node it waits until it is signalled.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kubernetes.config import new_client_from_config

from rollout.kube.probes import ProbePods
from rollout.smoke.plan import build_plan
from rollout.smoke.runner import RunOptions, run_smoke_suite
from rollout.smoke.spec import SmokeFile, suite_for


def main(kubeconfig: str, environment: str, *namespaces: str) -> int:
    api = new_client_from_config(config_file=str(Path(kubeconfig)), persist_config=False)
    plan = build_plan(suite_for(SmokeFile(), environment), namespaces, default_timeout=2)
    options = RunOptions(environment=environment, start_timeout=600, poll_interval=0.1)
    try:
        report = run_smoke_suite(plan, ProbePods(api), options)
    except KeyboardInterrupt:
        print("interrupted, cleaned up", flush=True)
        return 130
    print(report.summary(), flush=True)
    return 0 if report.passed else 6


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
