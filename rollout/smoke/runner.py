"""Run a smoke plan against a live cluster with probe pods, without `pods/exec`.

Order of a run: sweep probe pods a crashed earlier run left behind; resolve
destinations (a running pod with the labels, else a listener pod we start;
a Service's ClusterIP; a host as written); start the listeners; run one probe
pod per source in a bounded pool, each read back from its Pod status; run the
custom scripts; delete every pod this run created, in all paths (success,
failure, Ctrl-C, SIGTERM). Pods also carry `activeDeadlineSeconds`, so the
kubelet ends them even when the runner is killed outright.
"""

from __future__ import annotations

import math
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from rollout.errors import ClusterError
from rollout.kube.probes import PodState
from rollout.smoke import probe as pods
from rollout.smoke import verdicts
from rollout.smoke.plan import PlannedCheck, ProbePlan, SmokePlan
from rollout.smoke.results import CheckResult, SmokeReport
from rollout.smoke.scripts import ScriptRun, run_script

# A container stuck in one of these will not start without someone changing something.
START_FAILURES = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)
FINISH_GRACE_SECONDS = 30.0


class ProbeCluster(Protocol):
    """The pod operations a run needs (`rollout.kube.probes.ProbePods` on a real cluster)."""

    def create(self, manifest: Mapping[str, Any]) -> None: ...

    def read(self, namespace: str, name: str) -> PodState | None: ...

    def delete(self, namespace: str, name: str) -> None: ...

    def list(self, namespace: str, labels: Mapping[str, str]) -> list[PodState]: ...

    def service_ip(self, namespace: str, name: str) -> str | None: ...


@dataclass(frozen=True)
class RunOptions:
    environment: str
    image: str = "busybox:1.36"
    start_timeout: float = 120.0
    parallelism: int = 4
    poll_interval: float = 0.5
    settle: float = 5.0  # smoke.settle: a new probe pod waits this long before its checks
    rollout_id: str = ""
    commit_sha: str = ""
    kubeconfig: str = ""
    scripts: tuple[ScriptRun, ...] = ()
    script_cwd: Path | None = None
    # Where the probes run when the pods do not say (SmokeReport.node); a
    # development node says it on every pod it runs (probe.NODE_ANNOTATION).
    node: str = ""


class _PodFailed(Exception):
    """A probe or listener pod gave no usable result; the message says why.

    `cause` is what every pod of the run would hit alike (the image), stated once.
    """

    def __init__(self, message: str, cause: str = "") -> None:
        super().__init__(message)
        self.cause = cause


class Cancelled(Exception):
    """The run was interrupted (Ctrl-C or SIGTERM)."""


Precheck = Callable[[SmokePlan], Sequence[CheckResult]]


def run_smoke_suite(
    plan: SmokePlan,
    cluster: ProbeCluster,
    options: RunOptions,
    *,
    precheck: Precheck | None = None,
    run_id: str | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    progress: Callable[[str], None] = lambda _line: None,
) -> SmokeReport:
    """Run the whole suite and return its report (a failed check is a result, not an error).

    Raises ClusterError when the cluster refuses the run itself (e.g. listing
    pods is forbidden), and KeyboardInterrupt on Ctrl-C/SIGTERM, in both
    cases after deleting every pod this run created.
    """
    run = _Run(plan, cluster, options, run_id or uuid.uuid4().hex[:8], progress)
    started = now()
    results: list[CheckResult] = []
    if precheck is not None:
        static = list(precheck(plan))
        results.extend(static)
        if not all(r.ok for r in static):
            why = "not run: the static pre-check shows an expectation that cannot hold"
            results.extend(verdicts.skipped(c, "not run", cause=why) for c in plan.checks)
            return _report(run, started, now(), results)
    with _interrupts_raise(), run.cleanup():
        run.sweep()
        results.extend(run.probe_all())
        for script in options.scripts:
            run.progress(f"running script {script.name}")
            results.append(run_script(script, cwd=options.script_cwd))
    return _report(run, started, now(), results)


