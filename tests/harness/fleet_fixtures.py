"""pytest plugin: fleets of real apiservers (`rollout.devcluster.fleet.DevFleet`).

Fixtures:
  fleet_factory  session: `start(names, shared_etcd=True) -> DevFleet[ApiServer]`;
                 each fleet is stopped at session end (or earlier via `.stop()`)
  dev_fleet      module: four clusters ("canary", "eu-west", "us-east", "ap-south")
                 on one shared etcd, for the tests of one module

Every cluster is an `ApiServer` of tests/harness (with `client()`); reach one
with `fleet["eu-west"].kubeconfig_path` and `.context`, or all of them through
`fleet.write_kubeconfig(path)` (one kubeconfig, a context per cluster).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pytest

from rollout.devcluster.fleet import DevFleet
from tests.harness.apiserver import ApiServer, KubeBinaries

FLEET_NAMES = ("canary", "eu-west", "us-east", "ap-south")

FleetFactory = Callable[..., DevFleet[ApiServer]]


def _start_fleet(
    binaries: KubeBinaries, started: list[DevFleet[ApiServer]]
) -> Callable[..., DevFleet[ApiServer]]:
    def start(names: Sequence[str] = FLEET_NAMES, **kwargs: object) -> DevFleet[ApiServer]:
        fleet = DevFleet(binaries, names, server_factory=ApiServer, **kwargs)  # type: ignore[arg-type]
        started.append(fleet)
        fleet.start()
        return fleet

    return start


@pytest.fixture(scope="session")
def fleet_factory(kube_binaries: KubeBinaries) -> Iterator[FleetFactory]:
    started: list[DevFleet[ApiServer]] = []
    try:
        yield _start_fleet(kube_binaries, started)
    finally:
        for fleet in reversed(started):
            fleet.stop()


@pytest.fixture(scope="module")
def dev_fleet(kube_binaries: KubeBinaries) -> Iterator[DevFleet[ApiServer]]:
    started: list[DevFleet[ApiServer]] = []
    try:
        yield _start_fleet(kube_binaries, started)()
    finally:
        for fleet in started:
            fleet.stop()
