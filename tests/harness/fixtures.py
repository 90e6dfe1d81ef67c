"""pytest plugin: real apiservers for integration tests.

Fixtures:
  kube_binaries      session: the pinned binaries; skips the test if not built
  apiserver_factory  session: `start(name="...") -> ApiServer`, each started
                     server is stopped at session end (or earlier via `.stop()`)
  apiserver          session: the one shared ApiServer (name "primary")
  kube_namespace     function: a fresh, uniquely named namespace on `apiserver`

Skips become failures in CI (.ci/run), so a missing build cannot pass silently.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from rollout.devcluster.errors import KubeBinariesMissing
from tests.harness.apiserver import ApiServer, KubeBinaries


@pytest.fixture(scope="session")
def kube_binaries() -> KubeBinaries:
    try:
        return KubeBinaries.discover()
    except KubeBinariesMissing as exc:
        pytest.skip(f"real apiserver unavailable: {exc}")


@pytest.fixture(scope="session")
def apiserver_factory(kube_binaries: KubeBinaries) -> Iterator[Callable[..., ApiServer]]:
    started: list[ApiServer] = []

    def start(name: str = "extra", **kwargs: object) -> ApiServer:
        server = ApiServer(kube_binaries, name=name, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        server.start()
        return server

    try:
        yield start
    finally:
        for server in reversed(started):
            server.stop()


@pytest.fixture(scope="session")
def apiserver(apiserver_factory: Callable[..., ApiServer]) -> ApiServer:
    return apiserver_factory(name="primary")


@pytest.fixture
def kube_namespace(apiserver: ApiServer, request: pytest.FixtureRequest) -> str:
    # Namespaces never finish deleting without a controller-manager: use fresh names.
    base = request.node.name.lower().replace("_", "-")
    base = "".join(c for c in base if c.isalnum() or c == "-")[:40].strip("-") or "test"
    return apiserver.create_namespace(f"{base}-{uuid.uuid4().hex[:6]}")
