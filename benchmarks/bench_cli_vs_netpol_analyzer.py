"""Whole CLIs side by side: `rollout policy matrix` and np-guard's netpol-analyzer.

    python benchmarks/bench_cli_vs_netpol_analyzer.py --pods 1000 10000 [--repeat 2]
    python benchmarks/bench_cli_vs_netpol_analyzer.py --compare --pods 100 1000
    python benchmarks/bench_cli_vs_netpol_analyzer.py --diff 10000

netpol-analyzer is built from the Go module proxy by hack/netpol-analyzer.sh
(or taken from $NETPOL_ANALYZER). Both read the same generated cluster (one
YAML file per size, benchmarks/cluster_generator.py, pods owned by
ReplicaSets) and write JSON to a file; runs alternate between the tools.
Reported per run: wall time (parse to last byte), CPU time and peak RSS of
the process (wait4 rusage; CPU time is the steadier figure on a loaded
machine) and output size. `--compare` checks that both report the same
workload connections after normalising names (netpol-analyzer names a pod by
its ReplicaSet, `ns/web-0-<hash>[ReplicaSet]`; we name the Deployment) and
external peers (address ranges merged per peer and port set); `--diff` times
`rollout policy diff` of two revisions.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

PROTOCOLS = ("SCTP", "TCP", "UDP")
_HASHED = re.compile(
    r"^(?P<ns>[^/]+)/(?P<name>.+)-[bcdfghjklmnpqrstvwxz2456789]{10}\[ReplicaSet\]$"
)


def analyzer_binary() -> str:
    given = os.environ.get("NETPOL_ANALYZER")
    if given:
        return given
    done = subprocess.run(
        ["bash", str(ROOT / "hack" / "netpol-analyzer.sh")],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def write_cluster(folder: Path, pods: int, revision: int = 0, *, as_json: bool = False) -> int:
    """The generated cluster as one YAML stream, or as one `kubectl get -o json` List."""
    import yaml
    from cluster_generator import generate

    folder.mkdir(parents=True, exist_ok=True)
    objects = generate(pods, revision=revision)
    if as_json:
        # Compact: kubectl's 4-space indentation makes 50k pods 92 MB, over the
        # 64 MiB default limit for one file (ROLLOUT_YAML_MAX_BYTES raises it).
        listed = {"apiVersion": "v1", "kind": "List", "items": objects}
        text = json.dumps(listed, separators=(",", ":"))
        (folder / "cluster.json").write_text(text, encoding="utf-8")
        return len(text)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump_all(objects, Dumper=dumper)
    (folder / "cluster.yaml").write_text(text, encoding="utf-8")
    return len(text)


TIMEOUT_S = 900.0
ANALYZER_TIMEOUT_S = 900.0


GNU_TIME = "/usr/bin/time"


def timed(cmd: list[str], out: Path, timeout: float | None = None) -> dict[str, Any]:
    """Wall seconds, CPU seconds, peak RSS (MB) and output bytes of one run.

    Peak RSS is the tool's own: measured by GNU time (`%M`) around it, since a
    child's `ru_maxrss` starts from its parent's at fork time (this script holds
    the generated cluster), and read from /proc (VmHWM) for a run killed at
    the cap. A run still going after `timeout` (default TIMEOUT_S) is killed
    (exit -9, `killed_at_cap`). The 1-minute load average at the end is
    reported too: on a shared machine wall times are inflated by it, CPU
    times much less.
    """
    timeout = TIMEOUT_S if timeout is None else timeout
    measured = out.with_name(out.name + ".rss")
    measured.unlink(missing_ok=True)
    if os.path.exists(GNU_TIME):
        cmd = [GNU_TIME, "-f", "%M", "-o", str(measured), *cmd]
    start = time.perf_counter()
    peak_kb, killed_cpu = 0, 0.0
    with out.open("wb") as sink, tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=errors, start_new_session=True)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout:
                peak_kb, killed_cpu = _descendants_usage(proc.pid)
                os.killpg(proc.pid, signal.SIGKILL)
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        errors.seek(0)
        err = errors.read().decode(errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if measured.exists():
        lines = measured.read_text().split()
        peak_kb = int(lines[-1]) if lines and lines[-1].isdigit() else peak_kb
    elif not os.path.exists(GNU_TIME):
        peak_kb = usage.ru_maxrss  # an upper bound: includes this script's own
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(max(usage.ru_utime + usage.ru_stime, killed_cpu), 2),
        "rss_mb": round(peak_kb / 1024, 1),
        "out_kb": round(out.stat().st_size / 1024, 1),
        "exit": proc.returncode,
        "killed_at_cap": proc.returncode == -9,
        "load_1min": round(os.getloadavg()[0], 1),
        "stderr": err[-300:] if proc.returncode else "",
    }


def _descendants_usage(pid: int) -> tuple[int, float]:
    """(largest VmHWM in kB, CPU seconds) of `pid` and its descendants (Linux)."""
    peak, cpu = 0, 0.0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            stat = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
        cpu += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
        pids += [int(child) for child in children]
    return peak, cpu


def ours_cmd(folder: Path, *extra: str) -> list[str]:
    return [str(Path(sys.executable).parent / "rollout"), "policy", "matrix", str(folder), *extra]


def bench(sizes: list[int], repeat: int, binary: str | None, work: Path) -> None:
    for pods in sizes:
        folder = work / f"c{pods}"
        size = write_cluster(folder, pods)
        listed = work / f"j{pods}"
        json_size = write_cluster(listed, pods, as_json=True)
        print(
            f"# {pods} pods: {size / 1e6:.1f} MB of YAML, {json_size / 1e6:.1f} MB as JSON",
            flush=True,
        )
        for r in range(repeat):
            runs = [
                ("rollout -o json", ours_cmd(folder, "-o", "json")),
                ("rollout -o csv", ours_cmd(folder, "-o", "csv")),
                ("rollout -o json, JSON input", ours_cmd(listed, "-o", "json")),
            ]
            if binary is not None:
                analyzer = [binary, "list", "--dirpath", str(folder), "-o", "json", "-q"]
                runs.insert(0, ("netpol-analyzer", analyzer))
            for name, cmd in runs if r % 2 == 0 else reversed(runs):
                cap = ANALYZER_TIMEOUT_S if name == "netpol-analyzer" else None
                out = work / f"out-{pods}-{name.replace(' ', '_').replace(',', '')}.txt"
                result = timed(cmd, out, cap)
                print(json.dumps({"pods": pods, "tool": name, "run": r + 1, **result}), flush=True)
                if result["exit"] and name.startswith("rollout"):
                    print(f"{name} failed: {result['stderr']}")


def bench_diff(pods: int, repeat: int, work: Path) -> None:
    old, new = work / f"d{pods}-old", work / f"d{pods}-new"
    write_cluster(old, pods)
    write_cluster(new, pods, revision=1)
    rollout = str(Path(sys.executable).parent / "rollout")
    for r in range(repeat):
        for fmt in ("text", "json"):
            cmd = [rollout, "policy", "diff", str(old), str(new), "-o", fmt]
            result = timed(cmd, work / f"diff-{pods}.{fmt}")
            if result["exit"]:
                print(f"policy diff failed: {result['stderr']}")
            print(
                json.dumps(
                    {"pods": pods, "tool": f"rollout policy diff -o {fmt}", "run": r + 1, **result}
                ),
                flush=True,
            )


# -- agreement ---------------------------------------------------------------------


def parse_conn(text: str) -> frozenset[tuple[str, int, int]]:
    """netpol-analyzer's `conn` (`TCP 53,UDP 53`, `All Connections`) as merged ranges."""
    from rollout.policy.port_ranges import merge_ranges

    if text == "All Connections":
        return frozenset((p, 1, 65535) for p in PROTOCOLS)
    found: list[tuple[str, int, int]] = []
    proto = ""
    for token in text.split(","):
        token = token.strip()
        if " " in token:
            proto, _, token = token.partition(" ")
        first, _, last = token.partition("-")
        found.append((proto, int(first), int(last or first)))
    return frozenset(merge_ranges(found))


