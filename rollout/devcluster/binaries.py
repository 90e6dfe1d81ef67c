"""Where the pinned etcd, kube-apiserver and kubectl live, and how to build them.

They are built from Go modules by `hack/kube-binaries.sh` of a source
checkout into `$NETPOL_KUBE_BIN_DIR` or `~/.cache/netpol-rollout/kube-v1.34.4`.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rollout.devcluster.errors import KubeBinariesMissing

KUBE_VERSION = "v1.34.4"
BIN_DIR_ENV = "NETPOL_KUBE_BIN_DIR"
DEFAULT_BIN_DIR = Path.home() / ".cache" / "netpol-rollout" / f"kube-{KUBE_VERSION}"
BUILD_SCRIPT = Path("hack") / "kube-binaries.sh"
BUILD_NOTE = (
    "a one-time build from Go modules (needs Go >= 1.24; about 6 minutes on 2 cores, "
    "~3.6 GB of Go caches); later runs reuse it"
)


def bin_dir() -> Path:
    """The folder the binaries are looked up in (and built into)."""
    return Path(os.environ.get(BIN_DIR_ENV) or DEFAULT_BIN_DIR)


def build_script() -> Path | None:
    """`hack/kube-binaries.sh` of the source checkout this package runs from, if any."""
    root = Path(__file__).resolve().parents[2]
    script = root / BUILD_SCRIPT
    return script if script.is_file() else None


@dataclass(frozen=True)
class KubeBinaries:
    etcd: Path
    kube_apiserver: Path
    kubectl: Path

    @classmethod
    def discover(cls) -> KubeBinaries:
        """Find the binaries in $NETPOL_KUBE_BIN_DIR or the default cache folder.

        Raises KubeBinariesMissing naming the folder and the build command.
        """
        folder = bin_dir()
        found = cls(
            etcd=folder / "etcd",
            kube_apiserver=folder / "kube-apiserver",
            kubectl=folder / "kubectl",
        )
        paths = (found.etcd, found.kube_apiserver, found.kubectl)
        missing = [p.name for p in paths if not os.access(p, os.X_OK)]
        if missing:
            raise KubeBinariesMissing(
                f"{', '.join(missing)} not found in {folder} "
                f"(set by ${BIN_DIR_ENV} or the default). "
                "Build them with `hack/kube-binaries.sh` "
                "(needs Go >= 1.24; the first build takes minutes), "
                f"then export {BIN_DIR_ENV}=<the folder it prints> if you changed it."
            )
        return found


def build(script: Path, *, echo: Callable[[str], None]) -> KubeBinaries:
    """Run the build script (its progress goes to the terminal) and discover the result.

    Raises KubeBinariesMissing if the build fails.
    """
    echo(f"building etcd, kube-apiserver and kubectl with {script}: {BUILD_NOTE}")
    done = subprocess.run(["bash", str(script)], check=False, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise KubeBinariesMissing(f"{script} failed with exit code {done.returncode}")
    lines = done.stdout.strip().splitlines()
    if lines and BIN_DIR_ENV not in os.environ and Path(lines[-1]) != DEFAULT_BIN_DIR:
        os.environ[BIN_DIR_ENV] = lines[-1]
    return KubeBinaries.discover()
