"""A real etcd + kube-apiserver per `ApiServer`: the development cluster of
`rollout demo` and of the integration tests.

No controller-manager, scheduler or kubelet run, which means:

* The `default` ServiceAccount is not created by a controller. The
  ServiceAccount admission plugin stays enabled (pods naming a missing
  ServiceAccount are rejected as in production), and `create_namespace()`
  creates `default` itself, as does startup for the `default` namespace.
  Namespaces created another way need `ensure_service_account(ns, "default")`
  before pods can be created there. Tokens are projected volumes, so no
  token controller is needed.
* Pods stay Pending unless a simulated node plays the kubelet
  (`rollout.devcluster.simulated_node`); deleted namespaces stay Terminating
  forever (the namespace controller lives in kube-controller-manager).

Nothing here is global: every instance has its own ports, PKI, data dir and
clients, so one process can run a "staging" and a "production" cluster.
Requests go through `rest()` (plain JSON over HTTPS; only `rollout.kube`
imports the kubernetes client). Binaries: `rollout.devcluster.binaries`.
"""

from __future__ import annotations

import os
import shutil
import ssl
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rollout.devcluster.binaries import BIN_DIR_ENV, DEFAULT_BIN_DIR, KUBE_VERSION, KubeBinaries
from rollout.devcluster.certs import Pki, write_pki
from rollout.devcluster.errors import ApiServerStartError, HarnessError
from rollout.devcluster.etcd import spawn_etcd
from rollout.devcluster.kubeapi import RestClient, write_kubeconfig
from rollout.devcluster.processes import ADDRESS_IN_USE, ManagedProcess, free_ports, http_ok

__all__ = ["BIN_DIR_ENV", "DEFAULT_BIN_DIR", "KUBE_VERSION", "ApiServer", "KubeBinaries"]

KEEP_DIR_ENV = "NETPOL_KEEP_APISERVER_DIR"  # "1": keep logs/data after stop, for debugging
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/16"
# Default admission plugins that need nodes, storage or ingress controllers.
DISABLED_ADMISSION_PLUGINS = (
    "TaintNodesByCondition",
    "DefaultStorageClass",
    "StorageObjectInUseProtection",
    "PersistentVolumeClaimResize",
    "DefaultIngressClass",
)
_START_ATTEMPTS = 3  # free ports can be taken by someone else before we bind them


