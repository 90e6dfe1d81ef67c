"""`rollout serve` as a real subprocess against a bare git remote and two apiservers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from rollout.server.auth import hash_token
from rollout.store import open_store
from tests.harness.apiserver import ApiServer

TOKEN = "e2e-token-for-alice-0123456789"
NAMESPACE = "apps"


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Bob",
        "GIT_AUTHOR_EMAIL": "bob@example.com",
        "GIT_COMMITTER_NAME": "Bob",
        "GIT_COMMITTER_EMAIL": "bob@example.com",
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)
    return done.stdout.decode().strip()


def policy(name: str, port: int = 8080) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {
                "podSelector": {"matchLabels": {"app": "web"}},
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": [{"port": port, "protocol": "TCP"}]}],
            },
        }
    )


class Remote:
    def __init__(self, root: Path) -> None:
        self.bare = root / "policies.git"
        self.work = root / "work"
        self.work.mkdir()
        git(root, "init", "--bare", "-b", "main", str(self.bare))
        git(self.work, "init", "-b", "main")
        git(self.work, "remote", "add", "origin", str(self.bare))

    def push(self, files: dict[str, str], message: str) -> str:
        for path, text in files.items():
            target = self.work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-m", message)
        git(self.work, "push", "origin", "main")
        return git(self.work, "rev-parse", "HEAD")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Deployment:
    root: Path
    remote: Remote
    staging: ApiServer
    production: ApiServer
    config: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.root / f"serve-{len(self.logs)}.log"
        self.logs.append(log)
        env = {**os.environ, "ROLLOUT_DRIVE_TICK": "0.5"}
        with log.open("wb") as out:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "rollout", "serve", "-c", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        # Generous: a loaded CI machine imports the service slowly; a hang still fails.
        self.wait_for(lambda: self._ready(), "the service to be ready", timeout=120)

    def _ready(self) -> bool:
        try:
            return requests.get(f"{self.url}/readyz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.process = None

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(60)
        self.process = None
        return code

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(
            method,
            f"{self.url}/api/v1{path}",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
            **kwargs,
        )
        assert response.status_code < 300, response.text
        return response.json()

    def rollouts(self) -> list[dict[str, Any]]:
        body = self.api("GET", "/rollouts")
        return list(body["rollouts"] if isinstance(body, dict) else body)

    def rollout_for(self, sha: str) -> dict[str, Any] | None:
        return next((r for r in self.rollouts() if r["commit_sha"] == sha), None)

    def wait_state(self, sha: str, state: str, timeout: float = 60) -> dict[str, Any]:
        found: dict[str, Any] = {}

        def reached() -> bool:
            rollout = self.rollout_for(sha)
            found.update(rollout or {})
            return rollout is not None and rollout["state"] == state

        self.wait_for(reached, f"{sha[:8]} to be {state} (now {found.get('state')})", timeout)
        return found

    def wait_for(self, check: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"service exited: {self.logs[-1].read_text()[-4000:]}")
            if check():
                return
            time.sleep(0.2)
        tail = self.logs[-1].read_text()[-4000:] if self.logs else ""
        raise AssertionError(f"timed out waiting for {what}\n{tail}")

    def policies(self, server: ApiServer) -> dict[str, int]:
        from kubernetes import client as k8s

        with server.client() as api:
            items = k8s.NetworkingV1Api(api).list_namespaced_network_policy(NAMESPACE).items
            return {p.metadata.name: p.spec.ingress[0].ports[0].port for p in items}


@pytest.fixture(scope="module")
def clusters(apiserver_factory: Callable[..., ApiServer]) -> tuple[ApiServer, ApiServer]:
    staging = apiserver_factory(name="e2e-staging")
    production = apiserver_factory(name="e2e-production")
    for server in (staging, production):
        server.create_namespace(NAMESPACE)
        server.create_namespace("netpol-rollout")
    return staging, production


@pytest.fixture
def deployment(tmp_path: Path, clusters: tuple[ApiServer, ApiServer]) -> Iterator[Deployment]:
    staging, production = clusters
    for server in clusters:  # each test starts from empty clusters
        from kubernetes import client as k8s

        with server.client() as api:
            k8s.NetworkingV1Api(api).delete_collection_namespaced_network_policy(NAMESPACE)
            core = k8s.CoreV1Api(api)
            for cm in core.list_namespaced_config_map("netpol-rollout").items:
                core.delete_namespaced_config_map(cm.metadata.name, "netpol-rollout")
    remote = Remote(tmp_path)
    initial = {
        "policies/staging/web.yaml": policy("web"),
        "policies/production/web.yaml": policy("web"),
    }
    remote.push(initial, "initial")
    port = free_port()
    store_url = f"sqlite:///{tmp_path / 'state.db'}"
    config = {
        "repository": {
            "url": f"file://{remote.bare}",
            "subdirectory": "policies",
            "poll_interval": "1s",
        },
        "team": {"members": [{"name": "alice", "timezone": "UTC"}]},
        "environments": [
            {
                "name": "staging",
                "cluster": {"kubeconfig": str(staging.kubeconfig_path)},
                "namespaces": [NAMESPACE],
                "overlay": "staging",
                "allowed_kinds": ["NetworkPolicy"],
                "smoke": {"enabled": False},
            },
            {
                "name": "production",
                "cluster": {"kubeconfig": str(production.kubeconfig_path)},
                "namespaces": [NAMESPACE],
                "overlay": "production",
                "allowed_kinds": ["NetworkPolicy"],
                "smoke": {"enabled": False},
                "approvals": {"required": 1, "members": ["alice"], "allow_self_approval": True},
            },
        ],
        "store": {"url": store_url},
        "server": {"listen": f"127.0.0.1:{port}"},
    }
    path = tmp_path / "rollout.yaml"
    path.write_text(yaml.safe_dump(config))
    store = open_store(store_url, clock=lambda: datetime.now(UTC))
    store.create_token("alice", hash_token(TOKEN))
    store.close()
    deployed = Deployment(tmp_path, remote, staging, production, path, port)
    try:
        yield deployed
    finally:
        if deployed.process is not None:
            deployed.kill9()
