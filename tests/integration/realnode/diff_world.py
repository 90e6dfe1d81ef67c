"""The fixed set of real pods the differential test generates policies over.

`slots` copies of one small world, each in namespaces of its own (`<prefix><slot>-a`,
`-b`, `-c`), so one apply can carry one generated case per slot. Every copy has
the same namespace labels, pod labels and named ports (chosen so that pods share
port names with different numbers, and some declare none), so a case generated
for one slot reads the same in every other.

Pods are started once for the whole run; listeners on every probed port live in
each pod's network namespace (`pod_sockets.PodListeners`).
"""

from __future__ import annotations

import concurrent.futures
import os
import time
from dataclasses import dataclass, field
from typing import Any

from rollout.devcluster.real_node import RealNode
from tests.harness.apiserver import ApiServer
from tests.integration.realnode.pod_sockets import PodListeners, pod_netns_fd
from tests.integration.realnode.pods import running_pod, wait_running

# The ports every pair is probed on (a listener on each in every pod).
PROBE_PORTS: tuple[tuple[int, str], ...] = (
    (80, "TCP"),
    (81, "TCP"),
    (8080, "TCP"),
    (8081, "TCP"),
    (53, "UDP"),
    (8080, "UDP"),
)

NAMESPACES: dict[str, dict[str, str]] = {
    "a": {"team": "alpha", "env": "prod", "tier": "one"},
    "b": {"team": "beta", "env": "prod"},
    "c": {"team": "gamma", "env": "dev", "tier": "two"},
}

# (namespace role, pod name) -> labels, named container ports (name, number, protocol)
PODS: dict[tuple[str, str], tuple[dict[str, str], tuple[tuple[str, int, str], ...]]] = {
    ("a", "p0"): ({"app": "web", "role": "front"}, (("http", 80, "TCP"), ("admin", 81, "TCP"))),
    ("a", "p1"): ({"app": "api", "role": "back"}, (("http", 8080, "TCP"), ("dns", 53, "UDP"))),
    ("b", "p0"): (
        {"app": "web", "role": "back"},
        (("http", 80, "TCP"), ("admin", 8081, "TCP"), ("dns", 53, "UDP")),
    ),
    ("b", "p1"): ({"app": "db"}, ()),
    ("c", "p0"): (
        {"app": "api", "role": "front"},
        (("http", 8080, "TCP"), ("admin", 81, "TCP"), ("dns", 8080, "UDP")),
    ),
    ("c", "p1"): ({"app": "web"}, (("admin", 8081, "TCP"), ("dns", 53, "UDP"))),
}


@dataclass(frozen=True)
class PodRef:
    slot: int
    namespace: str
    name: str
    ip: str
    netns_fd: int

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass
class World:
    prefix: str
    slots: int
    pods: dict[int, list[PodRef]] = field(default_factory=dict)
    listeners: PodListeners | None = None

    def namespace(self, slot: int, role: str) -> str:
        return f"{self.prefix}{slot}-{role}"

    def all_namespaces(self) -> list[str]:
        return [self.namespace(s, r) for s in range(self.slots) for r in NAMESPACES]

    def close(self) -> None:
        if self.listeners is not None:
            self.listeners.close()
        for refs in self.pods.values():
            for ref in refs:
                os.close(ref.netns_fd)


def pod_manifest(name: str, image: str, labels: dict[str, str], ports: Any) -> dict[str, Any]:
    pod = running_pod(name, image, labels, script="sleep 86400")
    pod["spec"]["containers"][0]["ports"] = [
        {"name": pname, "containerPort": number, "protocol": proto}
        for pname, number, proto in ports
    ]
    return pod


def start_world(node: RealNode, apiserver: ApiServer, prefix: str, slots: int) -> World:
    """Namespaces and running pods for `slots` copies; listeners on PROBE_PORTS in each pod."""
    world = World(prefix, slots)
    rest = apiserver.rest()
    for slot in range(slots):
        for role, labels in NAMESPACES.items():
            namespace = world.namespace(slot, role)
            apiserver.create_namespace(namespace, labels)
            node.watch_namespace(namespace)
    for slot in range(slots):
        for (role, name), (labels, ports) in PODS.items():
            rest.create(
                f"/api/v1/namespaces/{world.namespace(slot, role)}/pods",
                pod_manifest(name, node.probe_image, labels, ports),
            )

    def running(slot: int, role: str, name: str) -> dict[str, Any]:
        return wait_running(rest, world.namespace(slot, role), name, timeout=240)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = {
            (slot, role, name): pool.submit(running, slot, role, name)
            for slot in range(slots)
            for role, name in PODS
        }
        pods = {key: future.result() for key, future in futures.items()}
    for (slot, role, name), pod in pods.items():
        fd = _netns_fd(node, pod["metadata"]["uid"])
        world.pods.setdefault(slot, []).append(
            PodRef(slot, world.namespace(slot, role), name, pod["status"]["podIP"], fd)
        )
    # The enforcer must know every pod (and its IP) before any verdict counts.
    events = [f"to pod: {ns}/{name}" for ns, name in ((p.namespace, p.name) for p in _all(world))]
    if not node.wait_synced(events, timeout=120):
        raise AssertionError("kube-router did not see every pod of the world")
    world.listeners = PodListeners([p.netns_fd for p in _all(world)], PROBE_PORTS)
    return world


def _all(world: World) -> list[PodRef]:
    return [ref for refs in world.pods.values() for ref in refs]


def _netns_fd(node: RealNode, uid: str) -> int:
    deadline = time.monotonic() + 30
    while True:
        try:
            return pod_netns_fd(node.cgroup_root, uid)
        except LookupError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
