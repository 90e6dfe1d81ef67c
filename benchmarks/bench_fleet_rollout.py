"""Benchmark: a 500-policy revision rolled out to a fleet of 50 clusters in 5 waves.

    python -m benchmarks.bench_fleet_rollout [--clusters 50] [--waves 5] [--real 8]
        [--policies 500] [--namespaces 20] [--max-parallel 4]

What runs for real: the engine (`RolloutEngine` with the fleet's wave engine),
the SQLite state store, the announcer (every event carries the fleet status,
Slack/GitHub not configured), a git repository with the revision, rendering,
and `ClusterOps` (validate with server-side dry run, phased server-side apply,
state ConfigMap) against `--real` development apiservers started by
`rollout.devcluster.fleet.DevFleet` (one shared etcd, an `--etcd-prefix` each)
plus one for staging.

What is stood in: the other clusters. The machine (2 cores, shared) cannot
hold 50 apiservers, so those clusters' validate/apply/deployed_sha calls
sleep for latencies *recorded in the same run* on the real clusters
(cycling through the samples) and return what the real call returned. Smoke
tests are off (a development apiserver has no kubelet; `rollout demo`'s
simulated node would be one more process per cluster), so a cluster's time
is validate + apply + its records. The first wave is all real clusters, so
the samples exist before a stand-in needs one.

Reported: total time of the production rollout (first cluster applying ->
last verified), time per wave, the real and stand-in clusters per wave, and
the resident memory of this process (engine, store, clients; peak and at
the end), sampled every 0.2 s from /proc/self/status.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.policy_set_generator import generate, namespace_names, write
from rollout.announce import announcer
from rollout.cluster_ops import ClusterOps
from rollout.config.schema import Settings
from rollout.devcluster import ApiServer, KubeBinaries
from rollout.devcluster.fleet import DevFleet
from rollout.engine import RolloutEngine
from rollout.errors import ConfigError
from rollout.ports import ChangeAnalysis, Commit, StageResult
from rollout.store import open_store
from rollout.wiring import git_for


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident MB of this process."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


class MemorySampler:
    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.samples.append(_rss_mb()[0])

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class FleetOps:
    """Real `ClusterOps` for real clusters; recorded latencies for stand-in clusters."""

    def __init__(self, real: ClusterOps, real_targets: set[str]) -> None:
        self.real = real
        self.real_targets = real_targets
        self.samples: dict[str, list[tuple[float, StageResult]]] = {}
        self._cycles: dict[str, Iterator[tuple[float, StageResult]]] = {}
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {"real": 0, "standin": 0}

    def _timed(self, op: str, target: str, call: Callable[[], StageResult]) -> StageResult:
        if target in self.real_targets or "/" not in target:
            start = time.perf_counter()
            result = call()
            with self._lock:
                self.calls["real"] += 1
                if "/" in target:
                    self.samples.setdefault(op, []).append((time.perf_counter() - start, result))
            return result
        with self._lock:
            self.calls["standin"] += 1
            if op not in self._cycles:
                self._cycles[op] = itertools.cycle(list(self.samples[op]))
            seconds, result = next(self._cycles[op])
        time.sleep(seconds)
        return result

    def validate(self, environment: str, sha: str) -> StageResult:
        return self._timed("validate", environment, lambda: self.real.validate(environment, sha))

    def apply(self, environment: str, sha: str, rollout_id: str) -> StageResult:
        return self._timed(
            "apply", environment, lambda: self.real.apply(environment, sha, rollout_id)
        )

    def deployed_sha(self, environment: str) -> str | None:
        if environment in self.real_targets:
            return self.real.deployed_sha(environment)
        if "/" not in environment:
            try:
                return self.real.deployed_sha(environment)
            except ConfigError:
                return None  # a fleet by its bare name (the approval's analysis)
        return None  # a stand-in cluster runs nothing of ours before

    def rollback(self, environment: str, to_sha: str | None, rollout_id: str) -> StageResult:
        return self.real.rollback(environment, to_sha, rollout_id)

    def smoke(self, environment: str, sha: str, rollout_id: str) -> StageResult:
        return StageResult(True, "smoke tests off in this benchmark")

    def analyse(self, environment: str, old_sha: str | None, new_sha: str) -> ChangeAnalysis:
        return ChangeAnalysis({"opened": [], "closed": []}, {"findings": []}, {"opened": []})


class OpenGate:
    def usable_now(self, environment: str, now: datetime, *, wave: str | None = None) -> bool:
        return True

    def next_start(
        self, environment: str, now: datetime, *, wave: str | None = None
    ) -> datetime | None:
        return now


class Granted:
    def granted(self, rollout_id: str, environment: str, now: datetime) -> tuple[bool, str]:
        return True, "approved (benchmark)"


class NoScheduler:
    def wake_at(self, rollout_id: str, at: datetime) -> None:
        pass

    def cancel(self, rollout_id: str) -> None:
        pass


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def _repository(root: Path, namespaces: int, policies: int) -> tuple[Path, str]:
    repo = root / "policies-repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.name", "bench")
    _git(repo, "config", "user.email", "bench@example.invalid")
    objects = generate(namespaces, policies)
    write(objects, repo / "policies" / "staging")
    write(objects, repo / "policies" / "production")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", f"{policies} policies")
    return repo, _git(repo, "rev-parse", "HEAD")


def wave_members(clusters: int, waves: int, real: int) -> tuple[list[list[str]], list[str]]:
    """Cluster names per wave (a small canary wave first, the rest split evenly) and
    the real ones: all of the canary wave, then one per later wave in turn, each
    placed first in its wave (its samples feed the stand-ins after it)."""
    names = [f"c{i:02d}" for i in range(clusters)]
    canary = max(1, clusters // 25)
    rest = names[canary:]
    later = [rest[i :: max(1, waves - 1)] for i in range(waves - 1)]
    per_wave = [names[:canary], *later]
    chosen = list(per_wave[0][:real])
    for column in itertools.count():
        if len(chosen) >= real or all(column >= len(w) for w in per_wave[1:]):
            break
        chosen += [w[column] for w in per_wave[1:] if column < len(w)][: real - len(chosen)]
    return per_wave, chosen


def _settings(
    repo: Path,
    namespaces: list[str],
    staging_kubeconfig: Path,
    per_wave: list[list[str]],
    kubeconfigs: dict[str, Path],
    max_parallel: int,
) -> Settings:
    names = [n for w in per_wave for n in w]
    return Settings.model_validate(
        {
            "repository": {"path": str(repo), "subdirectory": "policies"},
            "team": {"members": [{"name": "alice", "timezone": "UTC"}]},
            "environments": [
                {
                    "name": "staging",
                    "namespaces": namespaces,
                    "overlay": "staging",
                    "cluster": {"kubeconfig": str(staging_kubeconfig)},
                    "smoke": {"enabled": False},
                },
                {
                    "name": "production",
                    "namespaces": namespaces,
                    "overlay": "production",
                    "smoke": {"enabled": False},
                    "clusters": [
                        {"name": n, "kubeconfig": str(kubeconfigs.get(n, "/nonexistent"))}
                        for n in names
                    ],
                    "waves": [
                        {"name": f"wave-{i + 1}", "clusters": w, "max_parallel": max_parallel}
                        for i, w in enumerate(per_wave)
                    ],
                },
            ],
        }
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    binaries = KubeBinaries.discover()
    per_wave, real_names = wave_members(args.clusters, args.waves, args.real)
    # real clusters first in each wave
    per_wave = [sorted(w, key=lambda n: n not in real_names) for w in per_wave]
    ns = namespace_names(args.namespaces)
    t0 = time.perf_counter()
    with (
        DevFleet[ApiServer](binaries, ["staging", *real_names], parallel=4) as fleet,
        tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp,
    ):
        started = time.perf_counter() - t0
        for cluster in fleet.clusters:
            for name in [*ns, "netpol-rollout"]:
                cluster.apiserver.create_namespace(name)
        apiserver_rss = _process_rss_mb(fleet.pids)
        root = Path(tmp)
        repo, sha = _repository(root, args.namespaces, args.policies)
        kubeconfigs = {n: fleet[n].kubeconfig_path for n in real_names}
        settings = _settings(
            repo, ns, fleet["staging"].kubeconfig_path, per_wave, kubeconfigs, args.max_parallel
        )
        clock = lambda: datetime.now(UTC)  # noqa: E731
        store = open_store(f"sqlite:///{root / 'state.db'}", clock=clock)
        real_ops = ClusterOps(settings, git_for(settings.repository, base_dir=root), clock=clock)
        ops = FleetOps(real_ops, {f"production/{n}" for n in real_names})
        engine = RolloutEngine(
            settings,
            store,
            ops,
            OpenGate(),
            Granted(),
            NoScheduler(),
            announcer(settings, clock, fleet_rows=store.fleet_clusters),
            clock,
        )
        rss_before = _rss_mb()[0]
        with MemorySampler() as memory:
            rollout = engine.detect(Commit(sha, "bench", "bench@example.invalid", "500"), None)
            t_start = time.perf_counter()
            for _ in range(args.clusters * 4 + 20):
                engine.drive_all()
                record = store.get_rollout(rollout.id)
                assert record is not None
                if record.state in ("done", "production_verified", "production_failed"):
                    break
            elapsed = time.perf_counter() - t_start
        record = store.get_rollout(rollout.id)
        rows = store.fleet_clusters(rollout.id, "production")
        events = store.events(rollout_id=rollout.id, limit=None)
        real_ops.close()
        store.close()
    return {
        "state": record.state if record else "?",
        "verified": sum(1 for r in rows if r.state == "verified"),
        "clusters": len(rows),
        "real": real_names,
        "apiservers_started_s": started,
        "apiserver_rss_mb": apiserver_rss,
        "staging_to_done_s": elapsed,
        "waves": _wave_times(rows, events, set(real_names)),
        "rss_before_mb": rss_before,
        "rss_peak_mb": max(memory.samples or [rss_before]),
        "rss_end_mb": _rss_mb()[0],
        "calls": ops.calls,
        "samples": {op: sorted(round(s, 3) for s, _ in got) for op, got in ops.samples.items()},
    }


def _wave_times(rows: Any, events: Any, real: set[str]) -> list[dict[str, Any]]:
    applying: dict[str, datetime] = {}
    verified: dict[str, datetime] = {}
    for event in events:
        cluster = event.details.get("cluster") if event.details else None
        if event.kind == "fleet.cluster.applying" and cluster:
            applying[cluster] = event.at
        if event.kind == "fleet.cluster.verified" and cluster:
            verified[cluster] = event.at
    waves: dict[str, list[str]] = {}
    for row in rows:
        waves.setdefault(row.wave, []).append(row.cluster)
    out = []
    for name, members in waves.items():
        starts = [applying[c] for c in members if c in applying]
        ends = [verified[c] for c in members if c in verified]
        out.append(
            {
                "wave": name,
                "clusters": len(members),
                "real": sum(1 for c in members if c in real),
                "seconds": (max(ends) - min(starts)).total_seconds() if starts and ends else None,
                "start": min(starts) if starts else None,
                "end": max(ends) if ends else None,
            }
        )
    return out


def _process_rss_mb(pids: list[int]) -> list[float]:
    out = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out.append(int(line.split()[1]) / 1024)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="a 500-policy revision to a 50-cluster fleet")
    parser.add_argument("--clusters", type=int, default=50)
    parser.add_argument("--waves", type=int, default=5)
    parser.add_argument("--real", type=int, default=8)
    parser.add_argument("--policies", type=int, default=500)
    parser.add_argument("--namespaces", type=int, default=20)
    parser.add_argument("--max-parallel", type=int, default=4)
    result = run(parser.parse_args())
    first = min(w["start"] for w in result["waves"] if w["start"])
    last = max(w["end"] for w in result["waves"] if w["end"])
    print(
        f"outcome            {result['state']}: {result['verified']}/{result['clusters']} verified"
    )
    print(
        f"real apiservers    {len(result['real'])} + staging, started in "
        f"{result['apiservers_started_s']:.1f} s; RSS each (etcd first) "
        + ", ".join(f"{m:.0f}" for m in result["apiserver_rss_mb"])
        + " MB"
    )
    print(f"commit -> done     {result['staging_to_done_s']:.1f} s (staging included)")
    total = (last - first).total_seconds()
    print(f"production total   {total:.1f} s (first applying -> last verified)")
    for wave in result["waves"]:
        seconds = f"{wave['seconds']:.1f} s" if wave["seconds"] is not None else "-"
        print(f"  {wave['wave']:<8} {wave['clusters']} clusters ({wave['real']} real)  {seconds}")
    print(
        f"engine RSS         before {result['rss_before_mb']:.0f} MB, peak "
        f"{result['rss_peak_mb']:.0f} MB, end {result['rss_end_mb']:.0f} MB"
    )
    print(f"cluster calls      {result['calls']}")
    for op, samples in result["samples"].items():
        print(f"recorded {op:<9} {samples}")


if __name__ == "__main__":
    main()
