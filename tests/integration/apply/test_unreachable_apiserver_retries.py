"""An unreachable apiserver gets bounded retries with backoff, then ClusterError."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
import yaml

from rollout.errors import ClusterError
from rollout.kube.client import KubeClient, RetryPolicy

pytestmark = pytest.mark.integration


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_apiserver_is_retried_then_reported(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "c",
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {
                            "server": f"https://127.0.0.1:{_closed_port()}",
                            "insecure-skip-tls-verify": True,
                        },
                    }
                ],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            }
        )
    )
    retry = RetryPolicy(attempts=4, initial_delay=0.05, max_delay=0.2, deadline=10)
    with KubeClient.from_kubeconfig(kubeconfig, retry=retry) as client:
        start = time.monotonic()
        with pytest.raises(ClusterError, match="after 4 attempts") as err:
            client.request("GET", "/api/v1/namespaces")
        elapsed = time.monotonic() - start
    assert client.requests["GET"] == 4
    assert 0.1 < elapsed < 5  # backed off, but bounded
    assert "did not answer GET /api/v1/namespaces" in str(err.value)
