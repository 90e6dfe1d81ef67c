"""The demo's world: two development clusters with workloads, and the policy repository.

Everything started here registers its own teardown on the caller's ExitStack.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rollout.demo import scenario
from rollout.demo.nodes import real_node_workload
from rollout.devcluster.apiserver import ApiServer
from rollout.devcluster.binaries import KubeBinaries
from rollout.devcluster.real_node import RealNode
from rollout.devcluster.simulated_node import SimulatedNode

STATE_NAMESPACE = "netpol-rollout"


@dataclass
class Cluster:
    name: str
    server: ApiServer
    node: SimulatedNode | RealNode | None = None


def start_clusters(binaries: KubeBinaries, root: Path, stack: ExitStack) -> list[Cluster]:
    """Start staging and production side by side (about 5 s instead of 10)."""
    clusters = [
        Cluster(name, ApiServer(binaries, name=name, base_dir=root))
        for name in ("staging", "production")
    ]
    # The children die with the thread that spawned them (PR_SET_PDEATHSIG is
    # per thread), so the starting threads stay alive until everything stopped.
    release = threading.Event()
    stack.callback(release.set)
    for cluster in clusters:
        stack.callback(cluster.server.stop)
    errors: list[BaseException] = []
    started = threading.Semaphore(0)

    def start(server: ApiServer) -> None:
        try:
            server.start()
        except BaseException as exc:
            errors.append(exc)
        finally:
            started.release()
        release.wait()

    for cluster in clusters:
        name = f"start-{cluster.name}"
        threading.Thread(target=start, args=(cluster.server,), name=name, daemon=True).start()
    for _ in clusters:
        while not started.acquire(timeout=0.2):
            pass  # short waits keep Ctrl-C responsive
    if errors:
        raise errors[0]
    return clusters


def start_node(cluster: Cluster, stack: ExitStack, *, real: bool, lock_timeout: float) -> None:
    """The cluster's node: a real node (RealNodeUnavailable or RealNodeStartError if it
    cannot start, nothing left behind) or a simulated one; stopped by `stack`."""
    server = cluster.server
    if real:
        namespaces = scenario.NODE_NAMESPACES
        cluster.node = stack.enter_context(RealNode(server, namespaces, lock_timeout=lock_timeout))
    else:
        node = SimulatedNode(server.rest(), scenario.NODE_NAMESPACES, work_dir=server.workdir)
        cluster.node = stack.enter_context(node)


def populate(cluster: Cluster) -> None:
    """Namespaces (labelled as the repository declares them) and one pod per workload;
    on a real node the workloads run the local probe image on their declared ports."""
    server = cluster.server
    labels = namespace_labels(scenario.TEMPLATE / scenario.SUBDIRECTORY / "base")
    for name in (*scenario.NODE_NAMESPACES, STATE_NAMESPACE):
        server.create_namespace(name, labels.get(name))
    rest = server.rest()
    for pod in workload_pods(scenario.TEMPLATE / "workloads"):
        if isinstance(cluster.node, RealNode):
            pod = real_node_workload(pod, cluster.node.probe_image)
        namespace = pod["metadata"]["namespace"]
        rest.create(f"/api/v1/namespaces/{namespace}/pods", pod)


class PolicyRepository:
    """A bare remote and a work tree started from the packaged example."""

    def __init__(self, root: Path) -> None:
        self.remote = root / "policies.git"
        self.work = root / "work"
        self.policies = self.work / scenario.SUBDIRECTORY
        shutil.copytree(scenario.TEMPLATE, self.work)
        git(root, "init", "-q", "--bare", "-b", "main", str(self.remote))
        git(self.work, "init", "-q", "-b", "main")
        git(self.work, "remote", "add", "origin", str(self.remote))

    def changed_lines(self, sha: str) -> list[str]:
        """What commit `sha` changed: per file its path, then `- old` and `+ new` lines."""
        out = git(self.work, "diff", "--unified=0", "--no-color", f"{sha}~1", sha)
        lines: list[str] = []
        for line in out.splitlines():
            if line.startswith("+++ b/"):
                lines.append(line.removeprefix("+++ b/"))
            elif line[:1] in "+-" and not line.startswith(("+++", "---")):
                lines.append(f"{line[0]} {line[1:].strip()}")
        return lines

    def commit(self, message: str) -> str:
        """Commit everything in the work tree, push it, return the sha."""
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", "origin", "main")
        return git(self.work, "rev-parse", "HEAD")


def workload_pods(folder: Path) -> Iterator[dict[str, Any]]:
    """One Pod per Deployment in `folder` (no controller runs to create them)."""
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not isinstance(doc, dict) or doc.get("kind") not in ("Deployment", "StatefulSet"):
                continue
            template = doc["spec"]["template"]
            spec = dict(template["spec"])
            spec["automountServiceAccountToken"] = False
            yield {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"{doc['metadata']['name']}-0",
                    "namespace": doc["metadata"].get("namespace", "default"),
                    "labels": dict(template["metadata"].get("labels") or {}),
                },
                "spec": spec,
            }


def namespace_labels(folder: Path) -> dict[str, dict[str, str]]:
    """Namespace name -> labels, from the Namespace objects in `folder`."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "Namespace":
                meta = doc.get("metadata") or {}
                out[str(meta["name"])] = dict(meta.get("labels") or {})
    return out


def git(cwd: Path, *args: str) -> str:
    """Run git as the demo's author, ignoring the user's git configuration."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": scenario.AUTHOR[0],
        "GIT_AUTHOR_EMAIL": scenario.AUTHOR[1],
        "GIT_COMMITTER_NAME": scenario.AUTHOR[0],
        "GIT_COMMITTER_EMAIL": scenario.AUTHOR[1],
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)
    return done.stdout.decode().strip()
