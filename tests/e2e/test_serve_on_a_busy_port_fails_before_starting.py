"""`rollout serve` on an address another process holds: one line, exit 2, nothing
started (no "serving", no "leads": the socket is bound before anything else)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROLLOUT = (sys.executable, "-m", "rollout")

CONFIG = """
repository: {path: repo}
environments:
  - name: staging
    cluster: {kubeconfig: kubeconfig}
    namespaces: [shop]
    overlay: staging
"""


def test_serve_on_a_busy_port_says_so_in_one_line_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path / "repo")], check=True)
    config = tmp_path / "rollout.yaml"
    config.write_text(CONFIG)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run(
            [*ROLLOUT, "serve", "-c", str(config), "--listen", f"127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "ROLLOUT_LOG_LEVEL": "INFO"},
            cwd=tmp_path,
        )
    assert done.returncode == 2, done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert lines == [
        f"error: cannot listen on 127.0.0.1:{port}: address already in use (another "
        "process uses it; choose another address with --listen or server.listen)"
    ]
