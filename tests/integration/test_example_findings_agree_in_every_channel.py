"""One revision, the same lint findings and connections in every channel.

The example repository's production overlay, in a cluster that runs what its
`workloads/` declare (DNS in kube-system, the ingress controller in
ingress-nginx): `rollout policy lint` reports what the service records for
the approval request, what the API returns, what the Slack message says and
what the digest counts. The service used to read pods only from the managed
namespaces, so it reported "cannot reach DNS" errors the CLI does not.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from click.testing import CliRunner

from rollout.announce import announcer
from rollout.cli.main import cli
from rollout.cluster_ops import ClusterOps
from rollout.config import load_config
from rollout.core.events import event_from_json
from rollout.demo.world import namespace_labels, workload_pods
from rollout.digest_job import ReviewDigestJob
from rollout.findings import LintFinding, findings_from_json
from rollout.kube.apply import KubeCluster
from rollout.kube.client import KubeClient
from rollout.notify.slack import rollout_blocks
from rollout.render import Renderer
from rollout.revision import apply_revision, render_revision
from rollout.server.app import create_app
from rollout.server.auth import hash_token
from rollout.store import open_store
from rollout.wiring import git_for, state_for
from tests.harness import ApiServer, KubeBinaries
from tests.support.serving import serving

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).parents[2] / "examples" / "policy-repo"
POLICIES = "k8s/network-policies"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _key(f: LintFinding) -> tuple[str, str, str]:
    # Messages name example pods, which the repository calls by workload and
    # the cluster by pod: the rule, object and severity are the finding.
    return (f.id, f.object, f.severity)


def _example_cluster(server: ApiServer) -> None:
    pods = list(workload_pods(EXAMPLE / "workloads"))
    labels = {
        **namespace_labels(EXAMPLE / "workloads"),
        **namespace_labels(EXAMPLE / POLICIES / "base"),
    }
    for ns in sorted({p["metadata"]["namespace"] for p in pods} | set(labels)):
        server.create_namespace(ns, labels.get(ns))
    server.create_namespace("netpol-rollout")
    rest = server.rest()
    for pod in pods:
        rest.create(f"/api/v1/namespaces/{pod['metadata']['namespace']}/pods", pod)


def _example_repo(root: Path, server: ApiServer) -> Path:
    shutil.copytree(EXAMPLE, root)
    config = yaml.safe_load((root / "rollout.yaml").read_text())
    for env in config["environments"]:
        env["cluster"] = {"kubeconfig": str(server.kubeconfig_path)}
        env.pop("windows", None)
    config["store"] = {"url": f"sqlite:///{root.parent / 'state.db'}"}
    config["notifications"] = {"slack": {"webhook_url": {"env": "CHANNELS_SLACK_URL"}}}
    (root / "rollout.yaml").write_text(yaml.safe_dump(config))
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "example"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True)
    return root


def test_cli_service_api_slack_and_digest_report_the_same_findings(
    apiserver_factory: Callable[..., ApiServer],
    kube_binaries: KubeBinaries,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ROLLOUT_KUSTOMIZE", f"{kube_binaries.kubectl} kustomize")
    monkeypatch.setenv("CHANNELS_SLACK_URL", "https://hooks.slack.invalid/T/B/x")
    server = apiserver_factory(name="channels")
    _example_cluster(server)
    repo = _example_repo(tmp_path / "policy-repo", server)
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()
    settings = load_config(repo / "rollout.yaml")
    production = settings.environment("production")
    monkeypatch.chdir(repo)

    # CLI: the overlay and the workloads it is written for.
    result = CliRunner().invoke(
        cli, ["policy", "lint", f"{POLICIES}/production", "workloads", "-o", "json"]
    )
    assert result.exit_code in (0, 1), result.output
    cli_findings = findings_from_json(json.loads(result.output))

    # The service's analysis for the approval request into production.
    git = git_for(settings.repository, base_dir=repo)
    ops = ClusterOps(settings, git, clock=lambda: NOW)
    analysis = ops.analyse("production", None, sha)
    assert "error" not in analysis.diff, analysis.diff
    service_findings = findings_from_json(analysis.lint)
    assert sorted(map(_key, service_findings)) == sorted(map(_key, cli_findings))

    # Stored with the rollout: the API returns it, Slack and the digest show it.
    store = open_store(settings.store.url, clock=lambda: NOW)
    record = store.create_rollout(
        environment="staging",
        commit_sha=sha,
        author="t",
        author_email="t@e",
        message="example",
        state="awaiting_approval",
    )
    record = store.set_artifacts(
        record.id, {"diff": dict(analysis.diff), "lint": dict(analysis.lint)}
    )
    token = "nrt_channels_test"
    store.create_token("ada", hash_token(token))
    with serving(create_app(settings, store, clock=lambda: NOW)) as url:
        answer = requests.get(
            f"{url}/api/v1/rollouts/{record.id}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    assert answer.status_code == 200, answer.text
    api: dict[str, Any] = answer.json()
    assert sorted(map(_key, findings_from_json(api["lint"]))) == sorted(map(_key, cli_findings))
    assert len(api["diff"]["opened"]) == len(analysis.diff["opened"])

    items = announcer(settings, lambda: NOW)(record, "approval.requested", {})
    slack = [i for i in items if i.channel == "slack"]
    assert slack, [i.channel for i in items]
    event = event_from_json(slack[0].payload)
    assert event.lint is not None
    assert sorted(map(_key, event.lint)) == sorted(map(_key, cli_findings))
    text = json.dumps([b.to_dict() for b in rollout_blocks(event, buttons=True)])
    if cli_findings:
        assert all(f.id in text for f in cli_findings)
    else:
        assert "no findings" in text
    opened = len(analysis.diff["opened"])
    assert f"{opened} flow(s) opened" in text

    # The digest lints what production enforces once the revision is applied.
    with KubeCluster(KubeClient.from_kubeconfig(server.kubeconfig_path)) as cluster:
        rendered = render_revision(git, Renderer(), settings.repository, production, sha)
        report = apply_revision(
            cluster, state_for(production, cluster), production, rendered, now=lambda: NOW
        )
    assert report.status == "applied", report
    review = ReviewDigestJob(settings, store, git, clock=lambda: NOW).review_environment(
        production, NOW
    )
    assert sorted(map(_key, review.findings)) == sorted(map(_key, cli_findings))
