"""Small helpers over the kubernetes client for test code.

`write_kubeconfig` lives in `rollout.devcluster.kubeapi` (re-exported here).
"""

from __future__ import annotations

import time
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from rollout.devcluster.errors import HarnessError
from rollout.devcluster.kubeapi import write_kubeconfig

__all__ = [
    "close_client",
    "create_or_ignore",
    "create_or_replace",
    "wait_authorized",
    "write_kubeconfig",
]


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
