"""The few apiserver calls a development cluster needs, as plain JSON over HTTPS.

Only `rollout.kube` imports the kubernetes client; the development cluster
talks to its own apiserver with the standard library (admin client cert).
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rollout.devcluster.errors import DevApiError, HarnessError

JSON = dict[str, Any]


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


class RestClient:
    """JSON requests to one apiserver as its admin. Raises DevApiError."""

    def __init__(self, url: str, context: ssl.SSLContext, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._context = context
        self._timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        query: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> JSON:
        url = self.url + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(
                request, timeout=self._timeout, context=self._context
            ) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise DevApiError(f"{method} {path}: {exc.code} {detail}", exc.code) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise DevApiError(f"{method} {path}: {exc}") from exc
        return dict(json.loads(raw)) if raw else {}

    def get(self, path: str, **query: str) -> JSON:
        return self.request("GET", path, query=query or None)

    def create(self, path: str, body: Mapping[str, Any], *, exist_ok: bool = True) -> JSON:
        """POST `body` to the collection `path`; AlreadyExists is fine with `exist_ok`."""
        try:
            return self.request("POST", path, body)
        except DevApiError as exc:
            if exc.status == 409 and exist_ok:
                return {}
            raise

    def create_or_replace(self, path: str, body: Mapping[str, Any]) -> JSON:
        """Create `body` in `path`, or replace the existing object of the same name."""
        try:
            return self.request("POST", path, body)
        except DevApiError as exc:
            if exc.status != 409:
                raise
        return self.request("PUT", f"{path}/{body['metadata']['name']}", body)

    def merge_patch(self, path: str, body: Mapping[str, Any]) -> JSON:
        return self.request("PATCH", path, body, content_type="application/merge-patch+json")

    def wait_authorized(
        self, user: str, rules: list[dict[str, Any]], namespace: str | None, timeout: float = 10
    ) -> None:
        """Wait until the authorizer grants `user` the first resource rule.

        RBAC is served from an informer cache, so a binding is effective a moment
        after it is created. Raises HarnessError after `timeout` seconds.
        """
        rule = next((r for r in rules if r.get("resources")), None)
        if rule is None:
            return
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": user,
                "groups": ["system:serviceaccounts", "system:authenticated"],
                "resourceAttributes": {
                    "namespace": namespace or "",
                    "verb": rule["verbs"][0],
                    "group": (rule.get("apiGroups") or [""])[0],
                    "resource": rule["resources"][0],
                },
            },
        }
        deadline = time.monotonic() + timeout
        path = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
        while not self.request("POST", path, review).get("status", {}).get("allowed"):
            if time.monotonic() > deadline:
                raise HarnessError(f"RBAC rule {rule} for {user} not effective after {timeout}s")
            time.sleep(0.05)
