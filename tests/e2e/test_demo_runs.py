"""`rollout demo` as a user runs it: both commits behave, everything is cleaned up,
also when interrupted with Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rollout.devcluster.binaries import KubeBinaries
from rollout.devcluster.errors import KubeBinariesMissing

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

DEMO_TIMEOUT = 300


@pytest.fixture
def binaries() -> KubeBinaries:
    try:
        return KubeBinaries.discover()
    except KubeBinariesMissing as exc:
        pytest.skip(f"real apiserver unavailable: {exc}")


@pytest.fixture
def sandbox(tmp_path: Path, binaries: KubeBinaries) -> tuple[Path, dict[str, str]]:
    """A private TMPDIR and HOME, so anything left behind is visible."""
    tmp, home = tmp_path / "tmp", tmp_path / "home"
    tmp.mkdir()
    home.mkdir()
    env = {
        **os.environ,
        "TMPDIR": str(tmp),
        "HOME": str(home),  # the service's git mirror cache goes under ~/.cache
        "NETPOL_KUBE_BIN_DIR": str(binaries.etcd.parent),
        "COLUMNS": "140",
    }
    return tmp_path, env


def demo_command() -> list[str]:
    script = Path(sys.executable).with_name("rollout")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "rollout"]


def processes_under(folder: Path) -> list[str]:
    """Command lines of live processes that mention `folder` (etcd, apiserver, probes)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(folder) in cmdline:
            found.append(f"{proc.name}: {cmdline[:200]}")
    return found


def assert_clean(root: Path) -> None:
    deadline = time.monotonic() + 10  # killed children may take a moment to be reaped
    while processes_under(root) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_under(root) == []
    assert sorted(p.name for p in (root / "tmp").iterdir()) == []
    mirrors = root / "home" / ".cache" / "netpol-rollout" / "repos"
    assert not mirrors.exists() or sorted(p.name for p in mirrors.iterdir()) == []


def test_demo_carries_a_good_commit_to_production_and_rolls_a_bad_one_back(
    sandbox: tuple[Path, dict[str, str]],
) -> None:
    root, env = sandbox
    started = time.monotonic()
    done = subprocess.run(
        [*demo_command(), "demo", "--no-color"],
        env=env,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        check=False,
    )
    elapsed = time.monotonic() - started
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-6000:]
    for expected in (
        "stage detected",
        "stage validated",
        "stage staging_applied",
        "stage staging_verified",
        "stage awaiting_approval",
        "stage approved",
        "stage production_applied",
        "stage done",
        "connectivity diff: 1 opened",
        "frontend/web-0",
        "node simulated",
        "notification payloads received by the local webhook",
        "✓ valid",
        "approval.granted",
        "approval sent as demo-approver",
        "-> 200",
        "production applied at",
        "audit log",
        "stage staging_failed",
        "smoke tests FAILED in staging",
        "staging.rolled_back",
        "2/2 commits behaved as expected",
    ):
        assert expected in out, f"{expected!r} not in the output:\n{out[-6000:]}"
    assert "✗ INVALID" not in out
    assert elapsed < 120, f"the demo took {elapsed:.0f}s"
    assert_clean(root)


def test_ctrl_c_mid_run_cleans_up_and_exits_130(sandbox: tuple[Path, dict[str, str]]) -> None:
    root, env = sandbox
    process = subprocess.Popen(
        [*demo_command(), "demo", "--no-color"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reached = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "stage staging_applied" in line:
                reached.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert reached.wait(DEMO_TIMEOUT / 2), "".join(lines)[-4000:]
        process.send_signal(signal.SIGINT)  # mid-run: clusters, service, probe pods all live
        code = process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(10)
        assert process.stdout is not None
        process.stdout.close()
    out = "".join(lines)
    assert code == 130, out[-4000:]
    assert "interrupted, cleaning up" in out
    assert "Traceback" not in out
    assert_clean(root)
