"""A smoke runner in its own process on the real node, for tests that kill it:
`python -m tests.integration.realnode.runner_process KUBECONFIG ENV IMAGE SRC_NS DST_NS`.

One expected deny from SRC_NS to DST_NS with a long timeout, so its probe pod is
a real container still probing when the test kills this process.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kubernetes.config import new_client_from_config

from rollout.kube.probes import ProbePods
from rollout.smoke.plan import build_plan
from rollout.smoke.runner import RunOptions, run_smoke_suite
from rollout.smoke.spec import parse_smoke_file, suite_for

PROBE_SECONDS = 60


def main(kubeconfig: str, environment: str, image: str, source: str, target: str) -> int:
    api = new_client_from_config(config_file=str(Path(kubeconfig)), persist_config=False)
    spec = parse_smoke_file(
        {
            "tests": [
                {
                    "name": "long-deny",
                    "from": {"namespace": source, "labels": {"app": "web"}},
                    "to": {"namespace": target, "labels": {"app": "api"}},
                    "port": 9999,
                    "expect": "deny",
                    "timeout": f"{PROBE_SECONDS}s",
                }
            ]
        }
    )
    suite = suite_for(spec, environment, dns_check=False, cni_canary=False)
    plan = build_plan(suite, (source, target), default_timeout=PROBE_SECONDS)
    options = RunOptions(environment=environment, image=image, start_timeout=120, poll_interval=0.2)
    report = run_smoke_suite(plan, ProbePods(api), options)
    print(report.summary(), flush=True)
    return 0 if report.passed else 6


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
