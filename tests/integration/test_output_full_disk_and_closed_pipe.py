"""Through a real pipe and a real full disk, `rollout` output is complete or an
error: a full disk fails with exit 11 and a message, a reader that goes away
ends the command quietly with 141."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest

from rollout.cli.output import CHUNK_BYTES, CLOSED_PIPE_EXIT

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "policy-repo" / "k8s"
ROLLOUT = Path(sys.executable).parent / "rollout"


def _rollout(*args: str, stdout: IO[bytes]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(ROLLOUT), *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def test_a_full_disk_fails_the_command_with_exit_11() -> None:
    with open("/dev/full", "wb") as full:
        done = _rollout("policy", "lint", str(EXAMPLE), "-o", "json", stdout=full)
    assert done.returncode == 11, done.stderr
    assert b"error: could not write to standard output" in done.stderr
    assert b"Traceback" not in done.stderr


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    reader = subprocess.Popen(["head", "-c", "10"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert reader.stdin is not None
    code = (
        "import sys, time; from rollout.cli.exits import RolloutGroup\n"
        "from rollout.cli.output import emit\n"
        "time.sleep(0.5)\n"
        f"emit('pods: ' + 'x' * {4 * CHUNK_BYTES})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        stdout=reader.stdin,
        stderr=subprocess.PIPE,
        timeout=120,
        check=False,
    )
    reader.stdin.close()
    assert reader.stdout is not None
    head = reader.stdout.read()
    reader.stdout.close()
    assert reader.wait(timeout=30) == 0
    assert head == b"pods: xxxx"
    assert done.returncode == CLOSED_PIPE_EXIT
    assert done.stderr == b""
