"""A real etcd + kube-apiserver per `ApiServer`, for integration tests.

No controller-manager, scheduler or kubelet run, which means:

* The `default` ServiceAccount is not created by a controller. The
  ServiceAccount admission plugin stays enabled (pods naming a missing
  ServiceAccount are rejected as in production), and `create_namespace()`
  creates `default` itself, as does startup for the `default` namespace.
  Namespaces created another way need `ensure_service_account(ns, "default")`
  before pods can be created there.
* Pods stay Pending forever; deleted namespaces stay Terminating forever
  (the namespace controller lives in kube-controller-manager), so tests
  should use fresh, uniquely named namespaces rather than delete and reuse.

Nothing here is global: every instance has its own ports, PKI, data dir and
clients, so a session can run a "staging" and a "production" cluster.

Binaries come from `hack/kube-binaries.sh` (see `KubeBinaries.discover`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from kubernetes import client as k8s
from kubernetes.client.rest import ApiException
from kubernetes.config import new_client_from_config

from tests.harness.certs import Pki, write_pki

KUBE_VERSION = "v1.34.4"
BIN_DIR_ENV = "NETPOL_KUBE_BIN_DIR"
KEEP_DIR_ENV = "NETPOL_KEEP_APISERVER_DIR"  # "1": keep logs/data after stop, for debugging
DEFAULT_BIN_DIR = Path.home() / ".cache" / "netpol-rollout" / f"kube-{KUBE_VERSION}"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"


class HarnessError(Exception):
    """Root of the harness errors."""


class KubeBinariesMissing(HarnessError):
    """The pinned etcd/kube-apiserver/kubectl are not built yet."""


class ApiServerStartError(HarnessError):
    """etcd or kube-apiserver did not come up; the message carries the log tail."""


@dataclass(frozen=True)
class KubeBinaries:
    etcd: Path
    kube_apiserver: Path
    kubectl: Path

    @classmethod
    def discover(cls) -> KubeBinaries:
        """Find the binaries in $NETPOL_KUBE_BIN_DIR or the default cache folder.

        Raises KubeBinariesMissing naming the folder and the build command.
        """
        bin_dir = Path(os.environ.get(BIN_DIR_ENV) or DEFAULT_BIN_DIR)
        found = cls(
            etcd=bin_dir / "etcd",
            kube_apiserver=bin_dir / "kube-apiserver",
            kubectl=bin_dir / "kubectl",
        )
        missing = [
            p.name
            for p in (found.etcd, found.kube_apiserver, found.kubectl)
            if not os.access(p, os.X_OK)
        ]
        if missing:
            raise KubeBinariesMissing(
                f"{', '.join(missing)} not found in {bin_dir} "
                f"(set by ${BIN_DIR_ENV} or the default). "
                "Build them with `hack/kube-binaries.sh` "
                "(needs Go >= 1.24; the first build takes minutes), "
                f"then export {BIN_DIR_ENV}=<the folder it prints> if you changed it."
            )
        return found


class ApiServer:
    """etcd + kube-apiserver on free loopback ports, torn down on exit.

    Use as a context manager, or call `start()` / `stop()` (both idempotent).
    Attributes after start: `url`, `ca_path`, `kubeconfig_path`, `workdir`.
    Raises ApiServerStartError from `start()` if either process fails.
    """

    def __init__(
        self,
        binaries: KubeBinaries,
        *,
        name: str = "test",
        base_dir: Path | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        self.binaries = binaries
        self.name = name
        self._base_dir = base_dir
        self._start_timeout = start_timeout
        self._procs: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []
        self._clients: list[k8s.ApiClient] = []
        self.workdir: Path | None = None
        self.url = ""
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
        self.workdir = Path(
            tempfile.mkdtemp(prefix=f"netpol-kube-{self.name}-", dir=self._base_dir)
        )
        try:
            self._pki = write_pki(self.workdir / "pki")
            deadline = time.monotonic() + self._start_timeout
            etcd_url = self._start_etcd(deadline)
            self._start_apiserver(etcd_url, deadline)
            self._write_admin_kubeconfig()
            self.ensure_service_account("default", "default")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate (then kill) the processes and remove the work dir."""
        for api in self._clients:
            _close_client(api)
        self._clients.clear()
        for proc, log in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            log.close()
        self._procs.clear()
        if self.workdir is not None:
            if os.environ.get(KEEP_DIR_ENV) == "1":
                print(f"[harness] kept {self.workdir}", file=sys.stderr)
            else:
                shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

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

    # -- clients and helpers -------------------------------------------------

    def api_client(self, kubeconfig: Path | None = None) -> k8s.ApiClient:
        """A new kubernetes ApiClient for the admin (or the given kubeconfig).

        Closed by `stop()`; close it earlier with `close_client()` if you make many.
        """
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
            _close_client(api)

    def create_namespace(self, name: str, labels: dict[str, str] | None = None) -> str:
        """Create namespace `name` (or relabel it if it exists) and its `default` ServiceAccount."""
        body = {"metadata": {"name": name, "labels": dict(labels or {})}}
        with self.client() as api:
            core = k8s.CoreV1Api(api)
            try:
                core.create_namespace(body)
            except ApiException as exc:
                if exc.status != 409:
                    raise
                core.patch_namespace(name, body)
        self.ensure_service_account(name, "default")
        return name

    def ensure_service_account(self, namespace: str, name: str) -> None:
        """Create ServiceAccount `namespace/name` unless it exists."""
        with self.client() as api:
            _create_or_ignore(
                k8s.CoreV1Api(api).create_namespaced_service_account,
                namespace,
                {"metadata": {"name": name}},
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
        subject = {"kind": "ServiceAccount", "name": name, "namespace": namespace}
        role = {"metadata": {"name": role_name}, "rules": rules}
        binding = {
            "metadata": {"name": role_name},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole" if cluster_wide else "Role",
                "name": role_name,
            },
            "subjects": [subject],
        }
        with self.client() as api:
            rbac = k8s.RbacAuthorizationV1Api(api)
            if cluster_wide:
                _create_or_replace(rbac.create_cluster_role, rbac.replace_cluster_role, role)
                _create_or_replace(
                    rbac.create_cluster_role_binding, rbac.replace_cluster_role_binding, binding
                )
            else:
                _create_or_replace(
                    rbac.create_namespaced_role, rbac.replace_namespaced_role, role, namespace
                )
                _create_or_replace(
                    rbac.create_namespaced_role_binding,
                    rbac.replace_namespaced_role_binding,
                    binding,
                    namespace,
                )
            token = (
                k8s.CoreV1Api(api)
                .create_namespaced_service_account_token(
                    name,
                    namespace,
                    {
                        "spec": {
                            "audiences": [SERVICE_ACCOUNT_ISSUER],
                            "expirationSeconds": expiration_seconds,
                        }
                    },
                )
                .status.token
            )
            self._wait_authorized(
                api,
                f"system:serviceaccount:{namespace}:{name}",
                rules,
                None if cluster_wide else namespace,
            )
        path = self._require_workdir() / "kubeconfigs" / f"{namespace}.{name}.kubeconfig"
        path.parent.mkdir(exist_ok=True)
        self._write_kubeconfig(path, f"{namespace}-{name}", {"token": token})
        return path

    # -- internals -----------------------------------------------------------

    def _start_etcd(self, deadline: float) -> str:
        workdir = self._require_workdir()
        client_port, peer_port = _free_ports(2)
        client_url = f"http://127.0.0.1:{client_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        self._spawn(
            "etcd",
            [
                str(self.binaries.etcd),
                "--name=default",
                f"--data-dir={workdir / 'etcd'}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=default={peer_url}",
                "--unsafe-no-fsync",  # throwaway data; fsync dominates startup and writes
                "--log-level=warn",
            ],
        )
        self._wait_until("etcd", deadline, lambda: _http_ok(f"{client_url}/health", None))
        return client_url

    def _start_apiserver(self, etcd_url: str, deadline: float) -> None:
        pki = self._require_pki()
        port = _free_ports(1)[0]
        self.url = f"https://127.0.0.1:{port}"
        cert_dir = self._require_workdir() / "apiserver-certs"
        cert_dir.mkdir()
        self._spawn(
            "kube-apiserver",
            [
                str(self.binaries.kube_apiserver),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={cert_dir}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                "--authorization-mode=RBAC",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                f"--service-account-key-file={pki.service_account_pub}",
                f"--service-account-signing-key-file={pki.service_account_key}",
                "--service-cluster-ip-range=10.96.0.0/16",
                # Default admission plugins minus the ones that expect nodes or
                # controllers; ServiceAccount stays on (see module docstring).
                "--disable-admission-plugins=TaintNodesByCondition,DefaultStorageClass,"
                "StorageObjectInUseProtection,PersistentVolumeClaimResize,DefaultIngressClass",
                "--profiling=false",
                "--v=1",
            ],
        )
        ssl_context = self._admin_ssl_context()
        self._wait_until(
            "kube-apiserver", deadline, lambda: _http_ok(f"{self.url}/readyz", ssl_context)
        )

    def _spawn(self, name: str, argv: list[str]) -> None:
        self.log_dir.mkdir(exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("wb")
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        except BaseException:
            log.close()
            raise
        self._procs.append((proc, log))

    def _wait_until(self, name: str, deadline: float, ready: Any) -> None:
        proc = self._procs[-1][0]
        while True:
            if proc.poll() is not None:
                raise ApiServerStartError(
                    f"{name} exited with code {proc.returncode} during startup.\n"
                    + self._log_tail(name)
                )
            if ready():
                return
            if time.monotonic() > deadline:
                raise ApiServerStartError(
                    f"{name} not ready within {self._start_timeout:.0f}s.\n{self._log_tail(name)}"
                )
            time.sleep(0.1)

    def _log_tail(self, name: str, lines: int = 40) -> str:
        path = self.log_dir / f"{name}.log"
        try:
            text = path.read_text(errors="replace").splitlines()[-lines:]
        except OSError as exc:
            return f"(no log at {path}: {exc})"
        return f"--- last {len(text)} lines of {path} ---\n" + "\n".join(text)

    def _admin_ssl_context(self) -> ssl.SSLContext:
        pki = self._require_pki()
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        context.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
        return context

    def _write_admin_kubeconfig(self) -> None:
        pki = self._require_pki()
        self._write_kubeconfig(
            self.kubeconfig_path,
            "admin",
            {
                "client-certificate": str(pki.admin_cert),
                "client-key": str(pki.admin_key),
            },
        )

    def _write_kubeconfig(self, path: Path, user: str, credentials: dict[str, str]) -> None:
        # JSON is valid YAML, so kubectl and the Python client both read it.
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": self.name,
                    "cluster": {"server": self.url, "certificate-authority": str(self.ca_path)},
                }
            ],
            "users": [{"name": user, "user": credentials}],
            "contexts": [
                {"name": f"{user}@{self.name}", "context": {"cluster": self.name, "user": user}}
            ],
            "current-context": f"{user}@{self.name}",
        }
        path.touch(mode=0o600)
        path.write_text(json.dumps(config, indent=2) + "\n")

    def _wait_authorized(
        self, api: k8s.ApiClient, user: str, rules: list[dict[str, Any]], namespace: str | None
    ) -> None:
        # RBAC is served from an informer cache; wait until the first resource
        # rule is visible so the first request with the new token is not a flaky 403.
        rule = next((r for r in rules if r.get("resources")), None)
        if rule is None:
            return
        review = {
            "spec": {
                "user": user,
                "groups": ["system:serviceaccounts"],
                "resourceAttributes": {
                    "namespace": namespace or "",
                    "verb": rule["verbs"][0],
                    "group": (rule.get("apiGroups") or [""])[0],
                    "resource": rule["resources"][0],
                },
            }
        }
        authz = k8s.AuthorizationV1Api(api)
        deadline = time.monotonic() + 10
        while not authz.create_subject_access_review(review).status.allowed:
            if time.monotonic() > deadline:
                raise HarnessError(f"RBAC rule {rule} for {user} not effective after 10s")
            time.sleep(0.05)

    def _require_workdir(self) -> Path:
        if self.workdir is None:
            raise HarnessError(f"ApiServer {self.name!r} is not started")
        return self.workdir

    def _require_pki(self) -> Pki:
        if self._pki is None or self.workdir is None:
            raise HarnessError(f"ApiServer {self.name!r} is not started")
        return self._pki


def _free_ports(count: int) -> list[int]:
    # Hold all sockets open while picking so the ports differ; the tiny race
    # with other processes after closing is acceptable for tests.
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _http_ok(url: str, context: ssl.SSLContext | None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _die_with_parent() -> None:
    # Linux: SIGTERM the child if the test runner dies without tearing down.
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _close_client(api: k8s.ApiClient) -> None:
    api.close()
    # ApiClient.close() leaves urllib3's pooled sockets open; close them so
    # no ResourceWarning fires later (warnings are errors in this suite).
    api.rest_client.pool_manager.clear()


def _create_or_ignore(create: Any, namespace: str, body: dict[str, Any]) -> None:
    try:
        create(namespace, body)
    except ApiException as exc:
        if exc.status != 409:
            raise


def _create_or_replace(create: Any, replace: Any, body: dict[str, Any], *namespace: str) -> None:
    try:
        create(*namespace, body)
    except ApiException as exc:
        if exc.status != 409:
            raise
        replace(body["metadata"]["name"], *namespace, body)
