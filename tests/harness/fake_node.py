"""A fake node for the test apiserver: it plays the kubelet for smoke-test pods.

The harness has no kubelet, so pods stay Pending. `FakeNode` watches pods in
the namespaces it is told about through the real API and, like a kubelet,
writes their status back through the `pods/status` subresource:

* every pod gets a pod IP and phase Running (listeners, app pods);
* a probe pod (label `netpol-rollout.io/smoke-role=probe`) then really runs
  the runner's probe script (`sh -c`, the same text the pod's container
  carries, with the pod's own `CHECKS` env) with fake `nc`/`wget`/`nslookup`
  on PATH that answer from the connectivity table the test declares; the
  script's termination-log file becomes `terminated.message`, and the phase
  Succeeded/Failed from its exit code;
* a pod whose image is in `fail_images` gets `waiting: ErrImagePull` then
  `ImagePullBackOff`, and never starts.

The runner reads all of this with exactly the calls it makes on a real cluster.
Connectivity is a function `(source, target, port, protocol) -> bool`;
`target.kind` is `pod` (with labels), `service`, `dns` or `external` (an
address no fake pod or Service has; `reachable_tcp` connects for real, for
local listeners).
"""

from __future__ import annotations

import itertools
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client.rest import ApiException
from kubernetes.config import new_client_from_config

from rollout.smoke.probe import CHECKS_ENV, ROLE_LABEL, SELF_TEST_PORT, decode_checks
from tests.harness.kubeapi import close_client


@dataclass(frozen=True)
class FakeSource:
    namespace: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class FakeTarget:
    kind: str  # pod | service | dns | external
    host: str
    namespace: str = ""
    name: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)


Connectivity = Callable[[FakeSource, FakeTarget, int, str], bool]


def allow_everything(source: FakeSource, target: FakeTarget, port: int, protocol: str) -> bool:
    """A cluster whose network plugin enforces nothing."""
    return True


def reachable_tcp(target: FakeTarget, port: int, timeout: float = 1.0) -> bool:
    """Really connect to `target.host:port` (for tests with local listeners)."""
    try:
        with socket.create_connection((target.host, port), timeout=timeout):
            return True
    except OSError:
        return False


_NC = f"""#!/bin/sh
proto=tcp; listen=0
while [ $# -gt 0 ]; do
  case $1 in -l|-lk) listen=1 ;; -u) proto=udp ;; -w|-p|-e) shift ;; -*) ;; *) break ;; esac
  shift
done
[ $listen = 1 ] && exec sleep 30
if [ "$1 $2" = "127.0.0.1 {SELF_TEST_PORT}" ]; then [ -z "${{NR_BROKEN_TOOLS:-}}" ]; exit $?; fi
[ -n "${{NR_BROKEN_TOOLS:-}}" ] && exit 1
grep -qx "$proto $1 $2" "$NR_ALLOW" && exit 0
sleep 0.05; exit 1
"""
_WGET = """#!/bin/sh
for a in "$@"; do url=$a; done
hp=${url#http://}; hp=${hp%%/*}
grep -qx "tcp ${hp%:*} ${hp##*:}" "$NR_ALLOW" && exit 0
sleep 0.05; exit 1
"""
_NSLOOKUP = """#!/bin/sh
grep -qx "dns $1 53" "$NR_ALLOW" && exit 0
sleep 0.05; exit 1
"""


