"""The runner against an in-memory ProbeCluster: cleanup in every path, and a failing
static pre-check stops the run before any pod is created."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from rollout.kube.probes import PodState
from rollout.smoke.plan import build_plan
from rollout.smoke.probe import CHECKS_ENV, decode_checks
from rollout.smoke.results import CheckResult
from rollout.smoke.runner import RunOptions, run_smoke_suite
from rollout.smoke.spec import parse_smoke_file, suite_for


class MemoryCluster:
    """Pods terminate at once; every check connects unless its port is in `blocked`."""

    def __init__(self, *, interrupt_on_read: bool = False, blocked: frozenset[int] = frozenset()):
        self.pods: dict[tuple[str, str], dict[str, Any]] = {}
        self.created: list[str] = []
        self.interrupt_on_read = interrupt_on_read
        self.blocked = blocked

    def create(self, manifest: Mapping[str, Any]) -> None:
        meta = manifest["metadata"]
        self.pods[(meta["namespace"], meta["name"])] = dict(manifest)
        self.created.append(meta["name"])

    def read(self, namespace: str, name: str) -> PodState | None:
        if self.interrupt_on_read:
            raise KeyboardInterrupt
        pod = self.pods.get((namespace, name))
        if pod is None:
            return None
        container = pod["spec"]["containers"][0]
        labels = pod["metadata"]["labels"]
        if container["name"] == "listener":
            return PodState(namespace, name, "Running", labels, pod_ip="10.1.1.1")
        env = {e["name"]: e["value"] for e in container["env"]}
        rows = [
            [c.index, int(c.port not in self.blocked), 1, 0] for c in decode_checks(env[CHECKS_ENV])
        ]
        message = json.dumps({"v": 1, "t": 1, "r": rows})
        return PodState(
            namespace,
            name,
            "Succeeded",
            labels,
            terminated_exit_code=0,
            termination_message=message,
        )

    def delete(self, namespace: str, name: str) -> None:
        self.pods.pop((namespace, name), None)

    def list(self, namespace: str, labels: Mapping[str, str]) -> list[PodState]:
        return [
            PodState(ns, name, "Pending", pod["metadata"]["labels"])
            for (ns, name), pod in self.pods.items()
            if ns == namespace
            and all(pod["metadata"]["labels"].get(k) == v for k, v in labels.items())
        ]

    def service_ip(self, namespace: str, name: str) -> str | None:
        return None


def _plan(tests: list[dict[str, Any]] | None = None) -> Any:
    return build_plan(suite_for(parse_smoke_file({"tests": tests or []}), "staging"), ["web"], 1)


OPTIONS = RunOptions(environment="staging", poll_interval=0.01)


def test_a_run_creates_listener_and_probe_then_deletes_both() -> None:
    cluster = MemoryCluster(blocked=frozenset({17001}))
    report = run_smoke_suite(_plan(), cluster, OPTIONS, run_id="abc")
    assert report.passed, [r.message for r in report.failures]
    assert cluster.created == ["smoke-abc-l0", "smoke-abc-p0"]
    assert cluster.pods == {}


def test_ctrl_c_while_waiting_still_deletes_every_pod() -> None:
    cluster = MemoryCluster(interrupt_on_read=True)
    with pytest.raises(KeyboardInterrupt):
        run_smoke_suite(_plan(), cluster, OPTIONS, run_id="abc")
    assert cluster.created and cluster.pods == {}


def test_failing_precheck_stops_before_any_pod() -> None:
    cluster = MemoryCluster()

    def precheck(plan: Any) -> list[CheckResult]:
        return [CheckResult("dns web", "precheck", "failed", "cannot hold: ...")]

    report = run_smoke_suite(_plan(), cluster, OPTIONS, precheck=precheck)
    assert not report.passed and cluster.created == []
    assert {r.outcome for r in report.results} == {"failed", "skipped"}


def test_missing_service_is_an_error_for_that_check_only() -> None:
    tests = [
        {
            "name": "svc",
            "from": {"namespace": "web"},
            "to": {"service": "api/gone"},
            "port": 80,
            "expect": "allow",
        }
    ]
    cluster = MemoryCluster(blocked=frozenset({17001}))
    report = run_smoke_suite(_plan(tests), cluster, OPTIONS)
    (failure,) = report.failures
    assert failure.name == "svc" and failure.outcome == "error"
    assert failure.message == "service api/gone not found (or headless)"


class DeadlineCluster(MemoryCluster):
    """The kubelet ended the probe (activeDeadlineSeconds) before it wrote results."""

    def read(self, namespace: str, name: str) -> PodState | None:
        state = super().read(namespace, name)
        if state is None or not name.endswith("-p0"):
            return state
        return PodState(namespace, name, "Failed", state.labels, reason="DeadlineExceeded")


def test_probe_that_ends_without_results_is_an_error_naming_the_pod() -> None:
    report = run_smoke_suite(_plan(), DeadlineCluster(), OPTIONS, run_id="abc")
    assert {r.outcome for r in report.results} == {"error"}
    message = report.results[0].message
    assert message.startswith(
        "probe pod web/smoke-abc-p0 ended (Failed, exit None, DeadlineExceeded)"
    )
    assert "without results" in message
