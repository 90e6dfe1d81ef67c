"""pytest plugin: a fake node (kubelet stand-in) for smoke-test pods on the test apiserver.

Fixtures:
  fake_node_factory  function: `start(connectivity, namespaces=[...], **options) -> FakeNode`;
                     every node started is stopped at the end of the test.

Load with `pytest_plugins = ["tests.harness.fixtures", "tests.harness.node_fixtures"]`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.harness.apiserver import ApiServer
from tests.harness.fake_node import Connectivity, FakeNode, allow_everything


@pytest.fixture
def fake_node_factory(apiserver: ApiServer) -> Iterator[Callable[..., FakeNode]]:
    started: list[FakeNode] = []

    def start(connectivity: Connectivity = allow_everything, **options: object) -> FakeNode:
        node = FakeNode(apiserver.kubeconfig_path, connectivity, **options)  # type: ignore[arg-type]
        node.__enter__()
        started.append(node)
        return node

    yield start
    for node in reversed(started):
        node.__exit__(None, None, None)
    errors = [e for node in started for e in node.errors]
    assert not errors, f"the fake node hit errors: {errors}"
