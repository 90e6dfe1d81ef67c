"""A simulated node for a development apiserver: it plays the kubelet for pods.

The development cluster has no kubelet and no network plugin, so pods stay
Pending and nothing enforces NetworkPolicy. `SimulatedNode` polls pods in
the namespaces it is told about and, like a kubelet, writes their status
back through the `pods/status` subresource:

* every pod gets a pod IP and phase Running (workloads, listeners);
* a probe pod (label `netpol-rollout.io/smoke-role=probe`) then really runs
  the runner's probe script (`sh -c`, the text its container carries, with
  its own `CHECKS` env) with stand-in `nc`/`wget`/`nslookup` on PATH that
  answer from a connectivity function; the termination-log file becomes
  `terminated.message`, the exit code the phase Succeeded/Failed.

The smoke runner reads all of this with exactly the calls it makes on a real
cluster. The default connectivity is `policy_connectivity`: the verdict of
the policy engine (`rollout.policy`) on the NetworkPolicies, Namespaces and
Pods the apiserver holds at that moment, i.e. what a NetworkPolicy-enforcing
network plugin would do. Results obtained this way are simulated and are
labelled so: every pod it runs carries the annotation
`netpol-rollout.io/node: simulated`, which the smoke runner reports as
`node: simulated`. The test suite's fake node (`tests/harness/fake_node.py`) is
this node with a fixed connectivity table instead.
"""

from __future__ import annotations

import itertools
import shutil
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
from typing import Any, Self

from rollout.devcluster.errors import DevApiError
from rollout.devcluster.kubeapi import RestClient
from rollout.errors import RolloutError
from rollout.policy import analyze, load_cluster
from rollout.smoke.probe import (
    CHECKS_ENV,
    NODE_ANNOTATION,
    ROLE_LABEL,
    SELF_TEST_PORT,
    SETTLE_ENV,
    UDP_TEST_PORT,
    decode_checks,
)

NODE_KIND = "simulated"  # what the pods it runs say (probe.NODE_ANNOTATION)
DNS_NAMESPACE = "kube-system"
DNS_LABELS: Mapping[str, str] = {"k8s-app": "kube-dns"}


@dataclass(frozen=True)
class SimSource:
    namespace: str
    name: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class SimTarget:
    kind: str  # pod | service | dns | external
    host: str
    namespace: str = ""
    name: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)


Connectivity = Callable[[SimSource, SimTarget, int, str], bool]
ConnectivityFactory = Callable[[RestClient], Connectivity]


def policy_connectivity(rest: RestClient) -> Connectivity:
    """Verdicts of the policy engine on the cluster's objects as they are now.

    Read once per probe pod (a probe pod's checks run against one snapshot).
    DNS is allowed when the source may reach a `k8s-app=kube-dns` pod in
    kube-system on 53/UDP; external hosts are judged against ipBlocks.
    """
    objects: list[dict[str, Any]] = []
    for kind, path in (
        ("Namespace", "/api/v1/namespaces"),
        ("Pod", "/api/v1/pods"),
        ("Service", "/api/v1/services"),
        ("NetworkPolicy", "/apis/networking.k8s.io/v1/networkpolicies"),
    ):
        for item in rest.get(path).get("items", []):
            if kind == "Pod" and item.get("status", {}).get("phase") not in ("Running", "Pending"):
                continue
            api_version = "networking.k8s.io/v1" if kind == "NetworkPolicy" else "v1"
            objects.append({**item, "kind": kind, "apiVersion": api_version})

    def allowed(source: SimSource, target: SimTarget, port: int, protocol: str) -> bool:
        externals = [target.host] if target.kind == "external" else []
        try:
            model = load_cluster(objects, externals=externals)
            analysis = analyze(model)
            if target.kind == "pod":
                return analysis.allowed(
                    source.namespace, source.name, target.namespace, target.name, port, protocol
                )
            if target.kind == "external":
                cidr = next(e.name for e in model.endpoints if e.is_external)
                return analysis.allowed(source.namespace, source.name, "", cidr, port, protocol)
            if target.kind == "dns":
                dns = [
                    e
                    for e in model.endpoints
                    if e.namespace == DNS_NAMESPACE
                    and all(e.labels.get(k) == v for k, v in DNS_LABELS.items())
                ]
                return any(
                    analysis.allowed(source.namespace, source.name, e.namespace, e.name, 53, "UDP")
                    for e in dns
                )
            backends = model.service_backends(f"{target.namespace}/{target.name}", port, protocol)
            return any(
                analysis.allowed(source.namespace, source.name, e.namespace, e.name, p, protocol)
                for e, p in backends
            )
        except RolloutError:
            return False  # an object the engine cannot read: treat as not connected

    return allowed


