"""A fake node for the test apiserver: it plays the kubelet for smoke-test pods.

`FakeNode` is `rollout.devcluster.simulated_node.SimulatedNode` (the node
`rollout demo` runs) with the test suite's interface: built from the
apiserver's kubeconfig, and answering connectivity from a fixed function the
test declares instead of the policy engine. Like a kubelet it writes pod
status through the `pods/status` subresource:

* every pod gets a pod IP and phase Running (listeners, app pods);
* a probe pod (label `netpol-rollout.io/smoke-role=probe`) then really runs
  the runner's probe script with stand-in `nc`/`wget`/`nslookup` that answer
  from the connectivity function; the termination log becomes
  `terminated.message`, the exit code the phase Succeeded/Failed;
* a pod whose image is in `fail_images` gets `waiting: ErrImagePull` then
  `ImagePullBackOff`, and never starts.

The runner reads all of this with exactly the calls it makes on a real cluster.
Connectivity is a function `(source, target, port, protocol) -> bool`;
`target.kind` is `pod` (with labels), `service`, `dns` or `external` (an
address no fake pod or Service has; `reachable_tcp` connects for real, for
local listeners). Assign `node.connectivity` to change it; each probe pod
reads it when it runs.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from rollout.devcluster.kubeapi import RestClient
from rollout.devcluster.simulated_node import Connectivity, SimulatedNode
from rollout.devcluster.simulated_node import SimSource as FakeSource
from rollout.devcluster.simulated_node import SimTarget as FakeTarget

__all__ = [
    "Connectivity",
    "FakeNode",
    "FakeSource",
    "FakeTarget",
    "allow_everything",
    "reachable_tcp",
    "rest_client_for",
]

# A watch reacts at once; poll about as often so tests wait no longer than they did.
_POLL_INTERVAL = 0.1
_WORKERS = 32  # smoke tests run many probe pods at once


def allow_everything(source: FakeSource, target: FakeTarget, port: int, protocol: str) -> bool:
    """A cluster whose network plugin enforces nothing."""
    return True


def reachable_tcp(target: FakeTarget, port: int, timeout: float = 1.0) -> bool:
    """Really connect to `target.host:port` (for tests with local listeners)."""
    try:
        with socket.create_connection((target.host, port), timeout=timeout):
            return True
    except OSError:
        return False


def rest_client_for(kubeconfig: Path) -> RestClient:
    """A JSON client for the current context of a client-certificate kubeconfig."""
    config: dict[str, Any] = yaml.safe_load(kubeconfig.read_text())

    def named(section: str, name: str) -> dict[str, Any]:
        return next(item[section[:-1]] for item in config[section] if item["name"] == name)

    context = named("contexts", config["current-context"])
    cluster, user = named("clusters", context["cluster"]), named("users", context["user"])
    tls = ssl.create_default_context(cafile=cluster["certificate-authority"])
    tls.load_cert_chain(user["client-certificate"], user["client-key"])
    return RestClient(cluster["server"], tls)


class FakeNode(SimulatedNode):
    """Plays the kubelet for pods in `namespaces` (add more with `watch_namespace`)."""

    def __init__(
        self,
        kubeconfig: Path,
        connectivity: Connectivity = allow_everything,
        *,
        namespaces: Iterable[str] = (),
        fail_images: Iterable[str] = (),
        broken_tools: bool = False,
        start_delay: float = 0.0,
        ignore_roles: Iterable[str] = (),
    ) -> None:
        self.connectivity = connectivity
        super().__init__(
            rest_client_for(kubeconfig),
            namespaces,
            connectivity=lambda _rest: self.connectivity,
            poll_interval=_POLL_INTERVAL,
            workers=_WORKERS,
            fail_images=fail_images,
            broken_tools=broken_tools,
            start_delay=start_delay,
            ignore_roles=ignore_roles,
        )
