"""The one place that talks HTTP to the kube-apiserver.

`KubeClient` wraps a kubernetes `ApiClient` (kubeconfig + context, or in-cluster)
with a keep-alive connection pool sized for `max_parallel_requests`, raw JSON
requests (no model classes, so any kind incl. CRDs works), API discovery
(kind -> resource path) and bounded retries with exponential backoff for
connection errors, timeouts, 429 and 5xx. After the last attempt it raises
ClusterError; a refusal (4xx) is raised as `ApiRefusal` for the caller to
report per object. Counts every request by method (`requests`), so tests and
benchmarks can assert "zero writes".
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    stop_any,
    wait_exponential,
)
from tenacity.stop import stop_base

from rollout.config.schema import ClusterRef
from rollout.errors import ClusterError, ConfigError

JSON = dict[str, Any]


class ApiRefusal(Exception):
    """The apiserver answered with a 4xx (not retried): status, reason, message."""

    def __init__(
        self, status: int, reason: str, message: str, *, kind: str = "", name: str = ""
    ) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        # The Status object's `details`: which resource the answer is about
        # (e.g. kind "namespaces", name "backend" for a missing namespace).
        self.kind = kind
        self.name = name

    @property
    def missing_namespace(self) -> str | None:
        """The namespace named by a 404 "namespaces X not found", else None."""
        if self.status == 404 and self.kind == "namespaces" and self.name:
            return self.name
        return None


class _Transient(Exception):
    """A retryable failure (connection, timeout, 429, 5xx)."""


class _Unreachable(_Transient):
    """No connection could be opened: retried at most `CONNECT_ATTEMPTS` times."""


# A server that cannot be connected to is said in seconds, not after the
# whole retry budget: a short connect timeout, and few attempts to connect.
CONNECT_TIMEOUT = 3.0
CONNECT_ATTEMPTS = 2


@dataclass(frozen=True)
class Resource:
    """Where a kind lives: `/apis/GROUP/VERSION` (or `/api/v1`), plural, scope."""

    base: str
    plural: str
    namespaced: bool

    def collection(self, namespace: str = "") -> str:
        if self.namespaced and namespace:
            return f"{self.base}/namespaces/{namespace}/{self.plural}"
        return f"{self.base}/{self.plural}"

    def item(self, name: str, namespace: str = "") -> str:
        return f"{self.collection(namespace)}/{name}"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    initial_delay: float = 0.2
    max_delay: float = 5.0
    deadline: float = 60.0


def api_client_for(ref: ClusterRef, *, pool_size: int) -> k8s.ApiClient:
    """A kubernetes ApiClient for `ref`; ConfigError if the kubeconfig is unusable."""
    configuration = k8s.Configuration()
    try:
        if ref.in_cluster:
            k8s_config.load_incluster_config(client_configuration=configuration)
        else:
            k8s_config.load_kube_config(
                config_file=str(ref.kubeconfig) if ref.kubeconfig else None,
                context=ref.context,
                client_configuration=configuration,
                persist_config=False,
            )
    except (ConfigException, OSError, TypeError) as exc:
        where = "in-cluster service account" if ref.in_cluster else kubeconfig_path(ref)
        hint = "" if ref.in_cluster else _context_hint(ref)
        raise ConfigError(f"cannot load cluster credentials from {where}: {exc}{hint}") from exc
    configuration.connection_pool_maxsize = max(pool_size, 1)
    configuration.retries = False  # tenacity owns retries
    return k8s.ApiClient(configuration)


def kubeconfig_path(ref: ClusterRef) -> str:
    """The kubeconfig file `ref` reads: its own, else $KUBECONFIG, else ~/.kube/config."""
    if ref.kubeconfig is not None:
        return str(ref.kubeconfig.expanduser())
    return os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or str(
        Path("~/.kube/config").expanduser()
    )


def credentials_text(ref: ClusterRef) -> str:
    """Where `ref`'s credentials come from, for messages: context and kubeconfig path."""
    if ref.in_cluster:
        return "in-cluster service account"
    context = f"context {ref.context}" if ref.context else "current context"
    return f"{context} of kubeconfig {kubeconfig_path(ref)}"


def kubeconfig_contexts(ref: ClusterRef) -> list[str]:
    """The context names in `ref`'s kubeconfig ([] when it cannot be read)."""
    try:
        contexts, _ = k8s_config.list_kube_config_contexts(config_file=kubeconfig_path(ref))
    except (ConfigException, OSError, TypeError, ValueError):
        return []
    return sorted(str(c["name"]) for c in contexts or [])


def _context_hint(ref: ClusterRef) -> str:
    if ref.context is None:
        return ""
    known = kubeconfig_contexts(ref)
    if not known or ref.context in known:
        return ""
    return f" (no context {ref.context!r}; the file has: {', '.join(known)})"