class FakeNode:
    """Plays the kubelet for pods in `namespaces` (add more with `watch_namespace`)."""

    def __init__(
        self,
        kubeconfig: Path,
        connectivity: Connectivity = allow_everything,
        *,
        namespaces: Iterable[str] = (),
        fail_images: Iterable[str] = (),
        broken_tools: bool = False,
        start_delay: float = 0.0,
        ignore_roles: Iterable[str] = (),
    ) -> None:
        self.connectivity = connectivity
        self.fail_images = frozenset(fail_images)
        self.broken_tools = broken_tools
        self.start_delay = start_delay
        self.ignore_roles = frozenset(ignore_roles)  # pods of these smoke roles stay Pending
        self._namespaces = set(namespaces)
        self._api = new_client_from_config(config_file=str(kubeconfig), persist_config=False)
        self._core = k8s.CoreV1Api(self._api)
        self._ips = (f"10.244.{i // 250}.{i % 250 + 2}" for i in itertools.count())
        self._pods_by_ip: dict[str, FakeTarget] = {}
        self._handled: set[str] = set()  # pod uids
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(32, thread_name_prefix="fake-kubelet")
        self._thread = threading.Thread(target=self._loop, name="fake-node", daemon=True)
        self._tools = Path(tempfile.mkdtemp(prefix="fake-node-tools-"))
        for name, text in (("nc", _NC), ("wget", _WGET), ("nslookup", _NSLOOKUP)):
            path = self._tools / name
            path.write_text(text)
            path.chmod(path.stat().st_mode | stat.S_IEXEC)
        self.probes_run: list[str] = []  # "ns/name" of every probe pod executed
        self.probe_seconds: list[float] = []  # how long each probe script ran
        self.errors: list[str] = []

    def watch_namespace(self, namespace: str) -> None:
        with self._lock:
            self._namespaces.add(namespace)
        for pod in self._core.list_namespaced_pod(namespace).items:
            self._on_pod(pod)

    def __enter__(self) -> FakeNode:
        self._thread.start()
        for ns in list(self._namespaces):
            self.watch_namespace(ns)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop playing the node (idempotent); pods keep their last status."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)
        close_client(self._api)

    # -- the watch -------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            stream = watch.Watch()
            try:
                for event in stream.stream(
                    self._core.list_pod_for_all_namespaces, timeout_seconds=1
                ):
                    if self._stop.is_set():
                        break
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._on_pod(event["object"])
            except Exception as exc:  # keep playing the node; record for the test
                if not self._stop.is_set():
                    self.errors.append(f"watch: {exc}")
            finally:
                stream.stop()

    def _on_pod(self, pod: Any) -> None:
        meta = pod.metadata
        with self._lock:
            if meta.namespace not in self._namespaces or meta.uid in self._handled:
                return
            if (meta.labels or {}).get(ROLE_LABEL) in self.ignore_roles:
                return
            if meta.deletion_timestamp is not None or (
                pod.status and pod.status.phase != "Pending"
            ):
                return
            self._handled.add(meta.uid)
        self._pool.submit(self._kubelet, meta.namespace, meta.name)

    # -- the kubelet -----------------------------------------------------------

    def _kubelet(self, namespace: str, name: str) -> None:
        try:
            if self.start_delay:
                self._stop.wait(self.start_delay)
            pod = self._core.read_namespaced_pod(name, namespace)
            container = pod.spec.containers[0]
            if container.image in self.fail_images:
                self._pull_failure(pod)
                return
            ip = next(self._ips)
            labels = dict(pod.metadata.labels or {})
            with self._lock:
                self._pods_by_ip[ip] = FakeTarget("pod", ip, namespace, name, labels)
            self._set_status(pod, "Running", ip, {"running": {"startedAt": _now()}})
            if labels.get(ROLE_LABEL) == "probe":
                self._run_probe(pod, ip)
        except ApiException as exc:
            if exc.status != 404:  # deleted under us: a kubelet would shrug too
                self.errors.append(f"{namespace}/{name}: {exc.status} {exc.reason}")
        except Exception as exc:
            self.errors.append(f"{namespace}/{name}: {exc!r}")

    def _pull_failure(self, pod: Any) -> None:
        image = pod.spec.containers[0].image
        for reason in ("ErrImagePull", "ImagePullBackOff"):
            message = f'Back-off pulling image "{image}": not found'
            self._set_status(
                pod, "Pending", None, {"waiting": {"reason": reason, "message": message}}
            )
            if self._stop.wait(0.5):
                return
            pod = self._core.read_namespaced_pod(pod.metadata.name, pod.metadata.namespace)

    def _run_probe(self, pod: Any, ip: str) -> None:
        container = pod.spec.containers[0]
        env = {e.name: e.value for e in container.env or []}
        source = FakeSource(pod.metadata.namespace, dict(pod.metadata.labels or {}))
        allowed = []
        for check in decode_checks(env.get(CHECKS_ENV, "")):
            target = self._target(check.kind, check.host)
            proto = "UDP" if check.kind in ("udp", "dns") else "TCP"
            if self.connectivity(source, target, check.port, proto):
                kind = {"http": "tcp"}.get(check.kind, check.kind)
                allowed.append(f"{kind} {check.host} {check.port}")
        with tempfile.TemporaryDirectory(prefix="fake-probe-") as tmp:
            (Path(tmp) / "allow").write_text("\n".join(allowed) + "\n")
            log = Path(tmp) / "termination-log"
            run_env = {
                "PATH": f"{self._tools}:/usr/bin:/bin",
                "TMPDIR": tmp,
                "NR_ALLOW": str(Path(tmp) / "allow"),
                "TERMINATION_LOG": str(log),
                **({"NR_BROKEN_TOOLS": "1"} if self.broken_tools else {}),
                **env,
            }
            # container.command is ["sh", "-c", SCRIPT]: run exactly that.
            began = time.monotonic()
            proc = subprocess.run(
                container.command, env=run_env, capture_output=True, timeout=600, check=False
            )
            self.probe_seconds.append(time.monotonic() - began)
            message = log.read_text() if log.exists() else proc.stderr.decode()[-4096:]
        self.probes_run.append(f"{pod.metadata.namespace}/{pod.metadata.name}")
        latest = self._core.read_namespaced_pod(pod.metadata.name, pod.metadata.namespace)
        terminated = {
            "exitCode": proc.returncode,
            "reason": "Completed" if proc.returncode == 0 else "Error",
            "message": message[:4096],
            "startedAt": _now(),
            "finishedAt": _now(),
        }
        phase = "Succeeded" if proc.returncode == 0 else "Failed"
        self._set_status(latest, phase, ip, {"terminated": terminated})

    def _target(self, kind: str, host: str) -> FakeTarget:
        if kind == "dns":
            return FakeTarget("dns", host)
        with self._lock:
            pod = self._pods_by_ip.get(host)
        if pod is not None:
            return pod
        for svc in self._core.list_service_for_all_namespaces().items:
            if svc.spec.cluster_ip == host:
                meta = svc.metadata
                return FakeTarget(
                    "service", host, meta.namespace, meta.name, dict(meta.labels or {})
                )
        return FakeTarget("external", host)

    def _set_status(self, pod: Any, phase: str, ip: str | None, state: dict[str, Any]) -> None:
        body = self._api.sanitize_for_serialization(pod)
        container = pod.spec.containers[0]
        body["status"] = {
            "phase": phase,
            "hostIP": "10.0.0.1",
            "podIP": ip,
            "podIPs": [{"ip": ip}] if ip else None,
            "startTime": _now(),
            "containerStatuses": [
                {
                    "name": container.name,
                    "image": container.image,
                    "imageID": "",
                    "ready": phase == "Running",
                    "restartCount": 0,
                    "started": phase == "Running",
                    "state": state,
                }
            ],
        }
        self._core.replace_namespaced_pod_status(pod.metadata.name, pod.metadata.namespace, body)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
