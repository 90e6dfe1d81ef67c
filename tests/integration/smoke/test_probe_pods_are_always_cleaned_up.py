"""Probe pods never outlive a run: deleted on SIGTERM/Ctrl-C, and swept by the next
run when the previous one was killed outright (SIGKILL)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from rollout.kube.probes import ProbePods
from rollout.smoke.runner import run_smoke_suite
from tests.harness.apiserver import ApiServer
from tests.harness.fake_node import FakeNode
from tests.integration.smoke.conftest import World, leftover_pods, options, plan_of, policy_table

pytestmark = pytest.mark.integration


def _start_runner(apiserver: ApiServer, world: World) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.smoke.runner_process",
            str(apiserver.kubeconfig_path),
            world.env,
            *world.namespaces,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_pods(probe_pods: ProbePods, world: World, count: int) -> list[str]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = leftover_pods(probe_pods, world)
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"the runner created only {leftover_pods(probe_pods, world)}")


def test_sigkilled_run_leaves_pods_that_the_next_run_sweeps(
    apiserver: ApiServer,
    world: World,
    probe_pods: ProbePods,
    fake_node_factory: Callable[..., FakeNode],
) -> None:
    # A node that starts listeners but never the probes: the run hangs mid-probe.
    stuck = fake_node_factory(namespaces=world.namespaces, ignore_roles=["probe"])
    runner = _start_runner(apiserver, world)
    try:
        # The canary's listener, then one probe per namespace (both have the DNS check).
        stale = _wait_for_pods(probe_pods, world, 3)
    finally:
        runner.kill()
        runner.communicate(timeout=30)
    stuck.stop()
    time.sleep(0.5)
    assert sorted(leftover_pods(probe_pods, world)) == sorted(stale)  # nothing cleaned up

    fake_node_factory(policy_table(world, []), namespaces=world.namespaces)
    report = run_smoke_suite(plan_of(world, []), probe_pods, options(world))

    assert report.passed, [r.message for r in report.failures]
    assert any(f"swept {len(stale)} stale probe pod(s)" in note for note in report.notes)
    assert leftover_pods(probe_pods, world) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_run_deletes_its_pods(
    apiserver: ApiServer,
    world: World,
    probe_pods: ProbePods,
    fake_node_factory: Callable[..., FakeNode],
    sig: signal.Signals,
) -> None:
    fake_node_factory(namespaces=world.namespaces, ignore_roles=["probe"])
    runner = _start_runner(apiserver, world)
    _wait_for_pods(probe_pods, world, 3)
    runner.send_signal(sig)
    out, _ = runner.communicate(timeout=30)

    assert runner.returncode == 130, out
    assert "interrupted, cleaned up" in out
    assert leftover_pods(probe_pods, world) == []
