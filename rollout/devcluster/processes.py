"""Child processes with a log file, a readiness wait and a reliable stop."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from rollout.devcluster.errors import ApiServerStartError

ADDRESS_IN_USE = "address already in use"


class ManagedProcess:
    """`argv` running with stdout+stderr in `log_path`; dies with its parent process."""

    def __init__(self, name: str, argv: list[str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("wb")
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                # Own process group: a terminal's Ctrl-C reaches only us, and we stop
                # the child in order (apiserver before etcd) when cleaning up.
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        except BaseException:
            self._log.close()
            raise

    @property
    def pid(self) -> int:
        return self._proc.pid

    def wait_ready(self, ready: Callable[[], bool], deadline: float) -> None:
        """Poll `ready` until it is true; raise ApiServerStartError if the
        process exits or `deadline` (time.monotonic) passes."""
        while True:
            if self._proc.poll() is not None:
                raise ApiServerStartError(
                    f"{self.name} exited with code {self._proc.returncode} during startup.\n"
                    + self.log_tail()
                )
            if ready():
                return
            if time.monotonic() > deadline:
                raise ApiServerStartError(f"{self.name} not ready in time.\n{self.log_tail()}")
            time.sleep(0.1)

    def log_tail(self, lines: int = 40) -> str:
        self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError as exc:
            return f"(no log at {self.log_path}: {exc})"
        return f"--- last {len(text)} lines of {self.log_path} ---\n" + "\n".join(text)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds; idempotent."""
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports that were free a moment ago.

    Another process may still grab one before our child binds it; callers
    retry when the child reports ADDRESS_IN_USE.
    """
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def http_ok(url: str, context: ssl.SSLContext | None) -> bool:
    """True if GET `url` answers 200 within 2 seconds."""
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _die_with_parent() -> None:
    # Linux: SIGTERM the child if the test runner dies without tearing down,
    # so a killed CI job leaves no etcd/apiserver behind.
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
