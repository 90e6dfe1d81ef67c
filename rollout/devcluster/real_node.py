"""A real node for a development apiserver: real kubelet, containerd, runc, CNI, kube-router.

`RealNode` plays the same role as `SimulatedNode` (tests, `rollout demo`),
but nothing is simulated: pods are real containers on a Linux bridge, and
NetworkPolicy is enforced on real packets by kube-router v2.1.0 (firewall
controller only). Every pod it runs carries the annotation
`netpol-rollout.io/node: real`, so smoke results obtained on it say `node: real`.

Layout (docs/real-node.md has the why of every setting):

* a dedicated network namespace (the "node netns") holds the bridge, every
  pod's veth, kube-router and all its iptables chains and ipsets, so nothing
  touches the host firewall and deleting the namespace removes them all;
* containerd with a private root, state, socket and runc root, run inside the
  node netns (so the CNI bridge plugin builds the bridge there);
* the kubelet, also inside the node netns, registered to the apiserver as
  `node_name` with InternalIP `NODE_IP`; pod cgroups under a private cgroup root;
* a relay from 127.0.0.1:6443 in the node netns to the apiserver on the host
  loopback, and `icmp_ratelimit=0` and a large ICMP budget there (rejections
  are answered at once, even for a burst of probes);
* a binder thread that plays the scheduler: pending pods of the watched
  namespaces are bound to the node.

The kubelet and containerd are host-global (cgroups, mounts), so one real
node runs per machine at a time: `start()` takes a machine-wide file lock
(waiting up to `lock_timeout`), then sweeps whatever a killed earlier run
left behind. `stop()` (also on every failure of `start()`) removes every
process, mount, cgroup, namespace and file it created.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Self

from rollout.devcluster import node_host as host
from rollout.devcluster.apiserver import SERVICE_CLUSTER_IP_RANGE, ApiServer
from rollout.devcluster.errors import (
    ApiServerStartError,
    DevApiError,
    HarnessError,
    RealNodeStartError,
    RealNodeUnavailable,
)
from rollout.devcluster.kubeapi import write_kubeconfig
from rollout.devcluster.node_config import (
    NodeBinaries,
    preflight,
    write_cni_config,
    write_containerd_config,
    write_kubelet_config,
)
from rollout.devcluster.node_images import DEFAULT_PROBE_IMAGE, PAUSE_IMAGE, build_images
from rollout.devcluster.processes import ManagedProcess
from rollout.smoke.probe import NODE_ANNOTATION, ROLE_LABEL

BASE_DIR = Path("/var/lib/netpol-rollout/real-node")
LOCK_PATH = Path("/var/lib/netpol-rollout/real-node.lock")
IMAGE_CACHE = Path.home() / ".cache" / "netpol-rollout" / "node-images"
NODE_IP = "10.244.0.1"
POD_SUBNET = "10.244.0.0/24"
BRIDGE = "cni0"
RELAY_PORT = 6443
# Paths the kubelet, containerd and libcni use whatever their settings say.
SHARED_DIRS = (
    Path("/var/lib/kubelet"),
    Path("/var/lib/cni"),
    Path("/var/log/containers"),
    Path("/run/containerd"),
)
CNI_NETWORK = "netpol-real-node"
NODE_KIND = "real"  # what the pods it runs say (probe.NODE_ANNOTATION)


class RealNode:
    """A real kubelet node for `apiserver`; pods in `namespaces` are scheduled onto it."""

    def __init__(
        self,
        apiserver: ApiServer,
        namespaces: Iterable[str] = (),
        *,
        node_name: str = "netpol-real-node",
        lock_timeout: float = 900.0,
        start_timeout: float = 90.0,
        poll_interval: float = 0.2,
        kubelet_args: Iterable[str] = (),
    ) -> None:
        """`kubelet_args`: extra kubelet flags (tests use a bad one to make start fail)."""
        self.apiserver = apiserver
        self.node_name = node_name
        self.probe_image = DEFAULT_PROBE_IMAGE
        self.errors: list[str] = []
        self.start_seconds = 0.0
        self._namespaces = set(namespaces)
        self._lock_timeout = lock_timeout
        self._start_timeout = start_timeout
        self._poll_interval = poll_interval
        self._kubelet_args = list(kubelet_args)
        suffix = uuid.uuid4().hex[:6]
        self.netns = f"netpol-node-{suffix}"
        self.cgroup_root = f"/netpol-rollout-node-{suffix}"
        self.work = BASE_DIR / f"node-{suffix}"
        self._lock_file: IO[bytes] | None = None
        self._relay: host.Relay | None = None
        self._processes: dict[str, ManagedProcess] = {}
        self._binder_stop = threading.Event()
        self._binder: threading.Thread | None = None
        self._started = False

    # -- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Bring the node up; raises RealNodeUnavailable or RealNodeStartError (cleaned up)."""
        if self._started:
            return
        began = time.monotonic()
        binaries = preflight()
        self._take_lock()
        self._started = True
        try:
            sweep_leftovers()
            self._bring_up(binaries)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began

    def stop(self) -> None:
        """Tear everything down (idempotent); problems left are appended to `errors`."""
        if not self._started:
            return
        self._binder_stop.set()
        if self._binder is not None:
            self._binder.join(timeout=10)
        # kubelet first (it would restart containers), then the enforcer and containerd.
        for name in ("kubelet", "kube-router", "containerd"):
            process = self._processes.pop(name, None)
            if process is not None:
                process.stop(timeout=5)
        if self._relay is not None:
            self._relay.close()
            self._relay = None
        self.errors.extend(_teardown(self.work))
        self._started = False
        self._release_lock()

    def watch_namespace(self, namespace: str) -> None:
        """Also schedule pods of `namespace` onto this node."""
        self._namespaces.add(namespace)

    # -- the enforcer, for tests of a non-enforcing node --------------------------

    def stop_enforcer(self) -> None:
        """Stop kube-router and remove its rules: the node then enforces nothing."""
        process = self._processes.pop("kube-router", None)
        if process is not None:
            process.stop(timeout=5)
        for table in ("filter", "nat", "mangle"):
            host.run(["iptables", "-t", table, "-F"], netns=self.netns)
            host.run(["iptables", "-t", table, "-X"], netns=self.netns)
        host.run(["ipset", "destroy"], netns=self.netns, check=False)

    @contextlib.contextmanager
    def enforcer_paused(self) -> Iterator[Callable[[], None]]:
        """kube-router frozen (SIGSTOP): pods started now run without their rules, as
        they do while a busy enforcer has not synced. Yields `resume`; resumed on exit."""
        process = self._processes.get("kube-router")
        if process is None:
            raise HarnessError("kube-router is not running: nothing to pause")
        os.kill(process.pid, signal.SIGSTOP)
        resumed = threading.Event()

        def resume() -> None:
            if not resumed.is_set():
                resumed.set()
                os.kill(process.pid, signal.SIGCONT)

        try:
            yield resume
        finally:
            resume()

    def start_enforcer(self) -> None:
        if "kube-router" not in self._processes:
            self._start_kube_router(time.monotonic() + self._start_timeout)

    def enforcer_running(self) -> bool:
        return "kube-router" in self._processes

    def enforcer_log_offset(self) -> int:
        """Where kube-router's log ends now: pass it to `wait_synced(since=...)`."""
        process = self._processes.get("kube-router")
        try:
            return process.log_path.stat().st_size if process is not None else 0
        except OSError:
            return 0

    def enforcer_synced_since(self, since: int) -> bool:
        """Whether kube-router started a full sync after log byte `since`.

        Each sync restores its ipsets before its iptables rules, so while one
        runs, verdicts can be momentarily wrong (docs/real-node.md).
        """
        process = self._processes.get("kube-router")
        if process is None:
            return False
        try:
            with process.log_path.open("rb") as handle:
                handle.seek(since)
                return b"Starting sync of iptables" in handle.read()
        except OSError:
            return False

    def wait_synced(self, events: Iterable[str], timeout: float = 30.0, since: int = 0) -> bool:
        """Wait until kube-router has received every event and finished a full sync after.

        `events` are what kube-router logs when it sees a change, e.g.
        `network policy: NS/NAME` or `to pod: NS/NAME`; only the log after byte
        `since` (from `enforcer_log_offset()`) is read. Returns False if the
        enforcer is not running or `timeout` passes first.
        """
        process = self._processes.get("kube-router")
        if process is None:
            return False
        wanted = list(events)
        deadline = time.monotonic() + timeout
        while True:
            if _synced_after(process.log_path, wanted, since):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def wait_policies_enforced(
        self, policies: Iterable[tuple[str, str]], timeout: float = 30.0
    ) -> None:
        """Wait until kube-router enforces these (namespace, name) policies; HarnessError if not."""
        events = [f"network policy: {ns}/{name}" for ns, name in policies]
        if not self.wait_synced(events, timeout):
            raise HarnessError(f"kube-router did not sync {events} within {timeout:g}s")

    # -- bring-up ------------------------------------------------------------------

    def _bring_up(self, binaries: NodeBinaries) -> None:
        deadline = time.monotonic() + self._start_timeout
        work = self.work
        work.mkdir(parents=True)
        preexisting = [str(d) for d in SHARED_DIRS if d.exists()]
        (work / "node.json").write_text(
            json.dumps(
                {"netns": self.netns, "cgroup_root": self.cgroup_root, "preexisting": preexisting}
            )
        )
        images = build_images(IMAGE_CACHE)
        self._binaries = binaries

        host.create_netns(self.netns)
        host.run(["ip", "link", "add", BRIDGE, "type", "bridge"], netns=self.netns)
        host.run(["ip", "addr", "add", f"{NODE_IP}/24", "dev", BRIDGE], netns=self.netns)
        host.run(["ip", "link", "set", BRIDGE, "up"], netns=self.netns)
        for key, value in (
            ("net.ipv4.icmp_ratelimit", "0"),
            # The global ICMP budget (1000/s, burst 50) would turn rejections of a
            # burst of probes into timeouts.
            ("net.ipv4.icmp_msgs_per_sec", "100000"),
            ("net.ipv4.icmp_msgs_burst", "100000"),
            ("net.bridge.bridge-nf-call-iptables", "1"),
            ("net.ipv4.ip_forward", "1"),
        ):
            host.set_sysctl(self.netns, key, value)
        port = int(self.apiserver.url.rsplit(":", 1)[1])
        self._relay = host.Relay(self.netns, RELAY_PORT, ("127.0.0.1", port))
        self._kubeconfig = self._write_node_kubeconfig()
        host.make_cgroup(self.cgroup_root)

        socket_path = work / "containerd.sock"
        write_cni_config(
            work / "cni", bridge=BRIDGE, subnet=POD_SUBNET, gateway=NODE_IP, ipam_dir=work / "ipam"
        )
        write_containerd_config(
            work / "containerd.toml",
            work=work,
            cni_dir=binaries.cni_dir,
            cni_conf_dir=work / "cni",
            pause_image=PAUSE_IMAGE,
        )
        containerd = self._spawn(
            "containerd", [str(binaries.containerd), "--config", str(work / "containerd.toml")]
        )
        ctr = [str(binaries.ctr), "--address", str(socket_path), "-n", "k8s.io"]
        self._wait(containerd, lambda: _ok([*ctr, "version"]), deadline)
        for tarball in images.values():
            host.run([*ctr, "images", "import", str(tarball)], timeout=120)

        # A Node of this name left by an earlier node on this apiserver would look Ready.
        with contextlib.suppress(DevApiError):
            self.apiserver.rest().request("DELETE", f"/api/v1/nodes/{self.node_name}")
        write_kubelet_config(
            work / "kubelet.json",
            socket_path=socket_path,
            cgroup_root=self.cgroup_root,
            pod_logs=work / "pod-logs",
        )
        kubelet = self._spawn(
            "kubelet",
            [
                str(binaries.kubelet),
                f"--config={work / 'kubelet.json'}",
                f"--kubeconfig={self._kubeconfig}",
                f"--root-dir={work / 'kubelet'}",
                f"--cert-dir={work / 'kubelet-pki'}",
                f"--hostname-override={self.node_name}",
                f"--node-ip={NODE_IP}",
                "--v=1",
                *self._kubelet_args,
            ],
        )
        self._wait(kubelet, self._node_ready, deadline)
        self.apiserver.rest().merge_patch(
            f"/api/v1/nodes/{self.node_name}",
            {"spec": {"podCIDR": POD_SUBNET, "podCIDRs": [POD_SUBNET]}},
        )
        self._start_kube_router(deadline)
        self._binder = threading.Thread(
            target=self._bind_loop, name="real-node-binder", daemon=True
        )
        self._binder.start()

    def _start_kube_router(self, deadline: float) -> None:
        router = self._spawn(
            "kube-router",
            [
                str(self._binaries.kube_router),
                "--run-firewall=true",
                "--run-router=false",
                "--run-service-proxy=false",
                f"--hostname-override={self.node_name}",
                f"--kubeconfig={self._kubeconfig}",
                f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
                "--health-port=0",
                "--metrics-port=0",
                "--v=2",  # logs the events it receives: wait_synced reads them
            ],
        )
        self._wait(router, self._enforcer_ready, deadline)

    def _spawn(self, name: str, argv: list[str]) -> ManagedProcess:
        netns_argv = ["nsenter", f"--net={host.NETNS_DIR / self.netns}", "--", *argv]
        process = ManagedProcess(name, netns_argv, self.work / "logs" / f"{name}.log")
        self._processes[name] = process
        return process

    def _wait(self, process: ManagedProcess, ready: Any, deadline: float) -> None:
        try:
            process.wait_ready(ready, deadline)
        except ApiServerStartError as exc:
            raise RealNodeStartError(str(exc)) from exc

    def _node_ready(self) -> bool:
        try:
            node = self.apiserver.rest().get(f"/api/v1/nodes/{self.node_name}")
        except DevApiError:
            return False
        conditions = node.get("status", {}).get("conditions") or []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

    def _enforcer_ready(self) -> bool:
        rules = host.run(["iptables", "-S"], netns=self.netns, check=False)
        return "KUBE-ROUTER-FORWARD" in rules

    def _write_node_kubeconfig(self) -> Path:
        pki = self.apiserver._require_pki()
        return write_kubeconfig(
            self.work / "node.kubeconfig",
            cluster="dev",
            server=f"https://127.0.0.1:{RELAY_PORT}",
            ca_path=pki.ca_cert,
            user="admin",
            credentials={
                "client-certificate": str(pki.admin_cert),
                "client-key": str(pki.admin_key),
            },
        )

    # -- the scheduler's part ------------------------------------------------------

    def _bind_loop(self) -> None:
        rest = self.apiserver.rest()
        ca = self.apiserver.ca_path.read_text()
        prepared: set[str] = set()
        while not self._binder_stop.is_set():
            try:
                for pod in rest.get("/api/v1/pods").get("items", []):
                    meta, spec = pod["metadata"], pod["spec"]
                    namespace = meta["namespace"]
                    if namespace not in self._namespaces or spec.get("nodeName"):
                        continue
                    if meta.get("deletionTimestamp"):
                        continue
                    if (meta.get("labels") or {}).get(ROLE_LABEL) == "probe":
                        # The enforcer programs a pod's rules a moment after it gets its
                        # IP; a probe must not race that for its peers. kube-router logs
                        # a pod's first event when the pod gets its IP.
                        self.wait_synced(self._running_pod_events(rest), timeout=20)
                    if namespace not in prepared:
                        # Normally published by kube-controller-manager; projected
                        # service-account volumes need it.
                        rest.create(
                            f"/api/v1/namespaces/{namespace}/configmaps",
                            {"metadata": {"name": "kube-root-ca.crt"}, "data": {"ca.crt": ca}},
                        )
                        prepared.add(namespace)
                    binding = {
                        "apiVersion": "v1",
                        "kind": "Binding",
                        # The apiserver copies a binding's annotations onto the pod:
                        # smoke results read from it say "node: real".
                        "metadata": {
                            "name": meta["name"],
                            "annotations": {NODE_ANNOTATION: NODE_KIND},
                        },
                        "target": {"apiVersion": "v1", "kind": "Node", "name": self.node_name},
                    }
                    with contextlib.suppress(DevApiError):  # deleted or bound meanwhile
                        rest.request(
                            "POST",
                            f"/api/v1/namespaces/{namespace}/pods/{meta['name']}/binding",
                            binding,
                        )
            except DevApiError as exc:
                if not self._binder_stop.is_set():
                    self.errors.append(f"binder: {exc}")
            self._binder_stop.wait(self._poll_interval)

    def _running_pod_events(self, rest: Any) -> list[str]:
        events = []
        for pod in rest.get("/api/v1/pods").get("items", []):
            meta, status = pod["metadata"], pod.get("status", {})
            if meta["namespace"] not in self._namespaces or meta.get("deletionTimestamp"):
                continue
            if status.get("phase") == "Running" and status.get("podIP"):
                events.append(f"to pod: {meta['namespace']}/{meta['name']}")
        return events

    # -- the machine-wide lock -----------------------------------------------------

    def _take_lock(self) -> None:
        LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
        handle = LOCK_PATH.open("ab")
        deadline = time.monotonic() + self._lock_timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    handle.close()
                    waited = (
                        f" and did not stop within {self._lock_timeout:g}s"
                        if self._lock_timeout
                        else ""
                    )
                    raise RealNodeUnavailable(
                        "another real node runs on this machine (one per machine; it holds "
                        f"{LOCK_PATH}){waited}"
                    ) from None
                time.sleep(0.5)
        self._lock_file = handle

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None


