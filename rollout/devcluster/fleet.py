"""A fleet of development clusters: N real kube-apiservers, optionally on one etcd.

Each cluster has its own apiserver process, port, PKI and admin kubeconfig;
with `shared_etcd` (the default) they keep their data in one etcd under
distinct `--etcd-prefix` values, which saves an etcd process (~40 MB) per
cluster and its start-up. `write_kubeconfig()` writes one kubeconfig with a
context per cluster, as an operator's would look for a multi-cluster
environment. Used by the fleet tests and benchmarks/bench_fleet_rollout.py.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from rollout.devcluster.apiserver import ApiServer
from rollout.devcluster.binaries import KubeBinaries
from rollout.devcluster.errors import HarnessError
from rollout.devcluster.etcd import SharedEtcd

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

Server = TypeVar("Server", bound=ApiServer)


@dataclass(frozen=True)
class FleetCluster(Generic[Server]):
    """One cluster of a fleet: its name, apiserver and how to reach it.

    `context` names the admin context both in the cluster's own kubeconfig
    (`kubeconfig_path`) and in the fleet's `write_kubeconfig()` file.
    """

    name: str
    apiserver: Server

    @property
    def kubeconfig_path(self) -> Path:
        return self.apiserver.kubeconfig_path

    @property
    def context(self) -> str:
        return f"admin@{self.name}"


class DevFleet(Generic[Server]):
    """Clusters `names`, started by `start()` and stopped by `stop()` (idempotent).

    `server_factory(binaries, name=..., base_dir=..., etcd_url=..., etcd_prefix=...)`
    builds each apiserver (default `ApiServer`; tests pass their subclass).
    `parallel` apiservers start at once. Raises HarnessError for a bad or
    repeated name, ApiServerStartError if a cluster fails to start (everything
    started so far is stopped again).
    """

    def __init__(
        self,
        binaries: KubeBinaries,
        names: Sequence[str],
        *,
        shared_etcd: bool = True,
        parallel: int = 4,
        base_dir: Path | None = None,
        server_factory: Callable[..., Server] = ApiServer,  # type: ignore[assignment]
    ) -> None:
        for name in names:
            if not _NAME.match(name):
                raise HarnessError(f"fleet cluster name {name!r}: expected a DNS label")
        if len(set(names)) != len(names):
            raise HarnessError(f"fleet cluster names repeat: {list(names)}")
        self.binaries = binaries
        self.names = tuple(names)
        self.clusters: list[FleetCluster[Server]] = []
        self.etcd: SharedEtcd | None = None
        self.workdir: Path | None = None
        self._shared_etcd = shared_etcd
        self._parallel = max(1, parallel)
        self._base_dir = base_dir
        self._server_factory = server_factory
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> DevFleet[Server]:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __getitem__(self, name: str) -> FleetCluster[Server]:
        for cluster in self.clusters:
            if cluster.name == name:
                return cluster
        raise KeyError(name)

    @property
    def pids(self) -> list[int]:
        """Every process of the fleet: the shared etcd and each apiserver's."""
        shared = [self.etcd.pid] if self.etcd is not None and self.etcd.url else []
        return shared + [pid for cluster in self.clusters for pid in cluster.apiserver.pids]

    def start(self) -> None:
        if self.workdir is not None:
            return
        self.workdir = Path(tempfile.mkdtemp(prefix="netpol-fleet-", dir=self._base_dir))
        try:
            etcd_url = None
            if self._shared_etcd:
                self.etcd = SharedEtcd(self.binaries, base_dir=self.workdir)
                self.etcd.start()
                etcd_url = self.etcd.url
            servers = [
                self._server_factory(
                    self.binaries,
                    name=name,
                    base_dir=self.workdir,
                    etcd_url=etcd_url,
                    etcd_prefix=f"/{name}" if etcd_url else "/registry",
                )
                for name in self.names
            ]
            pairs = zip(self.names, servers, strict=True)
            self.clusters = [FleetCluster(name, server) for name, server in pairs]
            # The children die with the thread that spawned them (PR_SET_PDEATHSIG, so
            # a killed test run leaves none behind): the pool lives until stop().
            self._pool = ThreadPoolExecutor(self._parallel, thread_name_prefix="fleet")
            # list(): re-raise the first start failure here
            list(self._pool.map(lambda server: server.start(), servers))
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every apiserver, then the shared etcd; remove the work dir."""
        servers = [cluster.apiserver for cluster in reversed(self.clusters)]
        if self._pool is not None:
            # In parallel: an apiserver takes seconds to shut down gracefully.
            list(self._pool.map(lambda server: server.stop(), servers))
            self._pool.shutdown()
            self._pool = None
        for server in servers:
            server.stop()  # idempotent; stops any the pool did not reach
        self.clusters = []
        if self.etcd is not None:
            self.etcd.stop()
            self.etcd = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def write_kubeconfig(
        self, path: Path, clusters: Iterable[FleetCluster[Server]] | None = None
    ) -> Path:
        """Write one kubeconfig (mode 0600) with a context per cluster; return `path`.

        Context names are `FleetCluster.context`; the current context is the first.
        """
        return write_fleet_kubeconfig(path, self.clusters if clusters is None else clusters)


def write_fleet_kubeconfig(path: Path, clusters: Iterable[FleetCluster[Any]]) -> Path:
    """One kubeconfig holding the admin context of every cluster in `clusters`."""
    chosen = list(clusters)
    if not chosen:
        raise HarnessError("write_fleet_kubeconfig: no clusters")
    entries: dict[str, list[dict[str, Any]]] = {"clusters": [], "users": [], "contexts": []}
    for cluster in chosen:
        own = json.loads(cluster.kubeconfig_path.read_text())
        user = f"admin-{cluster.name}"
        entries["clusters"].append({"name": cluster.name, "cluster": own["clusters"][0]["cluster"]})
        entries["users"].append({"name": user, "user": own["users"][0]["user"]})
        entries["contexts"].append(
            {"name": cluster.context, "context": {"cluster": cluster.name, "user": user}}
        )
    config = {"apiVersion": "v1", "kind": "Config", **entries}
    config["current-context"] = chosen[0].context
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path