def _peer(name: str) -> str:
    match = _HASHED.match(name)
    if match:
        return f"{match['ns']}/{match['name']}[Deployment]"
    return name


def normalise(items: list[dict[str, str]]) -> dict[tuple[str, str, str], frozenset[Any]]:
    """(kind, src, dst) -> port set; external peers as one v4 address set per port set."""
    from rollout.policy.ipset import IPSet

    pairs: dict[tuple[str, str, str], frozenset[Any]] = {}
    outside: dict[tuple[str, str, frozenset[Any]], IPSet] = {}
    for item in items:
        src, dst, conn = _peer(item["src"]), _peer(item["dst"]), parse_conn(item["conn"])
        for side, other, direction in ((src, dst, "egress"), (dst, src, "ingress")):
            if re.match(r"^[0-9.]+-[0-9.]+$", other):
                first, last = other.split("-")
                key = (direction, side, conn)
                addresses = IPSet([(_v4(first), _v4(last))])
                outside[key] = outside.get(key, IPSet()) | addresses
                break
            if ":" in other and "-" in other and "[" not in other:
                break  # IPv6 range: netpol-analyzer reports none
        else:
            pairs[("pair", src, dst)] = conn
    for (direction, side, conn), addresses in outside.items():
        pairs[(direction, side, ",".join(addresses.to_cidrs()))] = conn
    return pairs