class KubeClient:
    """Raw JSON requests to one apiserver, with retries and request counting."""

    def __init__(
        self,
        api: k8s.ApiClient,
        *,
        timeout: timedelta = timedelta(seconds=30),
        max_parallel: int = 8,
        retry: RetryPolicy | None = None,
        server_name: str = "the apiserver",
    ) -> None:
        self._api = api
        self._timeout = timeout.total_seconds()
        self.max_parallel = max_parallel
        self._retry = retry or RetryPolicy()
        self.server_name = server_name
        self._discovery: dict[tuple[str, str], Resource] = {}
        self._discovered_versions: set[str] = set()
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()

    @classmethod
    def from_ref(cls, ref: ClusterRef, *, retry: RetryPolicy | None = None) -> KubeClient:
        api = api_client_for(ref, pool_size=ref.max_parallel_requests)
        return cls(
            api,
            timeout=ref.request_timeout,
            max_parallel=ref.max_parallel_requests,
            retry=retry,
            server_name=f"the apiserver at {api.configuration.host} ({credentials_text(ref)})",
        )

    @classmethod
    def from_kubeconfig(cls, path: Path, **kwargs: Any) -> KubeClient:
        return cls.from_ref(ClusterRef(kubeconfig=path), **kwargs)

    def close(self) -> None:
        self._api.close()

    @property
    def server(self) -> str:
        """The apiserver URL this client talks to."""
        return str(self._api.configuration.host)

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def writes(self) -> int:
        return sum(n for m, n in self.requests.items() if m in ("POST", "PUT", "PATCH", "DELETE"))

    # -- requests ------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        """One request; the decoded JSON answer. ApiRefusal on 4xx, ClusterError at the end."""
        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, _Transient)),
            stop=stop_any(
                stop_after_attempt(self._retry.attempts),
                stop_after_delay(self._retry.deadline),
                _StopWhenUnreachable(),
            ),
            wait=wait_exponential(multiplier=self._retry.initial_delay, max=self._retry.max_delay),
            reraise=False,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(method, path, query or [], body, content_type)
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            if isinstance(cause, _Unreachable):
                raise ClusterError(
                    f"cannot connect to {self.server_name}: {cause} "
                    f"({exc.last_attempt.attempt_number} attempts); is the cluster up, and "
                    "are this kubeconfig and context the right ones?"
                ) from cause
            raise ClusterError(
                f"{self.server_name} did not answer {method} {path} after "
                f"{exc.last_attempt.attempt_number} attempts: {cause}"
            ) from cause
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(
        self, method: str, path: str, query: list[tuple[str, str]], body: Any, content_type: str
    ) -> Any:
        with self._lock:
            self.requests[method] += 1
        # Straight to the keep-alive pool: the generated client's per-request
        # serialisation costs more CPU than the request itself on small objects.
        config = self._api.configuration
        url = config.host + path + (f"?{urlencode(query)}" if query else "")
        headers = {"Accept": "application/json", "User-Agent": "netpol-rollout"}
        for auth in config.auth_settings().values():
            if auth["in"] == "header" and auth["value"]:
                headers[auth["key"]] = auth["value"]
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = json.dumps(body, separators=(",", ":")).encode()
        try:
            response = self._api.rest_client.pool_manager.request(
                method,
                url,
                body=data,
                headers=headers,
                timeout=urllib3.Timeout(
                    connect=min(CONNECT_TIMEOUT, self._timeout), total=self._timeout
                ),
                retries=False,
                preload_content=True,
            )
        except (
            urllib3.exceptions.NewConnectionError,
            urllib3.exceptions.ConnectTimeoutError,
        ) as exc:
            raise _Unreachable(_reason(exc)) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        status = int(response.status)
        if status == 429 or status >= 500:
            raise _Transient(f"{status} {response.reason}")
        if status >= 400:
            raise _refusal(status, str(response.reason or ""), response.data)
        return json.loads(response.data) if response.data else None

    # -- discovery -------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> Resource:
        """The resource path of `kind`; ApiRefusal(404) if the cluster does not know it."""
        key = (api_version, kind)
        if key in self._discovery:
            return self._discovery[key]
        base = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        if api_version not in self._discovered_versions:
            listing = self.request("GET", base)
            with self._lock:
                for res in listing.get("resources", []):
                    if "/" in res["name"]:
                        continue
                    self._discovery[(api_version, res["kind"])] = Resource(
                        base, res["name"], bool(res["namespaced"])
                    )
                self._discovered_versions.add(api_version)
        if key not in self._discovery:
            raise ApiRefusal(404, "NotFound", f"the cluster has no kind {kind} in {api_version}")
        return self._discovery[key]


class _StopWhenUnreachable(stop_base):
    """Stop after `CONNECT_ATTEMPTS` attempts that could not connect."""

    def __call__(self, retry_state: RetryCallState) -> bool:
        outcome = retry_state.outcome
        failure = outcome.exception() if outcome is not None else None
        return isinstance(failure, _Unreachable) and retry_state.attempt_number >= CONNECT_ATTEMPTS


def _reason(exc: Exception) -> str:
    """`connection refused` rather than urllib3's object-laden text."""
    text = str(exc)
    cause = exc.__context__ or exc.__cause__
    if isinstance(cause, OSError) and cause.strerror:
        text = cause.strerror
    elif ": " in text:
        text = text.rsplit(": ", 1)[1]
    return text[:1].lower() + text[1:]


def _refusal(status: int, reason: str, body: bytes | None) -> ApiRefusal:
    message = reason
    kind = name = ""
    try:
        answer = json.loads(body or b"{}")
        message = answer.get("message") or message
        reason = answer.get("reason") or reason
        details = answer.get("details") or {}
        kind, name = str(details.get("kind") or ""), str(details.get("name") or "")
    except (ValueError, AttributeError):
        pass
    return ApiRefusal(status, str(reason), str(message), kind=kind, name=name)
