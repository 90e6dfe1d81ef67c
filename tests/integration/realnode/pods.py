"""Pods for real-node tests, and waiting for them."""

from __future__ import annotations

import time
from typing import Any

from rollout.devcluster.errors import DevApiError
from rollout.devcluster.kubeapi import RestClient


def running_pod(
    name: str, image: str, labels: dict[str, str] | None = None, script: str = "sleep 3600"
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "main",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", script],
                }
            ],
        },
    }


def wait_running(rest: RestClient, namespace: str, name: str, timeout: float) -> dict[str, Any]:
    """Poll until the pod runs with an IP; AssertionError with its status after `timeout`."""
    deadline = time.monotonic() + timeout
    pod: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            pod = rest.get(f"/api/v1/namespaces/{namespace}/pods/{name}")
        except DevApiError:
            pod = {}
        status = pod.get("status", {})
        if status.get("phase") == "Running" and status.get("podIP"):
            return pod
        time.sleep(0.2)
    status = pod.get("status")
    raise AssertionError(f"pod {namespace}/{name} not running after {timeout}s: {status}")