def _report(
    run: _Run, started: datetime, finished: datetime, results: list[CheckResult]
) -> SmokeReport:
    canary_broke = any(r.kind == "canary" and r.observed == "connected" for r in results)
    return SmokeReport(
        environment=run.options.environment,
        run_id=run.run_id,
        started_at=started,
        finished_at=finished,
        results=tuple(results),
        rollout_id=run.options.rollout_id,
        commit_sha=run.options.commit_sha,
        cni_not_enforcing=canary_broke,
        notes=tuple(run.notes),
        node=run.node(),
    )


@contextmanager
def _interrupts_raise() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C (KeyboardInterrupt), so cleanup runs for both."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Run:
    def __init__(
        self,
        plan: SmokePlan,
        cluster: ProbeCluster,
        options: RunOptions,
        run_id: str,
        progress: Callable[[str], None],
    ) -> None:
        self.plan, self.cluster, self.options, self.run_id = plan, cluster, options, run_id
        self.progress = progress
        self.cancel = threading.Event()
        self.notes: list[str] = []
        self._nodes: set[str] = set()  # what the nodes that ran our pods said they are
        self.causes: dict[str, str] = {}  # an error message -> the root cause behind it
        self._created: dict[tuple[str, str], None] = {}
        self._lock = threading.Lock()
        longest = max((p.max_timeout for p in plan.probes), default=0.0)
        self.settle_seconds = math.ceil(options.settle)
        self.deadline_seconds = int(
            options.start_timeout + self.settle_seconds + longest + 2 * FINISH_GRACE_SECONDS
        )

    def node(self) -> str:
        """Where the probes ran, as the node that ran them says ("real", "simulated");
        else `options.node` (usually "", a user's cluster)."""
        with self._lock:
            said = sorted(self._nodes)
        return ", ".join(said) if said else self.options.node

    # -- pods ----------------------------------------------------------------

    def _labels(self, role: str) -> dict[str, str]:
        return pods.run_labels(self.run_id, self.options.environment, role)

    def _create(self, manifest: Mapping[str, Any]) -> None:
        meta = manifest["metadata"]
        with self._lock:  # recorded before the call: a create racing Ctrl-C is still cleaned
            self._created[(meta["namespace"], meta["name"])] = None
        self.cluster.create(manifest)

    @contextmanager
    def cleanup(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self.cancel.set()
            raise
        finally:
            self._delete_all()

    def _delete_all(self) -> None:
        with self._lock:
            created = list(self._created)
        for namespace, name in created:
            try:
                self.cluster.delete(namespace, name)
            except ClusterError as exc:
                self.notes.append(f"cleanup: {exc}")
        # Stragglers (e.g. a create whose response was lost): anything with our run label.
        for namespace in {ns for ns, _ in created}:
            try:
                for pod in self.cluster.list(namespace, {pods.RUN_LABEL: self.run_id}):
                    if not pod.deleting:
                        self.cluster.delete(namespace, pod.name)
            except ClusterError as exc:
                self.notes.append(f"cleanup: {exc}")

    def sweep(self) -> None:
        """Delete probe pods of this environment left by an earlier, crashed run."""
        stale = 0
        for namespace in self.plan.namespaces:
            for pod in self.cluster.list(namespace, {pods.ENV_LABEL: self.options.environment}):
                if pod.labels.get(pods.RUN_LABEL) != self.run_id and not pod.deleting:
                    self.cluster.delete(namespace, pod.name)
                    stale += 1
        if stale:
            self.notes.append(f"swept {stale} stale probe pod(s) left by an earlier run")
            self.progress(self.notes[-1])

    def _wait(self, namespace: str, name: str, *, until_running: bool, finish: float) -> PodState:
        """Poll the pod until it runs (listeners) or terminates (probes); _PodFailed if not."""
        what = f"pod {namespace}/{name}"
        start_by = time.monotonic() + self.options.start_timeout
        finish_by: float | None = None
        state: PodState | None = None
        while not self.cancel.is_set():
            state = self.cluster.read(namespace, name)
            if state is None:
                raise _PodFailed(f"{what} disappeared (deleted by someone else?)")
            if kind := state.annotations.get(pods.NODE_ANNOTATION):
                with self._lock:
                    self._nodes.add(kind)
            if state.waiting_reason in START_FAILURES:
                detail = f": {state.waiting_message}" if state.waiting_message else ""
                raise _PodFailed(
                    f"{what} cannot start",
                    f"the probe image {self.options.image!r} cannot start: "
                    f"{state.waiting_reason}{detail} (check the name and the cluster's pull "
                    "access)",
                )
            if state.terminated:
                return state
            running = state.phase == "Running"
            if running and until_running and state.pod_ip:
                return state
            now = time.monotonic()
            # Listeners: a running pod gets its IP within moments; allow the grace.
            limit = FINISH_GRACE_SECONDS if until_running else finish
            if running and finish_by is None:
                finish_by = now + limit
            if not running and now > start_by:
                why = state.waiting_reason or state.condition_message or "no reason reported"
                raise _PodFailed(
                    f"{what} still {state.phase} after {self.options.start_timeout:g}s",
                    f"probe pods did not start within {self.options.start_timeout:g}s "
                    f"(start_timeout): {why}",
                )
            if finish_by is not None and now > finish_by:
                doing = "getting a pod IP" if until_running else "finishing its checks"
                raise _PodFailed(f"{what} ran longer than {limit:g}s without {doing}")
            self.cancel.wait(self.options.poll_interval)
        raise Cancelled(f"{what}: run cancelled")

    # -- destinations --------------------------------------------------------

    def _resolve(self) -> tuple[dict[tuple[int, int], str], dict[tuple[int, int], str]]:
        """Addresses per (probe, check), errors per (probe, check); starts listeners."""
        hosts: dict[tuple[int, int], str] = {}
        errors: dict[tuple[int, int], str] = {}
        wanted: dict[tuple[str, tuple[tuple[str, str], ...]], set[tuple[int, str]]] = {}
        pending: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[int, int]]] = {}
        services: dict[tuple[str, str], str | None] = {}
        for probe in self.plan.probes:
            for check in probe.checks:
                key, target = (probe.number, check.index), check.target
                if target.kind in ("host", "dns"):
                    hosts[key] = target.host
                elif target.kind == "service":
                    ref = (target.namespace, target.name)
                    if ref not in services:
                        services[ref] = self.cluster.service_ip(*ref)
                    ip = services[ref]
                    if ip is None:
                        errors[key] = f"service {'/'.join(ref)} not found (or headless)"
                    else:
                        hosts[key] = ip
                else:
                    group = (target.namespace, tuple(sorted(target.labels.items())))
                    ip = None if check.role == "canary" else self._running_pod_ip(group)
                    if ip is not None:
                        hosts[key] = ip
                    else:
                        wanted.setdefault(group, set()).add((check.port, check.protocol))
                        pending.setdefault(group, []).append(key)
        for group, outcome in self._start_listeners(wanted).items():
            for key in pending[group]:
                if outcome.startswith("error:"):
                    errors[key] = outcome.removeprefix("error:")
                else:
                    hosts[key] = outcome
        return hosts, errors

    def _running_pod_ip(self, group: tuple[str, tuple[tuple[str, str], ...]]) -> str | None:
        namespace, labels = group
        for pod in self.cluster.list(namespace, dict(labels)):
            ours = pods.ROLE_LABEL in pod.labels
            if pod.phase == "Running" and pod.pod_ip and not pod.deleting and not ours:
                return pod.pod_ip
        return None

    def _start_listeners(
        self, wanted: Mapping[tuple[str, tuple[tuple[str, str], ...]], set[tuple[int, str]]]
    ) -> dict[tuple[str, tuple[tuple[str, str], ...]], str]:
        """Start one listener per destination group; the pod IP, or 'error:why'."""

        def start(number: int, group: tuple[str, tuple[tuple[str, str], ...]]) -> str:
            namespace, labels = group
            name = f"smoke-{self.run_id}-l{number}"
            manifest = pods.listener_pod(
                name=name,
                namespace=namespace,
                target_labels=dict(labels),
                labels=self._labels("listener"),
                image=self.options.image,
                ports=sorted(wanted[group]),
                deadline_seconds=self.deadline_seconds,
            )
            try:
                self._create(manifest)
                state = self._wait(namespace, name, until_running=True, finish=FINISH_GRACE_SECONDS)
            except (ClusterError, _PodFailed) as exc:
                why = f"no pod with these labels runs, and the listener failed: {exc}"
                if isinstance(exc, _PodFailed) and exc.cause:
                    self.causes[why] = exc.cause
                return f"error:{why}"
            if state.terminated or not state.pod_ip:
                return f"error:listener pod {namespace}/{name} ended before it listened"
            return state.pod_ip

        if wanted:
            self.progress(f"starting {len(wanted)} listener pod(s) for destinations without pods")
        with ThreadPoolExecutor(self.options.parallelism, thread_name_prefix="smoke-l") as pool:
            futures = {g: pool.submit(start, i, g) for i, g in enumerate(wanted)}
            return {g: f.result() for g, f in futures.items()}

    # -- probes --------------------------------------------------------------

    def probe_all(self) -> list[CheckResult]:
        hosts, errors = self._resolve()
        self.progress(
            f"probing {len(self.plan.checks)} check(s) from {len(self.plan.probes)} probe pod(s)"
        )
        with ThreadPoolExecutor(self.options.parallelism, thread_name_prefix="smoke-p") as pool:
            futures = [pool.submit(self._probe, p, hosts, errors) for p in self.plan.probes]
            try:
                return [r for f in futures for r in f.result()]
            except BaseException:
                self.cancel.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise

    def _probe(
        self,
        probe: ProbePlan,
        hosts: Mapping[tuple[int, int], str],
        errors: Mapping[tuple[int, int], str],
    ) -> list[CheckResult]:
        if self.cancel.is_set():
            raise Cancelled("run cancelled")
        own = {
            c.index: hosts[(probe.number, c.index)]
            for c in probe.checks
            if (probe.number, c.index) in hosts
        }
        out: dict[int, CheckResult] = {
            c.index: self._error(c, errors[(probe.number, c.index)])
            for c in probe.checks
            if (probe.number, c.index) in errors
        }
        runnable = [c for c in probe.checks if c.index in own]
        if runnable:
            out.update(self._run_probe(probe, runnable, own))
        return [out[c.index] for c in probe.checks]

    def _error(self, check: PlannedCheck, message: str) -> CheckResult:
        return verdicts.error(check, message, cause=self.causes.get(message, ""))

    def _run_probe(
        self, probe: ProbePlan, checks: list[PlannedCheck], hosts: Mapping[int, str]
    ) -> dict[int, CheckResult]:
        namespace, name = probe.source.namespace, f"smoke-{self.run_id}-p{probe.number}"
        manifest = pods.probe_pod(
            name=name,
            namespace=namespace,
            source_labels=probe.source.labels,
            labels=self._labels("probe"),
            image=self.options.image,
            checks=pods.encoded(probe, hosts),
            deadline_seconds=self.deadline_seconds,
            settle_seconds=self.settle_seconds,
        )
        try:
            self._create(manifest)
            finish = self.settle_seconds + max(c.timeout for c in checks) + FINISH_GRACE_SECONDS
            state = self._wait(namespace, name, until_running=False, finish=finish)
        except (ClusterError, _PodFailed) as exc:
            cause = exc.cause if isinstance(exc, _PodFailed) else ""
            return {c.index: verdicts.error(c, str(exc), cause=cause) for c in checks}
        finally:
            if not self.cancel.is_set():
                try:
                    self.cluster.delete(namespace, name)
                except ClusterError as exc:
                    self.notes.append(f"cleanup: {exc}")
        try:
            output = pods.parse_output(state.termination_message or "")
        except ValueError as exc:
            why = (
                f"probe pod {namespace}/{name} ended ({state.phase}, exit "
                f"{state.terminated_exit_code}, {state.terminated_reason or state.reason}) "
                f"without results: {exc}"
            )
            return {c.index: verdicts.error(c, why) for c in checks}
        return {
            c.index: verdicts.verdict(c, output.observations.get(c.index), tools_ok=output.tools_ok)
            for c in checks
        }
