"""Which node the demo's staging cluster runs on: the real node when this machine can
run it, else the simulated node, and why.

`rollout demo --node real|simulated|auto`. The real node (`rollout.devcluster.RealNode`:
a real kubelet, containerd and kube-router enforcing on real packets) is one per
machine, so only staging gets it: staging's smoke tests, which decide whether a
commit goes on or is rolled back, run on real packets; production keeps the
simulated node. On the real node the workloads run the locally built probe image
(no registry), answering on their declared ports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rollout.smoke.probe import SERVE_FUNCTION

NodeKind = Literal["real", "simulated"]
NodeRequest = Literal["real", "simulated", "auto"]
NODE_CHOICES: tuple[NodeRequest, ...] = ("auto", "real", "simulated")


@dataclass(frozen=True)
class NodeChoice:
    """What staging runs on; `reason` says why it is not the real node ("" when it is)."""

    staging: NodeKind
    reason: str = ""

    @property
    def real(self) -> bool:
        return self.staging == "real"


class NodeUnavailable(Exception):
    """`--node real` on a machine that cannot run it; the message says what is missing."""


def choose_node(
    requested: NodeRequest,
    *,
    can_run: Callable[[], str],
    build: Callable[[], str],
) -> NodeChoice:
    """Decide where staging runs.

    `can_run()` returns "" when this machine can run a real node, else what is
    missing; `build()` builds the missing node binaries where that is allowed and
    returns what is still missing (called only when the binaries are all that is
    missing). Raises NodeUnavailable for `real` when the machine cannot run it.
    """
    if requested == "simulated":
        return NodeChoice("simulated", "--node simulated")
    missing = can_run()
    if missing and _only_binaries(missing):
        missing = build()
    if not missing:
        return NodeChoice("real")
    if requested == "real":
        raise NodeUnavailable(missing)
    return NodeChoice("simulated", missing)


def _only_binaries(missing: str) -> bool:
    """True when what is missing is only the kubelet or kube-router (a build fixes it)."""
    items = missing.split("missing: ", 1)[-1].split("; ")
    return all(item.startswith(("kubelet in ", "kube-router in ")) for item in items)


def real_node_workload(pod: Mapping[str, Any], image: str) -> dict[str, Any]:
    """The workload pod for the real node: the probe image answering on the declared ports
    (HTTP with busybox `httpd` on TCP ports, `nc` on UDP ones), labels unchanged."""
    spec = dict(pod["spec"])
    container = dict(spec["containers"][0])
    ports = [
        (int(p["containerPort"]), str(p.get("protocol") or "TCP"))
        for p in container.get("ports") or ()
    ]
    lines = [SERVE_FUNCTION, "mkdir -p /tmp/www && echo ok > /tmp/www/index.html"]
    for port, protocol in ports:
        if protocol == "UDP":
            lines.append(f"while :; do nc -lu -p {port} </dev/null >/dev/null 2>&1; done &")
        else:
            lines.append(f"httpd -f -p {port} -h /tmp/www || serve {port} &")
    lines.append("while :; do sleep 3600; done")
    container.pop("args", None)
    container.update(
        image=image,
        imagePullPolicy="IfNotPresent",
        command=["sh", "-c", "\n".join(lines)],
    )
    spec.update(
        containers=[container],
        enableServiceLinks=False,
        terminationGracePeriodSeconds=1,
    )
    return {**pod, "spec": spec}
