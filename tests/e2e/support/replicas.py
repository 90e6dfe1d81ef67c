"""Several `rollout serve` replicas of one configuration, each a real subprocess
with its own identity (POD_NAME), port and log, for the leader-election tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.e2e.conftest import free_port


@dataclass
class Replica:
    identity: str
    config: Path
    log: Path
    lease_kubeconfig: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "ROLLOUT_DRIVE_TICK": "0.5",
            "POD_NAME": self.identity,
            "ROLLOUT_LEASE_KUBECONFIG": str(self.lease_kubeconfig),
        }
        command = [sys.executable, "-m", "rollout", "serve", "-c", str(self.config)]
        with self.log.open("ab") as out:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [*command, "--listen", f"127.0.0.1:{self.port}"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def role(self) -> str | None:
        """`leader`, `follower`, or None while not serving."""
        try:
            response = requests.get(f"{self.url}/readyz", timeout=1)
        except requests.RequestException:
            return None
        return str(response.json().get("detail")) if response.status_code == 200 else None

    def kill9(self) -> float:
        """kill -9; returns the monotonic time of the kill."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        self.process.wait(10)
        self.process = None
        return killed

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(60)
        self.process = None
        return code

    def records(self) -> list[dict[str, Any]]:
        """The replica's JSON log lines."""
        lines = []
        for line in self.log.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
        return lines

    def transitions(self) -> list[str]:
        """Every state change this replica made (`rollout X: a -> b`)."""
        return [
            r["message"]
            for r in self.records()
            if r.get("logger") == "rollout.engine" and "from" in r and "to" in r
        ]


@contextmanager
def replicas(
    root: Path, config: Path, lease_kubeconfig: Path, count: int
) -> Iterator[list[Replica]]:
    made = [
        Replica(
            f"replica-{i}-{uuid.uuid4().hex[:4]}",
            config,
            root / f"replica-{i}.log",
            lease_kubeconfig,
        )
        for i in range(count)
    ]
    try:
        yield made
    finally:
        for replica in made:
            if replica.process is not None:
                replica.kill9()


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh database on the test server, dropped afterwards (as the store tests do)."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"netpol_e2e_{uuid.uuid4().hex[:12]}"
    admin = make_url(admin_url).set(drivername="postgresql")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
