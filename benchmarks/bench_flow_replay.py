"""Benchmark observed-flow replay: read + aggregate N records, replay against two revisions.

    python benchmarks/bench_flow_replay.py --pods 10000 --records 1000000 --hubble 100000

The cluster (pods with IPs, ~2.2k policies at 10k pods) comes from
`cluster_generator`; revision B changes ~5% of namespaces' policies. The
records are neutral CSV written to a temporary file first (not timed): half
name `NAMESPACE/POD`, half only an IP (resolved through the snapshot), over
`--distinct` source/destination/port combinations. Timed: building both
models, reading + aggregating the file through the adapter, and the replay
(compiling both revisions and evaluating every distinct flow on both sides).
`--hubble N` also times N Hubble JSON lines (read + aggregate only). Peak RSS
(getrusage) is of the whole run, in its own subprocess.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _write_csv(path: Path, pods: list[dict[str, Any]], records: int, distinct: int) -> None:
    rng = random.Random(11)
    ports = [8080, 9090, 5432, 9100, 53]
    combos = []
    for _ in range(distinct):
        src, dst = rng.choice(pods), rng.choice(pods)
        combos.append((src, dst, rng.choice(ports)))
    with path.open("w") as fh:
        fh.write("time,source,destination,port,protocol,count\n")
        base = 1_764_700_000
        for i in range(records):
            src, dst, port = combos[rng.randrange(distinct)]
            s = (
                src["status"]["podIP"]
                if i % 2
                else f"{src['metadata']['namespace']}/{src['metadata']['name']}"
            )
            d = (
                dst["status"]["podIP"]
                if i % 2
                else f"{dst['metadata']['namespace']}/{dst['metadata']['name']}"
            )
            fh.write(f"{base + i % 86400},{s},{d},{port},{'UDP' if port == 53 else 'TCP'},1\n")


def _write_hubble(path: Path, pods: list[dict[str, Any]], records: int) -> None:
    rng = random.Random(5)

    def ep(pod: dict[str, Any]) -> dict[str, Any]:
        meta = pod["metadata"]
        return {
            "ID": 1,
            "identity": 2,
            "namespace": meta["namespace"],
            "labels": [f"k8s:{k}={v}" for k, v in meta["labels"].items()],
            "pod_name": meta["name"],
        }

    with path.open("w") as fh:
        for i in range(records):
            src, dst = rng.choice(pods[:2000]), rng.choice(pods[:2000])
            flow = {
                "time": f"2026-12-02T02:{i % 60:02d}:00.123456789Z",
                "verdict": "FORWARDED",
                "IP": {
                    "source": src["status"]["podIP"],
                    "destination": dst["status"]["podIP"],
                    "ipVersion": "IPv4",
                },
                "l4": {
                    "TCP": {"source_port": 40000, "destination_port": 8080, "flags": {"SYN": True}}
                },
                "source": ep(src),
                "destination": ep(dst),
                "Type": "L3_L4",
                "node_name": "n1",
                "event_type": {"type": 4, "sub_type": 3},
                "traffic_direction": "EGRESS",
                "is_reply": False,
            }
            fh.write(json.dumps({"flow": flow, "node_name": "n1", "time": flow["time"]}) + "\n")


def run_one(pods: int, records: int, distinct: int, hubble: int) -> dict[str, Any]:
    from cluster_generator import generate

    from rollout.flow_sources import read_into
    from rollout.flows import FlowAggregator, PodDirectory, replay
    from rollout.policy import load_cluster

    objs_a, objs_b = generate(pods), generate(pods, revision=1)
    pod_objs = [o for o in objs_a if o["kind"] == "Pod"]
    out: dict[str, Any] = {"pods": pods, "records": records}
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "flows.csv"
        _write_csv(csv_path, pod_objs, records, distinct)
        out["csv_mb"] = round(csv_path.stat().st_size / 1e6)
        start = t = time.perf_counter()
        model_a, model_b = load_cluster(objs_a), load_cluster(objs_b)
        out["policies"] = len(model_a.policies)
        out["models_s"] = time.perf_counter() - t
        t = time.perf_counter()
        aggregator = FlowAggregator(PodDirectory(objs_a))
        read_into(aggregator, [str(csv_path)])
        observed = aggregator.result()
        out["aggregate_s"] = time.perf_counter() - t
        out["flows"] = len(observed.flows)
        t = time.perf_counter()
        result = replay(observed.flows, model_a, model_b)
        out["replay_s"] = time.perf_counter() - t
        out["total_s"] = time.perf_counter() - start
        out["cut"], out["opened"] = len(result.cut), len(result.opened)
        if hubble:
            hubble_path = Path(tmp) / "hubble.jsonl"
            _write_hubble(hubble_path, pod_objs, hubble)
            t = time.perf_counter()
            aggregator = FlowAggregator(PodDirectory(objs_a))
            read_into(aggregator, [str(hubble_path)])
            out["hubble_records"] = hubble
            out["hubble_aggregate_s"] = time.perf_counter() - t
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=int, default=20_000)
    parser.add_argument("--hubble", type=int, default=0)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.pods, args.records, args.distinct, args.hubble)))
        return
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--one",
            "--pods",
            str(args.pods),
            "--records",
            str(args.records),
            "--distinct",
            str(args.distinct),
            "--hubble",
            str(args.hubble),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        print(f"failed\n{proc.stderr}", file=sys.stderr)
        sys.exit(1)
    row = json.loads(proc.stdout)
    print(" | ".join(row))
    print(" | ".join(str(v) for v in row.values()))


if __name__ == "__main__":
    main()
