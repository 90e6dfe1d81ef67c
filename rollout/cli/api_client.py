"""The CLI's one seam to the service's HTTP API (`/api/v1`), with a member token.

`approve`, `reject` and `status` share it; HTTP errors become the error tree
here (401 AuthError, 403 ApprovalError, 409 ConflictError, 404/400 InputError,
503 StoreError), carrying the service's own message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
import requests

from rollout.errors import (
    ApprovalError,
    AuthError,
    ConflictError,
    InputError,
    RolloutError,
    StoreError,
)

F = TypeVar("F", bound=Callable[..., Any])


class ApiClient:
    def __init__(
        self,
        server: str,
        token: str,
        *,
        session: requests.Session | None = None,
        timeout: float = 15,
    ) -> None:
        self.base = server.rstrip("/") + "/api/v1"
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "X-Rollout-Client": "cli"})
        self.timeout = timeout

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self._call("GET", path, params=params or None)

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._call("POST", path, json=body or {})

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = self.base + path
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise InputError(
                f"cannot reach the netpol-rollout service at {self.base}: {type(exc).__name__}",
                details=["check --server / ROLLOUT_SERVER"],
            ) from exc
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.ok and isinstance(data, dict):
            return data
        message = str(data.get("error") or data.get("detail") or response.reason)
        status = response.status_code
        if status == 401:
            raise AuthError(f"{message} (check --token / ROLLOUT_TOKEN)")
        if status == 409:
            raise ConflictError(message)
        if status == 403:
            raise ApprovalError(message)
        if status in (400, 404, 413, 422):
            raise InputError(message)
        if status == 503:
            raise StoreError(message)
        raise RolloutError(f"service answered {status}: {message}")


def server_options(func: F) -> F:
    """`--server` (ROLLOUT_SERVER) and `--token` (ROLLOUT_TOKEN) for API commands."""
    func = click.option(
        "--token",
        envvar="ROLLOUT_TOKEN",
        required=True,
        help="Your API token (`rollout token create`); env ROLLOUT_TOKEN.",
    )(func)
    func = click.option(
        "--server",
        envvar="ROLLOUT_SERVER",
        required=True,
        help="The service URL, e.g. https://rollout.example.com; env ROLLOUT_SERVER.",
    )(func)
    return func
