"""Smoke runs that go wrong on the real node, with real containers and real packets: an
HTTP check with Debian's busybox wget, a custom script that times out, and a runner
killed outright (SIGKILL) mid-probe whose pods the next run sweeps."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest

from rollout.devcluster.binaries import KubeBinaries
from rollout.devcluster.real_node import RealNode
from rollout.kube.probes import ProbePods
from rollout.smoke.probe import ENV_LABEL, ROLE_LABEL
from rollout.smoke.results import SmokeReport
from rollout.smoke.runner import run_smoke_suite
from rollout.smoke.scripts import ScriptRun
from tests.harness.apiserver import ApiServer
from tests.harness.real_node import network_policy
from tests.integration.realnode.conftest import (
    World,
    apply_policies,
    baseline,
    leftover_probe_pods,
    options,
    plan_of,
    web_to_api,
)
from tests.integration.realnode.pods import running_pod, wait_running

pytestmark = [pytest.mark.integration, pytest.mark.realnode]

HTTP_SERVER = "mkdir -p /tmp/www && echo ok > /tmp/www/index.html && httpd -f -p 8080 -h /tmp/www"


def test_an_http_check_with_debian_busybox_wget_is_judged(
    real_node: RealNode, real_node_apiserver: ApiServer, world: World, probe_pods: ProbePods
) -> None:
    # Debian's busybox wget dies of SIGSEGV on `-T`: every HTTP check used to read "blocked".
    rest = real_node_apiserver.rest()
    server = running_pod("api-http", real_node.probe_image, {"app": "api"}, HTTP_SERVER)
    rest.create(f"/api/v1/namespaces/{world.api}/pods", server)
    wait_running(rest, world.api, "api-http", timeout=60)
    baseline(world, real_node, real_node_apiserver)
    tests = [
        web_to_api(world, 8080, "allow", http=True),
        web_to_api(world, 9090, "deny", http=True),
    ]

    report = run_smoke_suite(
        plan_of(world, tests, canary=False), probe_pods, options(world, real_node)
    )

    by_name = {r.name: r for r in report.results}
    assert report.passed, {r.name: f"{r.outcome}: {r.message}" for r in report.results}
    assert by_name["web-to-api-8080"].observed == "connected"
    assert by_name["web-to-api-9090"].observed == "blocked"
    assert report.node == "real"


def test_a_script_that_times_out_fails_while_the_probes_are_judged(
    real_node: RealNode, real_node_apiserver: ApiServer, world: World, probe_pods: ProbePods
) -> None:
    baseline(world, real_node, real_node_apiserver)
    kubectl = KubeBinaries.discover().kubectl
    script = ScriptRun(
        name="waits-forever",
        # Talks to the real node's cluster, then hangs: the timeout must end it.
        command=f'{kubectl} get namespace {world.api} -o name && echo "$ENVIRONMENT" && sleep 60',
        timeout=3,
        environment=world.env,
        kubeconfig=str(real_node_apiserver.kubeconfig_path),
    )
    began = time.monotonic()

    report = run_smoke_suite(
        plan_of(world, [web_to_api(world, 8080, "allow")], canary=False),
        probe_pods,
        options(world, real_node, scripts=(script,)),
    )

    assert time.monotonic() - began < 55  # not the script's 60 s
    by_name = {r.name: r for r in report.results}
    assert by_name["web-to-api-8080"].outcome == "passed", by_name["web-to-api-8080"].message
    failed = by_name["waits-forever"]
    assert failed.outcome == "failed" and "timed out after 3s" in failed.message
    assert f"namespace/{world.api}" in failed.output and world.env in failed.output
    assert report.node == "real" and not report.passed
    assert leftover_probe_pods(probe_pods, world) == []


def test_a_killed_run_leaves_real_pods_that_the_next_run_sweeps(
    real_node: RealNode, real_node_apiserver: ApiServer, world: World, probe_pods: ProbePods
) -> None:
    baseline(world, real_node, real_node_apiserver)
    runner = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.realnode.runner_process",
            str(real_node_apiserver.kubeconfig_path),
            world.env,
            real_node.probe_image,
            world.web,
            world.api,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        probing = _wait_probe_running(probe_pods, world, timeout=90)
    finally:
        runner.kill()  # SIGKILL: no clean-up of its own
        out, _ = runner.communicate(timeout=30)
    assert runner.returncode == -9, out
    # Its pods are real containers, still there.
    assert probing in leftover_probe_pods(probe_pods, world)

    report = run_smoke_suite(
        plan_of(world, [web_to_api(world, 8080, "allow")], canary=False),
        probe_pods,
        options(world, real_node),
    )

    assert report.passed, [r.message for r in report.failures]
    assert any("stale probe pod(s) left by an earlier run" in n for n in report.notes), report.notes
    # Deleted objects disappear once the kubelet has stopped their containers.
    deadline = time.monotonic() + 60
    while leftover_probe_pods(probe_pods, world) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert leftover_probe_pods(probe_pods, world) == []


def _wait_probe_running(probe_pods: ProbePods, world: World, timeout: float) -> str:
    """The killed runner's probe pod, once its container runs on the node."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pod in probe_pods.list(world.web, {ENV_LABEL: world.env}):
            if pod.labels.get(ROLE_LABEL) == "probe" and pod.phase == "Running":
                return f"{pod.namespace}/{pod.name}"
        time.sleep(0.2)
    raise AssertionError(f"no probe pod ran; pods: {leftover_probe_pods(probe_pods, world)}")


def test_a_new_probe_pod_waits_out_the_enforcers_lag(
    real_node: RealNode, real_node_apiserver: ApiServer, world: World, probe_pods: ProbePods
) -> None:
    # Egress from web is denied; api takes anything. A fresh probe pod in web runs
    # without its rules until kube-router syncs it (the Kubernetes docs: a pod created
    # before the plugin handled its policies "may be started unprotected"). The demo's
    # bad commit once passed an allow the policies block that way.
    apply_policies(
        real_node,
        real_node_apiserver,
        [network_policy(world.web, "deny-egress", {"podSelector": {}, "policyTypes": ["Egress"]})],
    )
    plan = plan_of(world, [web_to_api(world, 8080, "deny")], canary=False)

    def run(settle: float) -> SmokeReport:
        with real_node.enforcer_paused() as resume:
            # Resumed once the probe pod has run a moment: its first checks went out
            # without rules, as they would while a busy enforcer catches up.
            waiter = threading.Thread(target=resume_after_probe_runs, args=(resume,))
            waiter.start()
            try:
                return run_smoke_suite(plan, probe_pods, options(world, real_node, settle=settle))
            finally:
                waiter.join()

    def resume_after_probe_runs(resume: Callable[[], None]) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pods = probe_pods.list(world.web, {ROLE_LABEL: "probe"})
            if any(p.phase in ("Running", "Succeeded", "Failed") for p in pods):
                time.sleep(2)
                break
            time.sleep(0.1)
        resume()

    unsettled = run(settle=0)
    (failure,) = unsettled.failures  # the hazard is real here: the first connection got out
    assert failure.observed == "connected", unsettled.summary()

    settled = run(settle=10)
    assert settled.passed, "\n".join(r.message for r in settled.failures)
    (result,) = settled.results
    assert result.observed == "blocked"
    assert leftover_probe_pods(probe_pods, world) == []
