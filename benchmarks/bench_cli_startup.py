"""Start-up of the CLI: `rollout --help`, `--version` and `policy lint` of the example.

    python benchmarks/bench_cli_startup.py [--repeat 10]

Each command runs `--repeat` times in turn (like hyperfine, without warm-up
beyond the first round); reported per command: minimum and median wall time,
minimum and median CPU time of the process (wait4 rusage: the steadier figure
on a loaded machine), and how many modules it imported (`-X importtime`).
Goals (issue 17): --help and --version under 0.3 s, policy lint under 1 s,
wall, on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROLLOUT = str(Path(sys.executable).parent / "rollout")
COMMANDS = {
    "rollout --help": [ROLLOUT, "--help"],
    "rollout --version": [ROLLOUT, "--version"],
    "rollout policy lint examples/policy-repo": [
        ROLLOUT,
        "policy",
        "lint",
        str(ROOT / "examples" / "policy-repo"),
    ],
}


def once(cmd: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def modules(cmd: list[str]) -> int:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *cmd], capture_output=True, text=True, check=False
    )
    return sum(1 for line in done.stderr.splitlines() if line.startswith("import time:")) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeat):
        for name, cmd in COMMANDS.items():
            runs[name].append(once(cmd))
    load = os.getloadavg()[0]
    for name, cmd in COMMANDS.items():
        walls = [w for w, _ in runs[name]]
        cpus = [c for _, c in runs[name]]
        row = {
            "command": name,
            "runs": len(walls),
            "wall_min_s": round(min(walls), 3),
            "wall_median_s": round(statistics.median(walls), 3),
            "cpu_min_s": round(min(cpus), 3),
            "cpu_median_s": round(statistics.median(cpus), 3),
            "modules": modules(cmd),
            "load_1min": round(load, 1),
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
