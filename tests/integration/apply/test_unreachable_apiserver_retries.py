"""An apiserver that answers 5xx gets bounded retries with backoff, then ClusterError;
one that cannot be connected to is said after `CONNECT_ATTEMPTS`, not the whole budget."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import yaml

from rollout.errors import ClusterError
from rollout.kube.client import CONNECT_ATTEMPTS, KubeClient, RetryPolicy
from tests.standins import serving

pytestmark = pytest.mark.integration


def _kubeconfig(tmp_path: Path, server: str) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "c",
                "clusters": [
                    {"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}
                ],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            }
        )
    )
    return path


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Unavailable(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503, "Service Unavailable")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def unavailable_server() -> Iterator[str]:
    with serving(_Unavailable) as origin:
        yield origin


RETRY = RetryPolicy(attempts=4, initial_delay=0.05, max_delay=0.2, deadline=10)


def test_a_failing_apiserver_is_retried_with_backoff_then_reported(
    tmp_path: Path, unavailable_server: str
) -> None:
    kubeconfig = _kubeconfig(tmp_path, unavailable_server)
    with KubeClient.from_kubeconfig(kubeconfig, retry=RETRY) as client:
        start = time.monotonic()
        with pytest.raises(ClusterError, match="after 4 attempts") as err:
            client.request("GET", "/api/v1/namespaces")
        elapsed = time.monotonic() - start
    assert client.requests["GET"] == 4
    assert 0.1 < elapsed < 5  # backed off, but bounded
    assert "did not answer GET /api/v1/namespaces" in str(err.value)
    assert "503 Service Unavailable" in str(err.value)


def test_an_apiserver_that_cannot_be_connected_to_is_said_after_few_attempts(
    tmp_path: Path,
) -> None:
    server = f"https://127.0.0.1:{_closed_port()}"
    kubeconfig = _kubeconfig(tmp_path, server)
    refused = pytest.raises(ClusterError, match=f"\\({CONNECT_ATTEMPTS} attempts\\)")
    with KubeClient.from_kubeconfig(kubeconfig, retry=RETRY) as client, refused as err:
        client.request("GET", "/api/v1/namespaces")
    assert client.requests["GET"] == CONNECT_ATTEMPTS < RETRY.attempts
    assert f"cannot connect to the apiserver at {server}" in str(err.value)
    assert "connection refused" in str(err.value)