def another_node_runs() -> bool:
    """True while another process holds the machine-wide real-node lock."""
    if not LOCK_PATH.exists():
        return False
    with LOCK_PATH.open("ab") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def sweep(lock_timeout: float = 900.0) -> list[str]:
    """Take the machine-wide lock and remove what killed real nodes left behind."""
    holder = RealNode.__new__(RealNode)
    holder._lock_file = None
    holder._lock_timeout = lock_timeout
    holder._take_lock()
    try:
        return sweep_leftovers()
    finally:
        holder._release_lock()


def sweep_leftovers() -> list[str]:
    """Remove what earlier real nodes left (a killed run); call only under the lock."""
    problems: list[str] = []
    if not BASE_DIR.exists():
        return problems
    for work in sorted(BASE_DIR.iterdir()):
        problems.extend(_teardown(work))
    return problems


def _teardown(work: Path) -> list[str]:
    """Remove one node's processes, cgroups, mounts, namespace and files."""
    try:
        manifest = json.loads((work / "node.json").read_text())
    except (OSError, ValueError):
        manifest = {}
    netns = str(manifest.get("netns", ""))
    cgroup_root = str(manifest.get("cgroup_root", ""))
    preexisting = {Path(p) for p in manifest.get("preexisting", [str(d) for d in SHARED_DIRS])}
    problems: list[str] = []
    steps: list[Callable[[], object]] = [
        # containerd's shims (and anything else still started from our folder)
        lambda: host.kill_pids(host.pids_mentioning(str(work))),
        lambda: problems.extend(host.remove_cgroup(cgroup_root) if cgroup_root else []),
        lambda: host.unmount_under(work),
        lambda: host.delete_netns(netns) if netns else None,
        lambda: _remove_shared_traces(work, preexisting),
        lambda: shutil.rmtree(work, ignore_errors=True),
    ]
    for step in steps:
        try:
            step()
        except (OSError, HarnessError) as exc:
            problems.append(str(exc))
    if work.exists():
        problems.append(f"{work} could not be removed")
    if netns and host.netns_exists(netns):
        problems.append(f"network namespace {netns} could not be removed")
    return problems


