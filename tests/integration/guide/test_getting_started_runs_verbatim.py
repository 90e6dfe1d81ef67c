"""docs/getting-started.md, sections 3 to 5, run verbatim against an empty dev cluster.

Sections 1 and 2 (install, kind + Calico) are replaced by what they produce: a
fresh apiserver behind the context `kind-netpol-staging` in ~/.kube/config,
`rollout` and `kubectl` on PATH. What a real cluster runs by itself (the
Deployment controller, kubelets, CoreDNS, an enforcing network plugin) is
played from outside the guide (`cluster_standins`). Every shell block of
sections 3 to 5 then runs as the reader would paste it, in one shell, from the
netpol-rollout checkout; any failing command fails the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rollout.devcluster.simulated_node import SimulatedNode
from tests.harness import ApiServer, KubeBinaries
from tests.integration.guide.cluster_standins import Controllers, cluster_dns
from tests.integration.guide.guide_text import shell_blocks

pytestmark = pytest.mark.integration

CHECKOUT = Path(__file__).parents[3]
NAMESPACES = ("frontend", "backend", "database")


@pytest.fixture
def empty_cluster(apiserver_factory: Callable[..., ApiServer]) -> Iterator[ApiServer]:
    server = apiserver_factory(name="guide")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def home(tmp_path: Path, empty_cluster: ApiServer) -> Path:
    """A newcomer's home: a kubeconfig whose context is the one kind would create."""
    home = tmp_path / "home"
    config = json.loads(empty_cluster.kubeconfig_path.read_text())
    config["contexts"][0]["name"] = config["current-context"] = "kind-netpol-staging"
    kube = home / ".kube" / "config"
    kube.parent.mkdir(parents=True)
    kube.write_text(json.dumps(config))
    (home / ".gitconfig").write_text("[user]\n\tname = Newcomer\n\temail = new@example.com\n")
    return home


def run_guide(script: str, home: Path, kube_binaries: KubeBinaries) -> str:
    env = {
        "HOME": str(home),
        "PATH": os.pathsep.join(
            [str(Path(sys.executable).parent), str(kube_binaries.kubectl.parent), os.defpath]
        ),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-xc", script],
        cwd=CHECKOUT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"the guide failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_getting_started_sections_3_to_5_run_verbatim_on_an_empty_cluster(
    empty_cluster: ApiServer, home: Path, kube_binaries: KubeBinaries
) -> None:
    rest = empty_cluster.rest()
    blocks = [b for n in (3, 4, 5) for b in shell_blocks(n)]
    assert len(blocks) == 4, "the guide's shell blocks changed: update this test's count"
    node = SimulatedNode(rest, (*NAMESPACES, "kube-system", "default"))
    with node, Controllers(rest) as controller:
        empty_cluster.ensure_service_account("kube-system", "default")
        cluster_dns(rest)
        output = run_guide("\n".join(blocks), home, kube_binaries)
    assert not node.errors and not controller.errors

    # The second staging rollout recorded the change's commit as deployed.
    repo = home / "network-policies"
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    state = rest.get("/api/v1/namespaces/netpol-rollout/configmaps/netpol-rollout-staging")
    assert state["data"]["commitSha"] == head
    rest.get("/apis/networking.k8s.io/v1/namespaces/backend/networkpolicies/api-sends-mail")
    # The namespaces came from the policy repository, labels and all.
    for name in NAMESPACES:
        labels = rest.get(f"/api/v1/namespaces/{name}")["metadata"]["labels"]
        assert labels["netpol-rollout.io/managed"] == "true"
    # Cluster services were never touched: no Deployment in kube-system, no ingress-nginx.
    assert rest.get("/apis/apps/v1/namespaces/kube-system/deployments")["items"] == []
    namespaces = {n["metadata"]["name"] for n in rest.get("/api/v1/namespaces")["items"]}
    assert "ingress-nginx" not in namespaces
    # The state database stays out of the policy repository.
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [f for f in tracked if f.startswith("netpol-rollout.db")]
    assert "1 to create" in output or "api-sends-mail" in output
