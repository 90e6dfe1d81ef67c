"""A process that runs a real node with one running pod, for teardown tests.

    python -m tests.integration.realnode.node_process WORK_DIR

Prints `READY <pod ip>` once the pod runs, then waits. SIGTERM ends it through
the context managers (the clean path); SIGKILL leaves everything behind for
the next real node's sweep (the killed-run path).
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from rollout.devcluster.apiserver import ApiServer
from rollout.devcluster.binaries import KubeBinaries
from rollout.devcluster.real_node import RealNode
from tests.integration.realnode.pods import running_pod, wait_running


def main() -> None:
    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, terminate)
    base = Path(sys.argv[1])
    with ApiServer(KubeBinaries.discover(), name="node-process", base_dir=base) as apiserver:
        namespace = apiserver.create_namespace("killed")
        with RealNode(apiserver, [namespace]) as node:
            apiserver.rest().create(
                f"/api/v1/namespaces/{namespace}/pods", running_pod("sleeper", node.probe_image)
            )
            pod = wait_running(apiserver.rest(), namespace, "sleeper", timeout=120)
            print(f"READY {pod['status']['podIP']}", flush=True)
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                time.sleep(0.5)
    sys.exit(0)


if __name__ == "__main__":
    main()
