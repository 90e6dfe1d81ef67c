"""The integration tests' apiserver: `rollout.devcluster.apiserver.ApiServer`
plus kubernetes-client access (`api_client()`, `client()`) for test code.

The processes, PKI and discovery live in the package (`rollout.devcluster`),
which `rollout demo` uses too; only the test-side client helpers are here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from kubernetes import client as k8s
from kubernetes.config import new_client_from_config

from rollout.devcluster import apiserver as _dev
from rollout.devcluster.apiserver import (
    BIN_DIR_ENV,
    DEFAULT_BIN_DIR,
    DISABLED_ADMISSION_PLUGINS,
    KEEP_DIR_ENV,
    KUBE_VERSION,
    SERVICE_ACCOUNT_ISSUER,
    SERVICE_CLUSTER_IP_RANGE,
    KubeBinaries,
)
from tests.harness.kubeapi import close_client

__all__ = [
    "BIN_DIR_ENV",
    "DEFAULT_BIN_DIR",
    "DISABLED_ADMISSION_PLUGINS",
    "KEEP_DIR_ENV",
    "KUBE_VERSION",
    "SERVICE_ACCOUNT_ISSUER",
    "SERVICE_CLUSTER_IP_RANGE",
    "ApiServer",
    "KubeBinaries",
]


class ApiServer(_dev.ApiServer):
    """`rollout.devcluster.apiserver.ApiServer` with kubernetes clients closed by `stop()`."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._clients: list[k8s.ApiClient] = []

    def stop(self) -> None:
        for api in self._clients:
            close_client(api)
        self._clients.clear()
        super().stop()

    def api_client(self, kubeconfig: Path | None = None) -> k8s.ApiClient:
        """A new ApiClient for the admin (or the given kubeconfig); closed by `stop()`."""
        api = new_client_from_config(
            config_file=str(kubeconfig or self.kubeconfig_path), persist_config=False
        )
        self._clients.append(api)
        return api

    @contextlib.contextmanager
    def client(self, kubeconfig: Path | None = None) -> Iterator[k8s.ApiClient]:
        """`api_client()` as a context manager that closes it afterwards."""
        api = self.api_client(kubeconfig)
        try:
            yield api
        finally:
            self._clients.remove(api)
            close_client(api)
