"""`environments[].workloads`: the service analyses with the repository's workloads.

A cluster where the example's own workloads run but its peers do not (no
DNS pods in kube-system, no ingress controller): read from the cluster, the service would find
"cannot reach DNS" errors that `rollout policy lint OVERLAY workloads` does
not. With `workloads: workloads` configured, the service's analysis, the
digest's review and `rollout plan` use the repository's workloads at the
commit and report what the CLI reports.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rollout.cli.main import cli
from rollout.cluster_ops import ClusterOps
from rollout.config import load_config
from rollout.demo.world import namespace_labels, workload_pods
from rollout.digest_job import ReviewDigestJob
from rollout.findings import findings_from_json
from rollout.kube.apply import KubeCluster
from rollout.kube.client import KubeClient
from rollout.render import Renderer
from rollout.revision import apply_revision, render_revision
from rollout.store import open_store
from rollout.wiring import change_analysis, git_for, live_snapshot, state_for
from tests.harness import ApiServer, KubeBinaries
from tests.integration.test_example_findings_agree_in_every_channel import (
    EXAMPLE,
    NOW,
    POLICIES,
    _example_repo,
    _key,
)

pytestmark = pytest.mark.integration


def test_service_digest_and_plan_use_the_configured_workloads(
    apiserver_factory: Callable[..., ApiServer],
    kube_binaries: KubeBinaries,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ROLLOUT_KUSTOMIZE", f"{kube_binaries.kubectl} kustomize")
    server = apiserver_factory(name="workloads")
    managed = ("frontend", "backend", "database")
    labels = namespace_labels(EXAMPLE / POLICIES / "base")
    for ns in (*managed, "netpol-rollout"):
        server.create_namespace(ns, labels.get(ns))
    # The managed workloads run; the cluster's DNS and ingress controller do not.
    for pod in workload_pods(EXAMPLE / "workloads"):
        if pod["metadata"]["namespace"] in managed:
            server.rest().create(f"/api/v1/namespaces/{pod['metadata']['namespace']}/pods", pod)
    repo = _example_repo(tmp_path / "policy-repo", server)
    config = yaml.safe_load((repo / "rollout.yaml").read_text())
    for env in config["environments"]:
        env["workloads"] = "workloads"
    (repo / "rollout.yaml").write_text(yaml.safe_dump(config))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e"]
    subprocess.run([*git, "commit", "-qam", "workloads"], cwd=repo, check=True)
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()
    settings = load_config(repo / "rollout.yaml")
    production = settings.environment("production")
    monkeypatch.chdir(repo)

    result = CliRunner().invoke(
        cli, ["policy", "lint", f"{POLICIES}/production", "workloads", "-o", "json"]
    )
    assert result.exit_code in (0, 1), result.output
    cli_keys = sorted(map(_key, findings_from_json(json.loads(result.output))))
    assert not any(k[0] == "NP003" for k in cli_keys)  # DNS is reachable

    repository = git_for(settings.repository, base_dir=repo)
    analysis = ClusterOps(settings, repository, clock=lambda: NOW).analyse("production", None, sha)
    assert "error" not in analysis.diff, analysis.diff
    assert sorted(map(_key, findings_from_json(analysis.lint))) == cli_keys

    rendered = render_revision(repository, Renderer(), settings.repository, production, sha)
    # What the cluster alone would have said: no DNS pods, "cannot reach DNS".
    bare = production.model_copy(update={"workloads": None})
    cluster_only = change_analysis(bare, live_snapshot(bare, None, rendered), None, rendered)
    assert any(f.id == "NP003" for f in findings_from_json(cluster_only.lint))

    with KubeCluster(KubeClient.from_kubeconfig(server.kubeconfig_path)) as cluster:
        report = apply_revision(
            cluster, state_for(production, cluster), production, rendered, now=lambda: NOW
        )
    assert report.status == "applied", report
    store = open_store(settings.store.url, clock=lambda: NOW)
    review = ReviewDigestJob(settings, store, repository, clock=lambda: NOW).review_environment(
        production, NOW
    )
    assert sorted(map(_key, review.findings)) == cli_keys

    plan = CliRunner().invoke(cli, ["plan", "--env", "production", "-o", "json"])
    assert plan.exit_code == 0, plan.output
    assert json.loads(plan.output)["connectivity"]["not_judged"] == []
