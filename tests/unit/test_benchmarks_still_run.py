"""The pure benchmarks keep running as the code under them changes (tiny sizes).

The figures themselves are reported in closing notes, never asserted here;
the apiserver-backed benchmarks (apply, smoke, service) share their code
paths with the integration tests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "args",
    [
        ["benchmarks/bench_policy_engine.py", "--pods", "200"],
        ["benchmarks/bench_windows.py", "--members", "12", "--days", "3", "--repeat", "1"],
        ["benchmarks/bench_cli_vs_netpol_analyzer.py", "--pods", "60", "--skip-analyzer"],
        ["benchmarks/bench_cli_vs_netpol_analyzer.py", "--diff", "60"],
        ["benchmarks/bench_cli_startup.py", "--repeat", "1"],
        [
            "benchmarks/bench_flow_replay.py",
            *("--pods", "200", "--records", "2000", "--distinct", "200", "--hubble", "200"),
        ],
    ],
    ids=["policy-engine", "windows", "cli-matrix", "cli-diff", "cli-startup", "flow-replay"],
)
def test_benchmark_runs_at_a_tiny_size(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "failed" not in done.stdout, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
