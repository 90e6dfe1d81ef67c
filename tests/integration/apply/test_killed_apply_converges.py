"""SIGKILL in the middle of an apply: the revision is not recorded as deployed
(only marked pending), and the next run converges and records it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from rollout.kube.apply import KubeCluster
from tests.integration.apply import driver
from tests.integration.apply.conftest import Setup
from tests.integration.apply.policy_repo import PolicyRepo, policy

pytestmark = pytest.mark.integration

COUNT = 400


def _count(cluster: KubeCluster, namespace: str) -> int:
    path = f"/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies"
    return len(cluster.client.request("GET", path)["items"])


def test_killed_apply_converges_on_the_next_run(
    repo: PolicyRepo, setup: Setup, cluster: KubeCluster, namespaces: list[str]
) -> None:
    shop, pay = namespaces
    repo.write("base.yaml", policy("base", pay))
    old = repo.commit("old")
    driver.apply(setup, cluster, old)

    repo.write("many.yaml", *(policy(f"p-{i:04d}", shop, app=f"a{i}") for i in range(COUNT)))
    new = repo.commit("many")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rollout",
            "apply",
            "-c",
            str(setup.config_path),
            "--env",
            "staging",
            "--rev",
            new,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    deadline = time.monotonic() + 60
    while _count(cluster, shop) == 0:
        if proc.poll() is not None:
            pytest.fail(f"apply ended early: {proc.communicate()}")
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()

    landed = _count(cluster, shop)
    assert 0 < landed < COUNT, "the kill came too late to test anything"
    state = driver.state(setup, cluster).read()
    assert state is not None
    assert state.commit_sha == old and state.pending_sha == new

    report = driver.apply(setup, cluster, new)
    assert report.status == "applied" and report.recorded
    assert report.plan.counts["unchanged"] >= landed  # the ones that landed are kept
    assert _count(cluster, shop) == COUNT
    state = driver.state(setup, cluster).read()
    assert state is not None and state.commit_sha == new and state.pending_sha is None
