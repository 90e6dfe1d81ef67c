"""One etcd process: the store of one development apiserver, or shared by a fleet.

A fleet of development clusters (`rollout.devcluster.fleet`) can run one etcd
for all its apiservers, each under its own `--etcd-prefix`: the keys never
overlap, so the clusters are as independent as with an etcd each, and one etcd
(about 40 MB resident) is started instead of N.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from rollout.devcluster.binaries import KubeBinaries
from rollout.devcluster.errors import ApiServerStartError, HarnessError
from rollout.devcluster.processes import ADDRESS_IN_USE, ManagedProcess, free_ports, http_ok

_START_ATTEMPTS = 3  # free ports can be taken by someone else before we bind them


def spawn_etcd(
    binaries: KubeBinaries, data_dir: Path, log_path: Path, deadline: float
) -> tuple[ManagedProcess, str]:
    """Start etcd on free loopback ports; return the process and its client URL.

    Raises ApiServerStartError (with the log tail) if it exits or is not
    healthy by `deadline` (time.monotonic); the process is then already stopped.
    """
    client_port, peer_port = free_ports(2)
    etcd_url = f"http://127.0.0.1:{client_port}"
    peer_url = f"http://127.0.0.1:{peer_port}"
    process = ManagedProcess(
        "etcd",
        [
            str(binaries.etcd),
            "--name=default",
            f"--data-dir={data_dir}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=default={peer_url}",
            "--unsafe-no-fsync",  # throwaway data; fsync dominates startup and writes
            "--log-level=warn",
        ],
        log_path,
    )
    try:
        process.wait_ready(lambda: http_ok(f"{etcd_url}/health", None), deadline)
    except BaseException:
        process.stop()
        raise
    return process, etcd_url


class SharedEtcd:
    """An etcd for several development apiservers; `url` after `start()`.

    Context manager, or `start()` / `stop()` (both idempotent). Give each
    apiserver `ApiServer(..., etcd_url=etcd.url, etcd_prefix="/<name>")`.
    """

    def __init__(
        self, binaries: KubeBinaries, *, base_dir: Path | None = None, start_timeout: float = 30.0
    ) -> None:
        self.binaries = binaries
        self.url = ""
        self.workdir: Path | None = None
        self._base_dir = base_dir
        self._start_timeout = start_timeout
        self._process: ManagedProcess | None = None

    def __enter__(self) -> SharedEtcd:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        if self._process is None:
            raise HarnessError("SharedEtcd is not started")
        return self._process.pid

    def start(self) -> None:
        if self.workdir is not None:
            return
        self.workdir = Path(tempfile.mkdtemp(prefix="netpol-etcd-", dir=self._base_dir))
        try:
            for attempt in range(1, _START_ATTEMPTS + 1):
                run_dir = self.workdir / f"attempt-{attempt}"
                try:
                    self._process, self.url = spawn_etcd(
                        self.binaries,
                        run_dir / "data",
                        run_dir / "etcd.log",
                        time.monotonic() + self._start_timeout,
                    )
                    return
                except ApiServerStartError as exc:
                    if ADDRESS_IN_USE not in str(exc) or attempt == _START_ATTEMPTS:
                        raise
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate (then kill) etcd and remove its data."""
        if self._process is not None:
            self._process.stop()
            self._process = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        self.url = ""
