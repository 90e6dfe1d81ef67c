"""pytest plugin: the real node (real kubelet, containerd, kube-router) for `realnode` tests.

Fixtures:
  real_node_apiserver  module: an apiserver of its own, so the enforcer sees
                       only the objects of real-node tests
  real_node            module: a started `RealNode` on it; skips when the
                       machine cannot run one (CI turns that skip into a failure)

One real node runs per machine: `RealNode.start()` waits for a machine-wide
lock, so parallel test processes queue instead of fighting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from rollout.devcluster.errors import RealNodeUnavailable
from rollout.devcluster.node_config import preflight
from rollout.devcluster.real_node import RealNode
from tests.harness.apiserver import ApiServer


def require_real_node() -> None:
    try:
        preflight()
    except RealNodeUnavailable as exc:
        pytest.skip(f"real node unavailable: {exc}")


@pytest.fixture(scope="module")
def real_node_apiserver(apiserver_factory: Callable[..., ApiServer]) -> Iterator[ApiServer]:
    require_real_node()
    server = apiserver_factory(name="realnode")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def real_node(real_node_apiserver: ApiServer) -> Iterator[RealNode]:
    node = RealNode(real_node_apiserver)
    node.start()
    try:
        yield node
    finally:
        node.stop()
    assert not node.errors, f"the real node hit errors: {node.errors}"
