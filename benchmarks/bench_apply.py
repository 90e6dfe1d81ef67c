"""Benchmark: our cold apply of 500 policies vs `kubectl apply --server-side -f`
of the same rendered set, against the same harness apiserver in the same run;
then a no-op re-apply (time, and the number of writes it sent).

    python -m benchmarks.bench_apply [--namespaces 20] [--policies 500] [--parallel 8]

Starts its own etcd + kube-apiserver from tests/harness (build the binaries with
hack/kube-binaries.sh). Our side runs the full `apply_revision`: read live
objects, plan, server-side dry run of the whole set, pending marker, phased
apply, deployed marker. kubectl gets fresh namespaces (same policies under
another prefix), so neither side finds the other's objects.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from benchmarks.policy_set_generator import generate, namespace_names
from rollout.config.schema import ClusterRef, Environment
from rollout.core.objects import Manifest, desired_object, set_content_hash
from rollout.kube.apply import KubeCluster
from rollout.kube.client import KubeClient
from rollout.kube.state import StateConfigMap
from rollout.revision import RenderedRevision, apply_revision
from tests.harness import ApiServer, KubeBinaries

SHA = "b" * 40


def _rendered(env: Environment, objects: list[dict[str, object]]) -> RenderedRevision:
    manifests = tuple(Manifest(o, f"bench/{o['metadata']['namespace']}.yaml") for o in objects)  # type: ignore[index]
    desired = tuple(desired_object(m, environment=env.name, commit_sha=SHA) for m in manifests)
    return RenderedRevision(env.name, SHA, manifests, desired, set_content_hash(list(desired)))


def _kubectl_apply(binaries: KubeBinaries, server: ApiServer, path: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [
            str(binaries.kubectl),
            "--kubeconfig",
            str(server.kubeconfig_path),
            "apply",
            "--server-side",
            "--field-manager",
            "bench-kubectl",
            "-f",
            str(path),
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"kubectl apply failed: {done.stderr[-2000:]}")
    return elapsed


def run(namespaces: int, policies: int, parallel: int) -> dict[str, float]:
    binaries = KubeBinaries.discover()
    with ApiServer(binaries, name="bench") as server, tempfile.TemporaryDirectory() as tmp:
        ours_ns = namespace_names(namespaces, prefix="ours")
        theirs_ns = namespace_names(namespaces, prefix="kubectl")
        for ns in [*ours_ns, *theirs_ns, "netpol-rollout"]:
            server.create_namespace(ns)
        ref = ClusterRef(kubeconfig=server.kubeconfig_path, max_parallel_requests=parallel)
        env = Environment(name="bench", cluster=ref, namespaces=tuple(ours_ns), overlay=".")
        rendered = _rendered(env, generate(namespaces, policies, prefix="ours"))  # type: ignore[arg-type]

        # kubectl: the same set, rendered into one file, in its own namespaces.
        theirs = Path(tmp) / "kubectl.yaml"
        theirs.write_text(yaml.safe_dump_all(generate(namespaces, policies, prefix="kubectl")))
        kubectl_cold = _kubectl_apply(binaries, server, theirs)
        kubectl_again = _kubectl_apply(binaries, server, theirs)

        apply_times: list[float] = []

        def apply_once() -> tuple[float, int, str]:
            with KubeCluster(KubeClient.from_ref(ref)) as cluster:
                state = StateConfigMap(
                    cluster.client, namespace="netpol-rollout", environment="bench"
                )
                timings: dict[str, float] = {}
                execute = cluster.execute

                def timed_execute(*args: Any, **kwargs: Any) -> Any:
                    t = time.perf_counter()
                    try:
                        return execute(*args, **kwargs)
                    finally:
                        timings["writes"] = time.perf_counter() - t

                cluster.execute = timed_execute  # type: ignore[method-assign]
                t0 = time.perf_counter()
                report = apply_revision(
                    cluster, state, env, rendered, now=lambda: datetime.now(UTC)
                )
                elapsed = time.perf_counter() - t0
                apply_times.append(timings.get("writes", 0.0))
                return elapsed, cluster.client.writes, report.status

        cold, cold_writes, cold_status = apply_once()
        noop, noop_writes, noop_status = apply_once()
        assert cold_status == "applied" and noop_status == "unchanged", (cold_status, noop_status)
        return {
            "policies": float(policies),
            "ours_cold_s": cold,
            "ours_cold_requests_written": float(cold_writes),
            "ours_cold_writes_phase_s": apply_times[0],
            "kubectl_cold_s": kubectl_cold,
            "ratio_ours_over_kubectl": cold / kubectl_cold,
            "ours_noop_s": noop,
            "ours_noop_writes": float(noop_writes),
            "kubectl_reapply_s": kubectl_again,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description="cold apply vs kubectl, and no-op re-apply")
    parser.add_argument("--namespaces", type=int, default=20)
    parser.add_argument("--policies", type=int, default=500)
    parser.add_argument("--parallel", type=int, default=8)
    args = parser.parse_args()
    results = run(args.namespaces, args.policies, args.parallel)
    width = max(len(k) for k in results)
    for key, value in results.items():
        print(
            f"{key:<{width}}  {value:.3f}"
            if key.endswith("_s") or "ratio" in key
            else f"{key:<{width}}  {value:.0f}"
        )


if __name__ == "__main__":
    main()
