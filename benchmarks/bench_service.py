"""Benchmarks of `rollout serve` (figures for the notes, not timed tests).

    python -m benchmarks.bench_service

Starts two throwaway apiservers (the test harness), a bare git remote and the
service as a subprocess (GitHub webhook secret configured, poll interval 1 h
so only the webhook triggers), then measures:

- webhook-to-staging-applied latency for a one-policy change (goal < 2 s),
- idle resident memory (goal < 150 MB) and idle CPU over 30 s.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
import yaml

from tests.e2e.conftest import Deployment, Remote, free_port, policy
from tests.harness.apiserver import ApiServer, KubeBinaries

SECRET = "bench-webhook-secret"


def _rss_and_cpu(pid: int) -> tuple[float, float]:
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(stat[11]) + int(stat[12])) / ticks
    rss_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return rss_pages * os.sysconf("SC_PAGE_SIZE") / 2**20, cpu


def main() -> None:
    binaries = KubeBinaries.discover()
    servers = [ApiServer(binaries, name=n) for n in ("bench-staging", "bench-production")]
    for server in servers:
        server.start()
        server.create_namespace("apps")
        server.create_namespace("netpol-rollout")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            remote = Remote(root)
            remote.push({"policies/staging/web.yaml": policy("web")}, "initial")
            port = free_port()
            os.environ["BENCH_WEBHOOK_SECRET"] = SECRET
            os.environ["BENCH_GITHUB_TOKEN"] = "unused-token-value"
            config = {
                "repository": {
                    "url": f"file://{remote.bare}",
                    "subdirectory": "policies",
                    "poll_interval": "1h",
                },
                "environments": [
                    {
                        "name": "staging",
                        "cluster": {"kubeconfig": str(servers[0].kubeconfig_path)},
                        "namespaces": ["apps"],
                        "overlay": "staging",
                        "allowed_kinds": ["NetworkPolicy"],
                        "smoke": {"enabled": False},
                    },
                ],
                "notifications": {
                    "github": {
                        "repository": "org/policies",
                        "api_url": "http://127.0.0.1:9",
                        "token": {"env": "BENCH_GITHUB_TOKEN"},
                        "webhook_secret": {"env": "BENCH_WEBHOOK_SECRET"},
                    }
                },
                "store": {"url": f"sqlite:///{root / 'state.db'}"},
                "server": {"listen": f"127.0.0.1:{port}"},
            }
            path = root / "rollout.yaml"
            path.write_text(yaml.safe_dump(config))
            service = Deployment(root, remote, servers[0], servers[1], path, port)
            service.start()
            time.sleep(3)  # baseline poll done
            assert service.process is not None
            pid = service.process.pid
            time.sleep(5)
            _, cpu0 = _rss_and_cpu(pid)
            time.sleep(30)
            rss1, cpu1 = _rss_and_cpu(pid)
            print(
                f"idle RSS: {rss1:.1f} MiB; idle CPU: {100 * (cpu1 - cpu0) / 30:.2f}% of one core"
            )

            latencies = []
            for i in range(5):
                sha = remote.push({"policies/staging/web.yaml": policy("web", 8000 + i)}, f"c{i}")
                body = json.dumps({"ref": "refs/heads/main", "after": sha}).encode()
                signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                started = time.monotonic()
                requests.post(
                    f"{service.url}/github/webhook",
                    data=body,
                    headers={
                        "X-GitHub-Event": "push",
                        "X-GitHub-Delivery": str(uuid.uuid4()),
                        "X-Hub-Signature-256": signature,
                        "Content-Type": "application/json",
                    },
                    timeout=10,
                ).raise_for_status()
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    if service.policies(servers[0]).get("web") == 8000 + i:
                        break
                    time.sleep(0.02)
                latencies.append(time.monotonic() - started)
                time.sleep(1)
            print("webhook -> staging applied (s):", ", ".join(f"{x:.2f}" for x in latencies))
            print(f"median {sorted(latencies)[2]:.2f} s")
            service.terminate()
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
