"""The real node comes up with real pods and leaves nothing on the machine on any
path: a normal stop, a failed start, SIGTERM, and a SIGKILLed run swept by the
next start. A machine that cannot run it gets a message naming what is missing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rollout.devcluster.errors import RealNodeStartError, RealNodeUnavailable
from rollout.devcluster.node_config import preflight
from rollout.devcluster.real_node import NODE_IP, RealNode, sweep
from tests.harness.apiserver import ApiServer
from tests.harness.real_node import host_footprint
from tests.harness.real_node_fixtures import require_real_node
from tests.integration.realnode.pods import running_pod, wait_running

pytestmark = [pytest.mark.integration, pytest.mark.realnode]

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def node_apiserver(apiserver_factory: Callable[..., ApiServer]) -> Iterator[ApiServer]:
    require_real_node()
    sweep()  # a killed earlier run must not count as this test's footprint
    server = apiserver_factory(name="realnode-lifecycle")
    yield server
    server.stop()


def test_pods_run_on_the_bridge_and_stop_removes_everything(node_apiserver: ApiServer) -> None:
    before = host_footprint()
    namespace = node_apiserver.create_namespace("lifecycle-a")
    with RealNode(node_apiserver, [namespace]) as node:
        rest = node_apiserver.rest()
        rest.create(f"/api/v1/namespaces/{namespace}/pods", running_pod("p", node.probe_image))
        pod = wait_running(rest, namespace, "p", timeout=90)
        assert pod["spec"]["nodeName"] == node.node_name
        assert pod["status"]["hostIP"] == NODE_IP
        assert pod["status"]["podIP"].startswith("10.244.0.")
        node_object = rest.get(f"/api/v1/nodes/{node.node_name}")
        assert node_object["spec"]["podCIDR"] == "10.244.0.0/24"
        assert node.enforcer_running()
    assert not node.errors
    assert host_footprint() == before


def test_a_failed_start_removes_everything(node_apiserver: ApiServer) -> None:
    before = host_footprint()
    node = RealNode(node_apiserver, kubelet_args=["--no-such-flag"])
    try:
        with pytest.raises(RealNodeStartError, match="kubelet exited"):
            node.start()
    finally:
        node.stop()
    assert host_footprint() == before


def _node_process(work: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.realnode.node_process", str(work)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_ready(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    line = process.stdout.readline()  # the process prints READY or dies (EOF)
    assert line.startswith("READY"), f"node process did not come up: {line!r}"


def test_sigterm_tears_the_node_down(node_apiserver: ApiServer, tmp_path: Path) -> None:
    before = host_footprint()
    with _node_process(tmp_path) as process:
        try:
            _wait_ready(process)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=120) == 143
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    assert host_footprint() == before


def test_a_killed_run_is_swept_by_the_next_start(node_apiserver: ApiServer, tmp_path: Path) -> None:
    before = host_footprint()
    with _node_process(tmp_path) as process:
        try:
            _wait_ready(process)
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert host_footprint() != before, "a SIGKILLed node should leave something to sweep"
    with RealNode(node_apiserver):
        pass
    assert host_footprint() == before


def test_a_machine_without_the_binaries_gets_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETPOL_KUBE_BIN_DIR", str(tmp_path))
    began = time.monotonic()
    with pytest.raises(RealNodeUnavailable) as caught:
        preflight()
    assert time.monotonic() - began < 30  # an error, not a hang
    message = str(caught.value)
    assert f"kubelet in {tmp_path}" in message
    assert f"kube-router in {tmp_path}" in message
    assert "hack/node-binaries.sh" in message