def _remove_shared_traces(work: Path, preexisting: set[Path]) -> None:
    """Our entries in the paths the kubelet, containerd and libcni use regardless of settings."""
    logs, cni_results = Path("/var/log/containers"), Path("/var/lib/cni/results")
    if logs.is_dir():
        for link in logs.iterdir():
            if link.is_symlink() and str(work) in str(link.readlink()):
                link.unlink()
    if cni_results.is_dir():
        prefix = f"{CNI_NETWORK}-"
        ours = {p.name[len(prefix) :].rsplit("-", 1)[0] for p in cni_results.glob(prefix + "*")}
        for entry in cni_results.iterdir():
            if entry.name.startswith(prefix) or any(f"-{cid}-" in entry.name for cid in ours):
                entry.unlink()
    with contextlib.suppress(FileNotFoundError):
        Path("/var/lib/kubelet/device-plugins/kubelet.sock").unlink()
    for directory in SHARED_DIRS:
        if directory not in preexisting and directory.exists():
            # Only what is left empty: everything we put there is gone by now.
            for sub in sorted(directory.rglob("*"), key=lambda p: len(p.parts), reverse=True):
                with contextlib.suppress(OSError):
                    sub.rmdir()
            with contextlib.suppress(OSError):
                directory.rmdir()


def _synced_after(log: Path, events: list[str], since: int = 0) -> bool:
    """True if the log (after byte `since`) shows every event, then a full sync started after."""
    try:
        with log.open("rb") as handle:
            handle.seek(since)
            lines = handle.read().decode(errors="replace").splitlines()
    except OSError:
        return False
    last = -1
    for event in events:
        where = [i for i, line in enumerate(lines) if "Received" in line and event in line]
        if not where:
            return False
        last = max(last, where[-1])
    started = next(
        (i for i in range(last + 1, len(lines)) if "Starting sync of iptables" in lines[i]), None
    )
    if started is None:
        return False
    return any("sync iptables took" in line for line in lines[started + 1 :])


def _ok(argv: list[str]) -> bool:
    try:
        host.run(argv, timeout=5)
    except (HarnessError, OSError):
        return False
    return True
