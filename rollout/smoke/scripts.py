"""Custom smoke scripts: a command whose exit code is the verdict.

The command runs through `/bin/sh -c` in its own process group with
ENVIRONMENT, KUBECONFIG, ROLLOUT_ID and COMMIT_SHA set. Output (stdout and
stderr interleaved) is captured up to a bound, keeping the head and the tail.
On timeout the whole process group gets SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rollout.smoke.results import CheckResult, Outcome

MAX_OUTPUT_BYTES = 64 * 1024
KILL_GRACE_SECONDS = 3.0


@dataclass(frozen=True)
class ScriptRun:
    """What a script is and the context it runs in."""

    name: str
    command: str
    timeout: float
    environment: str
    kubeconfig: str = ""
    rollout_id: str = ""
    commit_sha: str = ""


class _BoundedOutput:
    """Keeps the first and last `limit / 2` bytes of a stream."""

    def __init__(self, limit: int) -> None:
        self._half = limit // 2
        self._head = bytearray()
        self._tail = bytearray()
        self._dropped = 0

    def feed(self, chunk: bytes) -> None:
        room = self._half - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        self._tail += chunk
        if len(self._tail) > self._half:
            cut = len(self._tail) - self._half
            self._dropped += cut
            del self._tail[:cut]

    def text(self) -> str:
        middle = f"\n[... {self._dropped} bytes of output dropped ...]\n" if self._dropped else ""
        return (
            bytes(self._head).decode(errors="replace")
            + middle
            + bytes(self._tail).decode(errors="replace")
        )


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_SECONDS), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_script(
    script: ScriptRun,
    *,
    cwd: Path | None = None,
    base_env: Mapping[str, str] | None = None,
    max_output: int = MAX_OUTPUT_BYTES,
    monotonic: Callable[[], float] = time.monotonic,
) -> CheckResult:
    """Run one script to its verdict; never raises for the script's own failure."""
    env = dict(os.environ if base_env is None else base_env)
    env.update(
        ENVIRONMENT=script.environment,
        KUBECONFIG=script.kubeconfig,
        ROLLOUT_ID=script.rollout_id,
        COMMIT_SHA=script.commit_sha,
    )
    started = monotonic()
    try:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", script.command],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as a whole
        )
    except OSError as exc:
        return CheckResult(
            name=script.name,
            kind="script",
            target=script.command,
            outcome="error",
            message=f"cannot start: {exc}",
        )
    output = _BoundedOutput(max_output)
    assert proc.stdout is not None
    stream = proc.stdout

    def pump() -> None:
        # os.read returns what is there (no waiting for a full buffer), b"" at EOF.
        while chunk := os.read(stream.fileno(), 65536):
            output.feed(chunk)

    reader = threading.Thread(target=pump, name=f"script-output-{script.name}", daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=script.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
    except BaseException:
        _kill_group(proc)  # Ctrl-C: never leave the script running
        raise
    # Grandchildren may hold the pipe open; the group kill ended them, so this is bounded.
    reader.join(timeout=5.0)
    stream.close()
    elapsed = monotonic() - started
    text = output.text()
    outcome: Outcome
    if timed_out:
        outcome, message = "failed", f"timed out after {script.timeout:g}s (process group killed)"
    elif proc.returncode == 0:
        outcome, message = "passed", "exit 0"
    elif proc.returncode < 0:
        outcome, message = "failed", f"killed by signal {-proc.returncode}"
    else:
        outcome, message = "failed", f"exit {proc.returncode}"
    return CheckResult(
        name=script.name,
        kind="script",
        target=script.command,
        outcome=outcome,
        message=message,
        seconds=round(elapsed, 3),
        output=text,
    )
