"""A fleet of development clusters: four real apiservers on one shared etcd
(distinct --etcd-prefix) are four independent clusters, reachable through one
multi-context kubeconfig, and stopping the fleet leaves no process or file."""

from __future__ import annotations

import os
import ssl
import subprocess
import uuid
from pathlib import Path

import pytest
import urllib3
from kubernetes import client as k8s
from kubernetes.config import new_client_from_config

from rollout.devcluster.errors import HarnessError
from rollout.devcluster.fleet import DevFleet
from tests.harness.apiserver import ApiServer, KubeBinaries
from tests.harness.fleet_fixtures import FLEET_NAMES, FleetFactory
from tests.harness.kubeapi import close_client

pytestmark = pytest.mark.integration


def _namespaces(kubeconfig: Path, context: str) -> dict[str, dict[str, str]]:
    api = new_client_from_config(config_file=str(kubeconfig), context=context, persist_config=False)
    try:
        return {
            n.metadata.name: dict(n.metadata.labels or {})
            for n in k8s.CoreV1Api(api).list_namespace().items
        }
    finally:
        close_client(api)


def test_objects_in_one_cluster_are_invisible_in_the_others(
    dev_fleet: DevFleet[ApiServer], tmp_path: Path
) -> None:
    assert [c.name for c in dev_fleet.clusters] == list(FLEET_NAMES)
    assert dev_fleet.etcd is not None  # one etcd for all four
    assert len({c.apiserver.url for c in dev_fleet.clusters}) == 4
    merged = dev_fleet.write_kubeconfig(tmp_path / "fleet.kubeconfig")
    assert merged.stat().st_mode & 0o777 == 0o600

    only_canary = f"only-canary-{uuid.uuid4().hex[:6]}"
    dev_fleet["canary"].apiserver.create_namespace(only_canary)
    # The same name in two clusters holds two different objects.
    shared_name = f"everywhere-{uuid.uuid4().hex[:6]}"
    for cluster in dev_fleet.clusters:
        cluster.apiserver.create_namespace(shared_name, labels={"cluster": cluster.name})

    for cluster in dev_fleet.clusters:
        seen = _namespaces(merged, cluster.context)
        assert seen == _namespaces(cluster.kubeconfig_path, cluster.context)
        assert (only_canary in seen) == (cluster.name == "canary"), cluster.name
        assert seen[shared_name] == {
            "cluster": cluster.name,
            "kubernetes.io/metadata.name": shared_name,
        }

    # kubectl picks a cluster by context in the same file, as an operator would.
    kubectl = dev_fleet.binaries.kubectl
    for cluster, expected in (("canary", True), ("us-east", False)):
        context_args = ["--kubeconfig", str(merged), "--context", f"admin@{cluster}"]
        query = ["get", "namespace", only_canary, "--ignore-not-found", "-o", "name"]
        result = subprocess.run(
            [str(kubectl), *context_args, *query],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        assert (result.stdout.strip() == f"namespace/{only_canary}") == expected, cluster

    # Separate PKIs: one cluster's CA does not vouch for another's server.
    context = ssl.create_default_context(cafile=str(dev_fleet["canary"].apiserver.ca_path))
    with (
        pytest.raises(urllib3.exceptions.SSLError),
        urllib3.PoolManager(ssl_context=context, retries=False) as pool,
    ):
        pool.request("GET", f"{dev_fleet['eu-west'].apiserver.url}/version")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("shared_etcd", [True, False], ids=["shared-etcd", "etcd-each"])
def test_stopping_a_fleet_leaves_no_process_and_no_files(
    fleet_factory: FleetFactory, shared_etcd: bool
) -> None:
    fleet = fleet_factory(["left", "right"], shared_etcd=shared_etcd)
    pids = fleet.pids
    # shared: one etcd + two apiservers; otherwise an etcd and an apiserver each
    assert len(pids) == (3 if shared_etcd else 4)
    assert all(_alive(pid) for pid in pids)
    workdir = fleet.workdir
    assert workdir is not None and workdir.is_dir()

    fleet.stop()

    assert [pid for pid in pids if _alive(pid)] == []
    assert not workdir.exists()
    assert fleet.clusters == [] and fleet.etcd is None
    fleet.stop()  # idempotent


def test_bad_cluster_names_are_refused_before_anything_starts(
    kube_binaries: KubeBinaries,
) -> None:
    with pytest.raises(HarnessError, match="'EU_West': expected a DNS label"):
        DevFleet(kube_binaries, ["canary", "EU_West"])
    with pytest.raises(HarnessError, match="repeat"):
        DevFleet(kube_binaries, ["canary", "canary"])
