"""`rollout demo --node real` on a machine that can run the real node: staging's smoke
tests run on real containers and packets with kube-router enforcing, the good commit
reaches production, the bad one fails for real and is rolled back; the output says
where every result came from, reads at 100 columns, and nothing is left behind."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_demo_runs import DEMO_TIMEOUT, assert_clean, binaries, demo_command, sandbox
from tests.harness.real_node_fixtures import require_real_node

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.realnode]

__all__ = ["binaries", "sandbox"]  # fixtures, imported to be used here

# One real node per machine: the demo may first wait for another run's node to stop.
LOCK_WAIT = 900


def test_the_demo_runs_staging_on_the_real_node_and_says_so(
    sandbox: tuple[Path, dict[str, str]],
) -> None:
    require_real_node()
    root, env = sandbox
    done = subprocess.run(
        [*demo_command(), "demo", "--no-color", "--node", "real"],
        env={**env, "COLUMNS": "100"},
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT * 2 + LOCK_WAIT,
        check=False,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-6000:]
    flat = " ".join(out.split())
    for expected in (
        "starting the real node for staging (kubelet, containerd, kube-router)",
        "node: staging runs on the real node; production on a simulated one",
        "NetworkPolicy enforced by kube-router",
        "smoke tests in staging (node: real): 5 of 5 checks passed",
        "smoke tests in production (node: simulated)",
        "smoke tests in staging FAILED (node: real)",
        "✗ frontend-to-api: expected allow, observed blocked",
        "staging was rolled back to",
        "2/2 commits behaved as expected",
    ):
        assert expected in flat, f"{expected!r} not in the output:\n{out[-6000:]}"
    assert "Traceback" not in out
    assert all(len(line) <= 100 for line in done.stdout.splitlines()), out
    assert_clean(root)
