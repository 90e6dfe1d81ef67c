"""`rollout demo` as a user runs it: both commits behave, everything is cleaned up,
also when interrupted with Ctrl-C. These run on the simulated node
(`--node simulated`); test_demo_runs_on_the_real_node.py runs it on the real one."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

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
        "COLUMNS": "80",
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


def read_until(process: subprocess.Popen[str], marker: str, timeout: float) -> list[str]:
    """Lines of the demo's output up to and including the one containing `marker`."""
    lines: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if marker in line:
                found.set()
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert found.wait(timeout), "".join(lines)[-6000:]
    return lines


def show_dashboard(url: str, token: str, bad_commit: str) -> None:
    """Sign in with the printed token; the rollouts and the bad rollout's page, screenshotted."""
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.dashboard.conftest import CHROMIUM, CHROMIUM_ARGS, screenshot

    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{url}/login")
            page.get_by_label("Your API token").fill(token)
            page.get_by_role("button", name="Sign in").click()
            history = page.locator("table.history")
            expect(history).to_contain_text("done")
            expect(history).to_contain_text("staging failed")
            screenshot(page, "demo-rollouts")
            history.get_by_role("row", name=bad_commit[:10]).get_by_role("link").click()
            summary = page.get_by_role("region", name="Summary")
            expect(summary).to_contain_text("Outcome")
            expect(summary).to_contain_text("staging rolled back to")
            screenshot(page, "demo-bad-rollout")
        finally:
            browser.close()


@pytest.mark.browser
def test_demo_tells_both_commits_at_80_columns_then_serves_the_dashboard(
    sandbox: tuple[Path, dict[str, str]],
) -> None:
    root, env = sandbox
    process = subprocess.Popen(
        [*demo_command(), "demo", "--no-color", "--node", "simulated", "--serve"],
        env={**env, "COLUMNS": "80"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = read_until(process, "Press Ctrl-C", DEMO_TIMEOUT)
        out = "".join(lines)
        for expected in (
            "commit detected",
            "validated (render, schema, server dry-run)",
            "applied to staging",
            "staging smoke tests passed",
            "awaiting approval",
            "applied to production",
            "connectivity diff for production: 1 opened",
            "lint: no findings",  # the good commit is clean (it said "9 finding(s)")
            "+ frontend/web-0 → backend/api-0  TCP 9090",
            "simulated node",
            "notifications received by the webhook 'demo-receiver' (all signatures valid)",
            "approval.granted",
            "approval: POST /api/v1/rollouts/",
            "→ 200",
            "production now runs",
            "audit log",
            "staging failed: rolled back",
            "smoke tests in staging FAILED",
            "staging.rolled_back",
            "why it failed",
            "that is, backend became backnd",
            "2/2 commits behaved as expected",
        ):
            assert expected in out, f"{expected!r} not in the output:\n{out[-6000:]}"
        for wrong in ("✗ INVALID", "None", "TCP/9090", "content_hash", '"schema_version"'):
            assert wrong not in out, f"{wrong!r} in the output:\n{out}"
        assert all(len(line.rstrip("\n")) <= 80 for line in lines), out
        assert len(lines) < 160, out
        # The mistake's notifications are its own: they start with its detection.
        second = out.split("2. a commit with a mistake", 1)[1]
        notes = second.split("notifications received by the webhook", 1)[1].splitlines()
        assert "rollout.detected" in notes[1], second
        url = re.search(r"stay up: (http://127\.0\.0\.1:\d+)/", out)
        token = re.search(r"^  (nrt_\S+)$", out, re.MULTILINE)
        assert url is not None and token is not None, out
        answer = requests.get(
            f"{url.group(1)}/api/v1/rollouts",
            headers={"Authorization": f"Bearer {token.group(1)}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        bad = re.search(r'pushed ([0-9a-f]{12}) "Staging: tidy', out)
        assert bad is not None, out
        # In its own thread: the dashboard tests' session browser keeps a sync
        # Playwright (and its asyncio loop) open on this one.
        failures: list[BaseException] = []

        def look() -> None:
            try:
                show_dashboard(url.group(1), token.group(1), bad.group(1))
            except BaseException as exc:
                failures.append(exc)

        viewer = threading.Thread(target=look)
        viewer.start()
        viewer.join(DEMO_TIMEOUT)
        assert not viewer.is_alive(), "the dashboard check did not finish"
        if failures:
            raise failures[0]
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()
    assert_clean(root)


def test_ctrl_c_mid_run_cleans_up_and_exits_130(sandbox: tuple[Path, dict[str, str]]) -> None:
    root, env = sandbox
    process = subprocess.Popen(
        [*demo_command(), "demo", "--no-color", "--node", "simulated"],
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
            if "applied to staging" in line:
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
