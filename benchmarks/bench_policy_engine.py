"""Benchmark the policy engine on synthetic clusters: parse, analysis, matrix, diff.

    python benchmarks/bench_policy_engine.py --pods 1000 10000 50000

Each size runs in its own subprocess so peak RSS (getrusage) is per size.
Parse time is YAML (libyaml C loader when available) of the generated
manifests; the matrix is computed at class level for every default port
(rows of class bitsets plus the pod-pair count), never as 10^8 pod pairs;
the diff compares two generated revisions (~5% of namespaces changed).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def run_one(pods: int) -> dict[str, float | int | str]:
    import yaml
    from cluster_generator import generate

    from rollout.manifests import C_LOADER, load_text
    from rollout.policy import analyze, connectivity_diff, load_cluster

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text_a = yaml.dump_all(generate(pods), Dumper=dumper)
    text_b = yaml.dump_all(generate(pods, revision=1), Dumper=dumper)
    out: dict[str, float | int | str] = {
        "pods": pods,
        "yaml_mb": round(len(text_a) / 1e6, 1),
        "c_loader": str(C_LOADER),
    }

    t = time.perf_counter()
    docs_a = [dict(m.obj) for m in load_text(text_a, "a.yaml")]
    out["parse_s"] = time.perf_counter() - t
    docs_b = [dict(m.obj) for m in load_text(text_b, "b.yaml")]
    del text_a, text_b

    t = time.perf_counter()
    model_a = load_cluster(docs_a)
    out["model_s"] = time.perf_counter() - t
    model_b = load_cluster(docs_b)
    out["namespaces"] = len(model_a.namespaces)
    out["policies"] = len(model_a.policies)

    t = time.perf_counter()
    analysis = analyze(model_a)
    out["compile_s"] = time.perf_counter() - t
    out["classes"] = len(analysis.classes)

    t = time.perf_counter()
    ports = analysis.default_ports()
    pairs = 0
    for port, proto in ports:
        analysis.class_rows(port, proto)
        pairs += analysis.count_allowed_pairs(port, proto)
    out["matrix_s"] = time.perf_counter() - t
    out["ports"] = len(ports)
    out["allowed_pod_pairs"] = pairs

    t = time.perf_counter()
    diff = connectivity_diff(model_a, model_b)
    out["diff_s"] = time.perf_counter() - t
    out["opened"] = len(diff.opened)
    out["closed"] = len(diff.closed)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    cols = [
        "pods",
        "namespaces",
        "policies",
        "classes",
        "ports",
        "yaml_mb",
        "parse_s",
        "model_s",
        "compile_s",
        "matrix_s",
        "diff_s",
        "opened",
        "peak_rss_mb",
    ]
    print(" | ".join(cols))
    for pods in args.pods:
        proc = subprocess.run(
            [sys.executable, __file__, "--one", str(pods)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            print(f"{pods}: failed\n{proc.stderr}", file=sys.stderr)
            continue
        row = json.loads(proc.stdout)
        print(" | ".join(str(row.get(c, "")) for c in cols), flush=True)


if __name__ == "__main__":
    main()