def _v4(text: str) -> int:
    import ipaddress

    return int(ipaddress.IPv4Address(text))


def compare(sizes: list[int], binary: str, work: Path) -> None:
    for pods in sizes:
        folder = work / f"c{pods}"
        write_cluster(folder, pods)
        theirs_out = work / f"cmp-{pods}-theirs.json"
        ours_out = work / f"cmp-{pods}-ours.json"
        timed([binary, "list", "--dirpath", str(folder), "-o", "json", "-q"], theirs_out)
        timed(ours_cmd(folder, "--format", "netpol-analyzer", "-o", "json"), ours_out)
        theirs = normalise(json.loads(theirs_out.read_text()))
        ours = normalise(json.loads(ours_out.read_text()))
        only_theirs = sorted(set(theirs) - set(ours))
        only_ours = sorted(set(ours) - set(theirs))
        differ = sorted(k for k in set(ours) & set(theirs) if ours[k] != theirs[k])
        print(
            json.dumps(
                {
                    "pods": pods,
                    "connections_theirs": len(theirs),
                    "connections_ours": len(ours),
                    "only_netpol_analyzer": len(only_theirs),
                    "only_rollout": len(only_ours),
                    "different_ports": len(differ),
                }
            )
        )
        for label, keys in (("only netpol-analyzer", only_theirs), ("only rollout", only_ours)):
            for key in keys[:5]:
                source = theirs if label.startswith("only netpol") else ours
                print(f"  {label}: {key} {sorted(source[key])}")
        for key in differ[:5]:
            print(
                f"  ports differ: {key} rollout={sorted(ours[key])} "
                f"netpol-analyzer={sorted(theirs[key])}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--compare", action="store_true", help="check agreement instead")
    parser.add_argument("--diff", type=int, metavar="PODS", help="time policy diff instead")
    parser.add_argument("--work", type=Path, help="folder for clusters and outputs")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds per run")
    parser.add_argument(
        "--analyzer-timeout",
        type=float,
        default=ANALYZER_TIMEOUT_S,
        help="seconds per netpol-analyzer run (it is killed then, and said so)",
    )
    parser.add_argument("--skip-analyzer", action="store_true", help="time rollout only")
    args = parser.parse_args()
    globals()["TIMEOUT_S"] = args.timeout
    globals()["ANALYZER_TIMEOUT_S"] = args.analyzer_timeout
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.diff:
            bench_diff(args.diff, args.repeat, work)
            return
        if args.compare:
            compare(args.pods, analyzer_binary(), work)
        else:
            bench(args.pods, args.repeat, None if args.skip_analyzer else analyzer_binary(), work)


if __name__ == "__main__":
    main()
