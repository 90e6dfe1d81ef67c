"""docs/getting-started.md from an empty staging cluster to a rollout in production.

Sections 3, 4, 5 and 7 run verbatim, in one shell, as the reader pastes them.
Sections 1, 2 and 6 (install, the two kind clusters with Calico) are replaced
by what they produce: two fresh apiservers behind the contexts
`kind-netpol-staging` (current) and `kind-netpol-production` in
~/.kube/config, `rollout`, `kubectl` and `python3` on PATH. What each cluster
runs by itself (controllers, kubelets, DNS, an enforcing network plugin) is
played from outside the guide, as in the staging test. Section 7 runs the
service (`rollout serve`), two approvals with API tokens, the window (or
break-glass when it is closed at the time the test runs), and waits for the
production apply and its smoke tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

import pytest

from rollout.devcluster.simulated_node import SimulatedNode
from tests.harness import ApiServer, KubeBinaries
from tests.integration.guide.cluster_standins import Controllers, cluster_dns
from tests.integration.guide.guide_text import shell_blocks
from tests.integration.guide.test_getting_started_runs_verbatim import (
    CHECKOUT,
    NAMESPACES,
    empty_cluster,
    home,
)

pytestmark = pytest.mark.integration

__all__ = ["empty_cluster", "home"]  # fixtures used here


@pytest.fixture
def production_cluster(apiserver_factory: Any) -> Iterator[ApiServer]:
    server = apiserver_factory(name="guide-production")
    try:
        yield server
    finally:
        server.stop()


def _add_production_context(home: Path, production: ApiServer) -> None:
    """What `kind create cluster --name netpol-production` adds to ~/.kube/config."""
    kube = home / ".kube" / "config"
    config = json.loads(kube.read_text())
    extra = json.loads(production.kubeconfig_path.read_text())
    cluster, user = extra["clusters"][0], extra["users"][0]
    cluster["name"], user["name"] = "kind-netpol-production", "kind-netpol-production"
    context = extra["contexts"][0]
    context["name"] = "kind-netpol-production"
    context["context"].update(cluster="kind-netpol-production", user="kind-netpol-production")
    config["clusters"].append(cluster)
    config["users"].append(user)
    config["contexts"].append(context)
    kube.write_text(json.dumps(config))


def _run(script: str, home: Path, kube_binaries: KubeBinaries) -> str:
    env = {
        "HOME": str(home),
        "PATH": os.pathsep.join(
            [str(Path(sys.executable).parent), str(kube_binaries.kubectl.parent), os.defpath]
        ),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    shell = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-xc", script],
        cwd=CHECKOUT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the guide's `rollout serve &` goes with it
    )
    try:
        out, err = shell.communicate(timeout=1200)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGTERM)
        shell.wait(timeout=30)
    log = home / "network-policies" / "serve.log"
    served = log.read_text() if log.is_file() else "(no serve.log)"
    assert shell.returncode == 0, f"the guide failed:\n{out}\n{err}\nserve.log:\n{served}"
    return out


def test_getting_started_runs_verbatim_from_an_empty_cluster_to_production(
    empty_cluster: ApiServer,
    production_cluster: ApiServer,
    home: Path,
    kube_binaries: KubeBinaries,
) -> None:
    _add_production_context(home, production_cluster)
    blocks = [b for n in (3, 4, 5, 7) for b in shell_blocks(n)]
    assert len(blocks) == 7, "the guide's shell blocks changed: update this test's count"
    with ExitStack() as stack:
        nodes, controllers = [], []
        for server in (empty_cluster, production_cluster):
            rest = server.rest()
            node = stack.enter_context(SimulatedNode(rest, (*NAMESPACES, "kube-system", "default")))
            controller = stack.enter_context(Controllers(rest))
            server.ensure_service_account("kube-system", "default")
            cluster_dns(rest)
            nodes.append(node)
            controllers.append(controller)
        output = _run("\n".join(blocks), home, kube_binaries)
    assert not [e for n in nodes for e in n.errors]
    assert not [e for c in controllers for e in c.errors]

    repo = home / "network-policies"
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    production = production_cluster.rest()
    state = production.get("/api/v1/namespaces/netpol-rollout/configmaps/netpol-rollout-production")
    assert state["data"]["commitSha"] == head
    mail = production.get(
        "/apis/networking.k8s.io/v1/namespaces/backend/networkpolicies/api-sends-mail"
    )
    relays = [peer["ipBlock"]["cidr"] for peer in mail["spec"]["egress"][0]["to"]]
    assert relays == ["203.0.113.25/32", "203.0.113.26/32"]  # section 7's commit
    assert "done" in output  # `rollout status ID` at the end
    # Cluster services were never touched in production either.
    assert production.get("/apis/apps/v1/namespaces/kube-system/deployments")["items"] == []