class ApiServer:
    """etcd + kube-apiserver on free loopback ports, torn down on exit.

    Use as a context manager, or call `start()` / `stop()` (both idempotent).
    After start: `url`, `ca_path`, `kubeconfig_path` (admin, system:masters),
    `workdir`, `log_dir`, `pids`. `start()` raises ApiServerStartError if either
    process fails, with the tail of its log. With `etcd_url` the apiserver uses
    that (shared) etcd under `etcd_prefix` and starts none of its own.
    """

    def __init__(
        self,
        binaries: KubeBinaries,
        *,
        name: str = "test",
        base_dir: Path | None = None,
        start_timeout: float = 60.0,
        etcd_url: str | None = None,
        etcd_prefix: str = "/registry",
    ) -> None:
        self.binaries = binaries
        self.name = name
        self.etcd_url = etcd_url  # None: start an etcd of our own
        self.etcd_prefix = etcd_prefix
        self.url = ""
        self.workdir: Path | None = None
        self._base_dir = base_dir
        self._start_timeout = start_timeout
        self._processes: list[ManagedProcess] = []
        self._pki: Pki | None = None

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> ApiServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        if self.workdir is not None:
            return
        workdir = Path(tempfile.mkdtemp(prefix=f"netpol-kube-{self.name}-", dir=self._base_dir))
        self.workdir = workdir
        try:
            self._pki = write_pki(workdir / "pki")
            for attempt in range(1, _START_ATTEMPTS + 1):
                try:
                    self._start_processes(workdir / f"attempt-{attempt}")
                    break
                except ApiServerStartError as exc:
                    self._stop_processes()
                    if ADDRESS_IN_USE not in str(exc) or attempt == _START_ATTEMPTS:
                        raise ApiServerStartError(
                            f"{exc}\n(work dir {workdir} is removed on failure; "
                            f"set {KEEP_DIR_ENV}=1 to keep it)"
                        ) from exc
            write_kubeconfig(
                self.kubeconfig_path,
                cluster=self.name,
                server=self.url,
                ca_path=self._pki.ca_cert,
                user="admin",
                credentials={
                    "client-certificate": str(self._pki.admin_cert),
                    "client-key": str(self._pki.admin_key),
                },
            )
            self.ensure_service_account("default", "default")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate (then kill) the processes and remove the work dir."""
        self._stop_processes()
        if self.workdir is not None:
            if os.environ.get(KEEP_DIR_ENV) == "1":
                print(f"[devcluster] kept {self.workdir}", file=sys.stderr)
            else:
                shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    @property
    def pids(self) -> list[int]:
        """Process ids of the running etcd (if our own) and kube-apiserver."""
        return [process.pid for process in self._processes]

    # -- paths -------------------------------------------------------------

    @property
    def ca_path(self) -> Path:
        return self._require_pki().ca_cert

    @property
    def kubeconfig_path(self) -> Path:
        return self._require_workdir() / "admin.kubeconfig"

    @property
    def log_dir(self) -> Path:
        return self._require_workdir() / "logs"

    # -- requests ------------------------------------------------------------

    def rest(self) -> RestClient:
        """A JSON client for this apiserver, as its admin."""
        pki = self._require_pki()
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        context.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
        return RestClient(self.url, context)

    def create_namespace(self, name: str, labels: dict[str, str] | None = None) -> str:
        """Create namespace `name` (or relabel it) and its `default` ServiceAccount."""
        body = {"metadata": {"name": name, "labels": dict(labels or {})}}
        rest = self.rest()
        if not rest.create("/api/v1/namespaces", body):
            rest.merge_patch(f"/api/v1/namespaces/{name}", body)
        self.ensure_service_account(name, "default")
        return name

    def ensure_service_account(self, namespace: str, name: str) -> None:
        """Create ServiceAccount `namespace/name` unless it exists."""
        self.rest().create(
            f"/api/v1/namespaces/{namespace}/serviceaccounts", {"metadata": {"name": name}}
        )

    def service_account_kubeconfig(
        self,
        namespace: str,
        name: str,
        rules: list[dict[str, Any]],
        cluster_wide: bool = False,
        *,
        expiration_seconds: int = 6 * 3600,
    ) -> Path:
        """Kubeconfig for ServiceAccount `namespace/name`, allowed exactly `rules`.

        `rules` are RBAC PolicyRules in API spelling, e.g.
        `{"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["list"]}`.
        Creates the namespace and ServiceAccount if missing, a Role + RoleBinding
        in `namespace` (or, with `cluster_wide`, a ClusterRole + ClusterRoleBinding
        named `<namespace>:<name>`), mints a token with the TokenRequest API and
        waits until the authorizer sees the binding. Returns the kubeconfig path.
        """
        self.create_namespace(namespace)
        self.ensure_service_account(namespace, name)
        role_name = f"{namespace}:{name}" if cluster_wide else name
        role = {"metadata": {"name": role_name}, "rules": rules}
        binding = {
            "metadata": {"name": role_name},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole" if cluster_wide else "Role",
                "name": role_name,
            },
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        }
        rbac = "/apis/rbac.authorization.k8s.io/v1"
        scope = rbac if cluster_wide else f"{rbac}/namespaces/{namespace}"
        kind = "cluster" if cluster_wide else ""
        rest = self.rest()
        rest.create_or_replace(f"{scope}/{kind}roles", role)
        rest.create_or_replace(f"{scope}/{kind}rolebindings", binding)
        token_request = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {
                "audiences": [SERVICE_ACCOUNT_ISSUER],
                "expirationSeconds": expiration_seconds,
            },
        }
        answer = rest.request(
            "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", token_request
        )
        token = str(answer["status"]["token"])
        user = f"system:serviceaccount:{namespace}:{name}"
        rest.wait_authorized(user, rules, None if cluster_wide else namespace)
        return write_kubeconfig(
            self._require_workdir() / "kubeconfigs" / f"{namespace}.{name}.kubeconfig",
            cluster=self.name,
            server=self.url,
            ca_path=self.ca_path,
            user=f"{namespace}-{name}",
            credentials={"token": token},
        )

    # -- internals -----------------------------------------------------------

    def _start_processes(self, run_dir: Path) -> None:
        pki = self._require_pki()
        deadline = time.monotonic() + self._start_timeout
        etcd_url = self.etcd_url
        if etcd_url is None:
            etcd, etcd_url = spawn_etcd(
                self.binaries, run_dir / "etcd", self.log_dir / "etcd.log", deadline
            )
            self._processes.append(etcd)
        (secure_port,) = free_ports(1)  # after etcd listens, so never one of its ports
        self.url = f"https://127.0.0.1:{secure_port}"
        apiserver = self._spawn(
            "kube-apiserver",
            [
                str(self.binaries.kube_apiserver),
                f"--etcd-servers={etcd_url}",
                f"--etcd-prefix={self.etcd_prefix}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={secure_port}",
                f"--cert-dir={run_dir / 'apiserver-certs'}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                "--authorization-mode=RBAC",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                f"--service-account-key-file={pki.service_account_pub}",
                f"--service-account-signing-key-file={pki.service_account_key}",
                f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
                f"--disable-admission-plugins={','.join(DISABLED_ADMISSION_PLUGINS)}",
                "--profiling=false",
                "--v=1",
            ],
        )
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        context.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
        apiserver.wait_ready(lambda: http_ok(f"{self.url}/readyz", context), deadline)

    def _spawn(self, name: str, argv: list[str]) -> ManagedProcess:
        process = ManagedProcess(name, argv, self.log_dir / f"{name}.log")
        self._processes.append(process)
        return process

    def _stop_processes(self) -> None:
        # apiserver first, then etcd, so the apiserver shuts down cleanly.
        for process in reversed(self._processes):
            process.stop()
        self._processes.clear()

    def _require_workdir(self) -> Path:
        if self.workdir is None:
            raise HarnessError(f"ApiServer {self.name!r} is not started")
        return self.workdir

    def _require_pki(self) -> Pki:
        if self._pki is None or self.workdir is None:
            raise HarnessError(f"ApiServer {self.name!r} is not started")
        return self._pki