_NC = f"""#!/bin/sh
proto=tcp; listen=0
while [ $# -gt 0 ]; do
  case $1 in -l|-lk) listen=1 ;; -u) proto=udp ;; -w|-p|-e) shift ;; -*) ;; *) break ;; esac
  shift
done
[ $listen = 1 ] && exec sleep 30
case "$1 $2" in
  "127.0.0.1 {SELF_TEST_PORT}"|"127.0.0.1 {UDP_TEST_PORT}")
    [ -z "${{NR_BROKEN_TOOLS:-}}" ]; exit $? ;;
esac
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


class SimulatedNode:
    """Plays the kubelet for pods in `namespaces` of the apiserver behind `rest`."""

    def __init__(
        self,
        rest: RestClient,
        namespaces: Iterable[str],
        *,
        connectivity: ConnectivityFactory = policy_connectivity,
        work_dir: Path | None = None,
        poll_interval: float = 0.2,
        workers: int = 8,
        fail_images: Iterable[str] = (),
        broken_tools: bool = False,
        start_delay: float = 0.0,
        ignore_roles: Iterable[str] = (),
    ) -> None:
        """`fail_images`: pods with these images get ErrImagePull/ImagePullBackOff and
        never start; `broken_tools`: the probe's `nc` fails even its self-test;
        `start_delay`: seconds before a pod starts; `ignore_roles`: pods of these
        smoke roles stay Pending; `workers`: pods started (and probes run) at once."""
        self._rest = rest
        self._namespaces = set(namespaces)
        self.fail_images = frozenset(fail_images)
        self.broken_tools = broken_tools
        self.start_delay = start_delay
        self.ignore_roles = frozenset(ignore_roles)
        self._connectivity = connectivity
        self._poll_interval = poll_interval
        self._ips = (f"10.244.{i // 250}.{i % 250 + 2}" for i in itertools.count())
        self._pods_by_ip: dict[str, SimTarget] = {}
        self._handled: set[str] = set()  # pod uids
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="simulated-kubelet")
        self._thread = threading.Thread(target=self._loop, name="simulated-node", daemon=True)
        self._tools = Path(tempfile.mkdtemp(prefix="simulated-node-", dir=work_dir))
        for name, text in (("nc", _NC), ("wget", _WGET), ("nslookup", _NSLOOKUP)):
            path = self._tools / name
            path.write_text(text)
            path.chmod(path.stat().st_mode | stat.S_IEXEC)
        self.probes_run: list[str] = []  # "ns/name" of every probe pod executed
        self.probe_seconds: list[float] = []  # how long each probe script ran
        self.errors: list[str] = []

    def watch_namespace(self, namespace: str) -> None:
        """Also play the kubelet in `namespace` (picked up by the next poll)."""
        with self._lock:
            self._namespaces.add(namespace)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop playing the node (idempotent); pods keep their last status."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self._tools, ignore_errors=True)

    # -- the poll loop ---------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                for pod in self._rest.get("/api/v1/pods").get("items", []):
                    self._on_pod(pod)
            except DevApiError as exc:
                if not self._stop.is_set():
                    self.errors.append(f"poll: {exc}")
            self._stop.wait(self._poll_interval)

    def _on_pod(self, pod: Mapping[str, Any]) -> None:
        meta = pod["metadata"]
        with self._lock:
            if meta["namespace"] not in self._namespaces or meta["uid"] in self._handled:
                return
            if (meta.get("labels") or {}).get(ROLE_LABEL) in self.ignore_roles:
                return
            if meta.get("deletionTimestamp") or pod.get("status", {}).get("phase") != "Pending":
                return
            self._handled.add(meta["uid"])
        self._pool.submit(self._kubelet, dict(pod))

    # -- the kubelet -----------------------------------------------------------

    def _kubelet(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        where = f"{meta['namespace']}/{meta['name']}"
        try:
            if self.start_delay:
                self._stop.wait(self.start_delay)
            if pod["spec"]["containers"][0].get("image") in self.fail_images:
                self._pull_failure(pod)
                return
            ip = next(self._ips)
            labels = dict(meta.get("labels") or {})
            with self._lock:
                self._pods_by_ip[ip] = SimTarget("pod", ip, meta["namespace"], meta["name"], labels)
            pod = self._set_status(pod, "Running", ip, {"running": {"startedAt": _now()}})
            if labels.get(ROLE_LABEL) == "probe":
                self._run_probe(pod, ip)
        except DevApiError as exc:
            if exc.status != 404 and not self._stop.is_set():  # deleted under us: fine
                self.errors.append(f"{where}: {exc}")
        except Exception as exc:  # keep playing the node; the caller reads errors
            self.errors.append(f"{where}: {exc!r}")

    def _pull_failure(self, pod: dict[str, Any]) -> None:
        image = pod["spec"]["containers"][0].get("image")
        for reason in ("ErrImagePull", "ImagePullBackOff"):
            message = f'Back-off pulling image "{image}": not found'
            self._set_status(
                pod, "Pending", None, {"waiting": {"reason": reason, "message": message}}
            )
            if self._stop.wait(0.5):
                return

    def _run_probe(self, pod: dict[str, Any], ip: str) -> None:
        meta = pod["metadata"]
        container = pod["spec"]["containers"][0]
        env = {e["name"]: e.get("value", "") for e in container.get("env") or []}
        source = SimSource(meta["namespace"], meta["name"], dict(meta.get("labels") or {}))
        verdict = self._connectivity(self._rest)
        allowed = []
        for check in decode_checks(env.get(CHECKS_ENV, "")):
            target = self._target(check.kind, check.host)
            proto = "UDP" if check.kind in ("udp", "dns") else "TCP"
            if verdict(source, target, check.port, proto):
                kind = {"http": "tcp"}.get(check.kind, check.kind)
                allowed.append(f"{kind} {check.host} {check.port}")
        with tempfile.TemporaryDirectory(prefix="probe-", dir=self._tools) as tmp:
            (Path(tmp) / "allow").write_text("\n".join(allowed) + "\n")
            log = Path(tmp) / "termination-log"
            run_env = {
                "PATH": f"{self._tools}:/usr/bin:/bin",
                "TMPDIR": tmp,
                "NR_ALLOW": str(Path(tmp) / "allow"),
                "TERMINATION_LOG": str(log),
                **({"NR_BROKEN_TOOLS": "1"} if self.broken_tools else {}),
                **env,
                # The engine judges every connection at once: no enforcer lag to wait out.
                SETTLE_ENV: "0",
            }
            # container.command is ["sh", "-c", SCRIPT]: run exactly that.
            began = time.monotonic()
            proc = subprocess.run(
                container["command"], env=run_env, capture_output=True, timeout=600, check=False
            )
            self.probe_seconds.append(time.monotonic() - began)
            message = log.read_text() if log.exists() else proc.stderr.decode()[-4096:]
        self.probes_run.append(f"{meta['namespace']}/{meta['name']}")
        terminated = {
            "exitCode": proc.returncode,
            "reason": "Completed" if proc.returncode == 0 else "Error",
            "message": message[:4096],
            "startedAt": _now(),
            "finishedAt": _now(),
        }
        phase = "Succeeded" if proc.returncode == 0 else "Failed"
        self._set_status(pod, phase, ip, {"terminated": terminated})

    def _target(self, kind: str, host: str) -> SimTarget:
        if kind == "dns":
            return SimTarget("dns", host)
        with self._lock:
            pod = self._pods_by_ip.get(host)
        if pod is not None:
            return pod
        for svc in self._rest.get("/api/v1/services").get("items", []):
            if svc.get("spec", {}).get("clusterIP") == host:
                meta = svc["metadata"]
                return SimTarget(
                    "service", host, meta["namespace"], meta["name"], dict(meta.get("labels") or {})
                )
        return SimTarget("external", host)

    def _set_status(
        self, pod: dict[str, Any], phase: str, ip: str | None, state: dict[str, Any]
    ) -> dict[str, Any]:
        meta = pod["metadata"]
        path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
        # Like a kubelet: a pod changed between read and write (409, e.g. being
        # deleted by the runner) is read again and written again.
        for attempt in range(5):
            try:
                return self._put_status(path, phase, ip, state)
            except DevApiError as exc:
                if exc.status != 409 or attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def _put_status(
        self, path: str, phase: str, ip: str | None, state: dict[str, Any]
    ) -> dict[str, Any]:
        latest = self._rest.get(path)
        container = latest["spec"]["containers"][0]
        # Says on the pod what ran it, so results read from it say "node: simulated".
        latest["metadata"].setdefault("annotations", {})[NODE_ANNOTATION] = NODE_KIND
        latest["status"] = {
            "phase": phase,
            "hostIP": "10.0.0.1",
            "podIP": ip,
            "podIPs": [{"ip": ip}] if ip else None,
            "startTime": _now(),
            "containerStatuses": [
                {
                    "name": container["name"],
                    "image": container["image"],
                    "imageID": "",
                    "ready": phase == "Running",
                    "restartCount": 0,
                    "started": phase == "Running",
                    "state": state,
                }
            ],
        }
        return self._rest.request("PUT", f"{path}/status", latest)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
