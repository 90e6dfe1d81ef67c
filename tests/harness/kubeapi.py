"""Small helpers over the kubernetes client used by the harness."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from tests.harness.errors import HarnessError


def write_kubeconfig(
    path: Path, *, cluster: str, server: str, ca_path: Path, user: str, credentials: dict[str, str]
) -> Path:
    """Write a one-context kubeconfig (mode 0600) and return `path`."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": cluster, "cluster": {"server": server, "certificate-authority": str(ca_path)}}
        ],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": f"{user}@{cluster}", "context": {"cluster": cluster, "user": user}}],
        "current-context": f"{user}@{cluster}",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    # JSON is valid YAML: kubectl and the Python client both read it.
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def close_client(api: k8s.ApiClient) -> None:
    api.close()
    # ApiClient.close() leaves urllib3's pooled sockets open; close them so
    # no ResourceWarning fires later (warnings are errors in this suite).
    api.rest_client.pool_manager.clear()


def create_or_ignore(create: Any, *args: Any) -> None:
    """Call `create(*args)`; an AlreadyExists (409) answer is fine."""
    try:
        create(*args)
    except ApiException as exc:
        if exc.status != 409:
            raise


def create_or_replace(create: Any, replace: Any, body: dict[str, Any], *namespace: str) -> None:
    """Create `body`, or replace the existing object of the same name."""
    try:
        create(*namespace, body)
    except ApiException as exc:
        if exc.status != 409:
            raise
        replace(body["metadata"]["name"], *namespace, body)


def wait_authorized(
    api: k8s.ApiClient,
    user: str,
    rules: list[dict[str, Any]],
    namespace: str | None,
    timeout: float = 10,
) -> None:
    """Wait until the authorizer grants `user` the first resource rule.

    RBAC is served from an informer cache, so a binding is effective a moment
    after it is created; without this the first request may get a flaky 403.
    Raises HarnessError after `timeout` seconds.
    """
    rule = next((r for r in rules if r.get("resources")), None)
    if rule is None:
        return
    review = {
        "spec": {
            "user": user,
            "groups": ["system:serviceaccounts", "system:authenticated"],
            "resourceAttributes": {
                "namespace": namespace or "",
                "verb": rule["verbs"][0],
                "group": (rule.get("apiGroups") or [""])[0],
                "resource": rule["resources"][0],
            },
        }
    }
    authz = k8s.AuthorizationV1Api(api)
    deadline = time.monotonic() + timeout
    while not authz.create_subject_access_review(review).status.allowed:
        if time.monotonic() > deadline:
            raise HarnessError(f"RBAC rule {rule} for {user} not effective after {timeout}s")
        time.sleep(0.05)
