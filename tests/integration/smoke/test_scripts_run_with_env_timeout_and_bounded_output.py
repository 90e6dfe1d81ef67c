"""Custom smoke scripts: environment, exit code as verdict, timeout kills the whole
process group, output is bounded."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rollout.smoke.scripts import ScriptRun, run_script

pytestmark = pytest.mark.integration


def _script(command: str, timeout: float = 10) -> ScriptRun:
    return ScriptRun(
        name="custom",
        command=command,
        timeout=timeout,
        environment="staging",
        kubeconfig="/tmp/kc",
        rollout_id="r-42",
        commit_sha="abc123",
    )


def test_script_sees_its_environment_and_passes_on_exit_0(tmp_path: Path) -> None:
    script = tmp_path / "scripts" / "smoke-test.sh"
    script.parent.mkdir()
    script.write_text('#!/bin/sh\necho "$ENVIRONMENT $KUBECONFIG $ROLLOUT_ID $COMMIT_SHA $1"\n')
    script.chmod(0o755)

    result = run_script(_script("./scripts/smoke-test.sh staging"), cwd=tmp_path)

    assert result.outcome == "passed"
    assert result.output.strip() == "staging /tmp/kc r-42 abc123 staging"


def test_nonzero_exit_fails_with_the_code_and_output() -> None:
    result = run_script(_script("echo boom >&2; exit 3"))
    assert result.outcome == "failed"
    assert result.message == "exit 3"
    assert "boom" in result.output


def test_script_that_times_out_is_killed_with_its_children(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    began = time.monotonic()

    result = run_script(_script(f"sleep 60 & echo $! > {pidfile}; echo started; wait", timeout=1))

    assert time.monotonic() - began < 10
    assert result.outcome == "failed"
    assert "timed out after 1s" in result.message
    assert "started" in result.output
    child = int(pidfile.read_text())
    assert not _alive(child)


def _alive(pid: int) -> bool:
    """Running (a killed child nobody reaped yet is a zombie: dead)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.1)
    return True


def test_output_is_bounded_keeping_head_and_tail() -> None:
    result = run_script(
        _script("echo FIRST; head -c 300000 /dev/zero | tr '\\0' x; echo; echo LAST"),
        max_output=1000,
    )
    assert result.outcome == "passed"
    assert result.output.startswith("FIRST")
    assert result.output.rstrip().endswith("LAST")
    assert "bytes of output dropped" in result.output
    assert len(result.output) < 1200
