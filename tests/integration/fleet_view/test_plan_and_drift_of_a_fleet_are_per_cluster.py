"""A fleet of four real apiservers, cluster by cluster: `rollout plan --env
production` plans each against its own live state and overlay (two identical
clusters shown once together, a cluster with its own overlay and one whose
live state differs each get their own plan), the review digest names the
cluster where a policy drifted, and `--live ENV/CLUSTER` reads one cluster's
pods for the connectivity commands."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from rollout.cli.main import cli
from rollout.cluster_ops import ClusterOps
from rollout.config import load_config
from rollout.devcluster.fleet import DevFleet
from rollout.digest_job import ReviewDigestJob
from rollout.engine.fleet_analysis import fleet_analysis, fleet_analysis_text
from rollout.errors import InputError
from rollout.kube.apply import KubeCluster
from rollout.kube.client import KubeClient
from rollout.render import Renderer
from rollout.revision import apply_revision, render_revision
from rollout.store import open_store
from rollout.wiring import git_for, state_for
from tests.harness.apiserver import ApiServer

pytestmark = pytest.mark.integration


def _policy(name: str, port: int) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"protocol": "TCP", "port": port}]}],
        },
    }


def _repo(root: Path) -> Path:
    repo = root / "repo"
    for overlay, policies in (
        ("production", [_policy("allow-web", 80)]),
        ("production-us", [_policy("allow-web", 80), _policy("allow-metrics", 9100)]),
    ):
        folder = repo / "policies" / overlay
        folder.mkdir(parents=True)
        (folder / "policies.yaml").write_text(yaml.safe_dump_all(policies))

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "policies")
    return repo


def _config(root: Path, repo: Path, fleet: DevFleet[ApiServer]) -> Path:
    kubeconfig = fleet.write_kubeconfig(root / "fleet.kubeconfig")
    clusters: list[dict[str, Any]] = [
        {"name": c.name, "kubeconfig": str(kubeconfig), "context": c.context}
        for c in fleet.clusters
    ]
    clusters[2]["overlay"] = "production-us"  # us-east
    config = {
        "repository": {"path": str(repo), "subdirectory": "policies"},
        "team": {"members": [{"name": "alice", "timezone": "UTC"}]},
        "environments": [
            {
                "name": "staging",
                "namespaces": ["shop"],
                "overlay": "production",
                "cluster": {"kubeconfig": str(kubeconfig), "context": fleet.clusters[0].context},
            },
            {
                "name": "production",
                "namespaces": ["shop"],
                "overlay": "production",
                "clusters": clusters,
            },
        ],
    }
    path = root / "rollout.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_identical_clusters_share_a_plan_and_the_others_get_their_own(
    dev_fleet: DevFleet[ApiServer], tmp_path: Path
) -> None:
    for cluster in dev_fleet.clusters:
        cluster.apiserver.create_namespace("shop")
        cluster.apiserver.create_namespace("netpol-rollout")
    # ap-south: someone made allow-web by hand, on another port
    dev_fleet["ap-south"].apiserver.rest().create_or_replace(
        "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies", _policy("allow-web", 8080)
    )
    config = _config(tmp_path, _repo(tmp_path), dev_fleet)

    run = CliRunner().invoke(
        cli,
        ["plan", "-c", str(config), "--env", "production", "-o", "json"],
        catch_exceptions=False,
    )
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert data["environment"] == "production"
    groups = {tuple(g["clusters"]): g for g in data["groups"]}
    assert list(groups) == [
        ("production/canary", "production/eu-west"),
        ("production/us-east",),
        ("production/ap-south",),
    ]
    counts = {k: (g["counts"]["create"], g["counts"]["update"]) for k, g in groups.items()}
    assert counts == {
        ("production/canary", "production/eu-west"): (1, 0),
        ("production/us-east",): (2, 0),
        ("production/ap-south",): (0, 1),
    }

    text = CliRunner().invoke(
        cli, ["plan", "-c", str(config), "--env", "production"], catch_exceptions=False
    )
    assert text.exit_code == 0, text.output
    headers = [line for line in text.stdout.splitlines() if line.startswith("plan for ")]
    assert [h.split(":")[0] for h in headers] == [
        "plan for production/canary, production/eu-west (2 clusters, the same plan)",
        "plan for production/us-east",
        "plan for production/ap-south",
    ]


def test_the_digest_names_the_cluster_where_a_policy_drifted(
    dev_fleet: DevFleet[ApiServer], tmp_path: Path
) -> None:
    for cluster in dev_fleet.clusters:
        cluster.apiserver.create_namespace("shop")
        cluster.apiserver.create_namespace("netpol-rollout")
    repo = _repo(tmp_path)
    settings = load_config(_config(tmp_path, repo, dev_fleet))
    git = git_for(settings.repository)
    sha = git.head("main")
    env = settings.target("production/eu-west")
    with KubeCluster(KubeClient.from_ref(env.cluster)) as cluster:
        rendered = render_revision(git, Renderer(), settings.repository, env, sha)
        report = apply_revision(
            cluster, state_for(env, cluster), env, rendered, now=lambda: datetime.now(UTC)
        )
        assert report.status in ("applied", "unchanged")
        # someone widens allow-web by hand, in eu-west only
        cluster.client.request(
            "PATCH",
            "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies/allow-web",
            body={"spec": {"ingress": [{"ports": [{"port": 8443}]}]}},
            content_type="application/merge-patch+json",
        )
    now = datetime.now(UTC)
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", clock=lambda: now)
    try:
        job = ReviewDigestJob(settings, store, git, clock=lambda: now)
        review = job.review_environment(env, now, name="production/eu-west")
    finally:
        store.close()
    assert [(d.environment, d.object, d.change) for d in review.drift] == [
        ("production/eu-west", "shop/allow-web", "edited in cluster")
    ]


LIVE_POLICY = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "db-from-web", "namespace": "live"},
    "spec": {
        "podSelector": {"matchLabels": {"app": "db"}},
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}],
    },
}


def _live_pod(name: str, app: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"containers": [{"name": "main", "image": "registry.invalid/none:1"}]},
    }


def test_live_connectivity_is_read_from_the_named_cluster(
    dev_fleet: DevFleet[ApiServer], tmp_path: Path
) -> None:
    # The same pod names, other labels: `batch` is a web pod in eu-west only.
    for name, batch_app in (("canary", "batch"), ("eu-west", "web")):
        server = dev_fleet[name].apiserver
        server.create_namespace("live")
        for pod in (_live_pod("db", "db"), _live_pod("batch", batch_app)):
            server.rest().create("/api/v1/namespaces/live/pods", pod)
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(LIVE_POLICY))
    config = _config(tmp_path, _repo(tmp_path), dev_fleet)

    def explain(live: str) -> Any:
        args = ["policy", "explain", str(policy), "-c", str(config), "--live", live]
        args += ["--from", "live/batch", "--to", "live/db", "--port", "5432/TCP"]
        return CliRunner().invoke(cli, args)

    canary, eu_west = explain("production/canary"), explain("production/eu-west")
    assert canary.exit_code == 0 and "DENIED" in canary.output, canary.output
    assert eu_west.exit_code == 0 and "ALLOWED" in eu_west.output, eu_west.output

    bare = explain("production")
    assert bare.exit_code == InputError.exit_code, bare.output  # a message, no traceback
    assert "is a fleet of 4 cluster(s); name one of them: production/canary" in bare.output
    unknown = explain("production/mars")
    assert "no cluster 'mars' in environment 'production'" in unknown.output


def test_the_approval_analysis_sees_what_one_clusters_overlay_opens(
    dev_fleet: DevFleet[ApiServer], tmp_path: Path
) -> None:
    web = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web"}}}
    web["spec"] = {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]}
    for cluster in dev_fleet.clusters:
        cluster.apiserver.create_namespace("shop")
        cluster.apiserver.create_namespace("netpol-rollout")
        cluster.apiserver.rest().create_or_replace("/api/v1/namespaces/shop/pods", web)
    repo = _repo(tmp_path)  # TCP 80 to shop/web; us-east's own overlay also 9100
    settings = load_config(_config(tmp_path, repo, dev_fleet))
    before = _head(repo)
    # The next commit opens TCP 9200 to shop/web, in us-east's own overlay only.
    folder = repo / "policies" / "production-us"
    policies = [_policy("allow-web", 80), _policy("allow-metrics", 9100), _policy("more", 9200)]
    (folder / "policies.yaml").write_text(yaml.safe_dump_all(policies))
    _commit(repo, "us-east: metrics")
    ops = ClusterOps(settings, git_for(settings.repository), clock=lambda: datetime.now(UTC))
    names = [c.name for c in dev_fleet.clusters]
    analyses = [(n, ops.analyse(f"production/{n}", before, _head(repo))) for n in names]

    merged = fleet_analysis(analyses)

    # Reviewers read the canary's diff, where nothing opens; the risk rules see
    # what us-east opens, and the request names the cluster.
    assert analyses[0][1].risk["opened"] == []
    opened = {(o["to_name"], o["port"]) for o in merged.risk["opened"]}
    assert opened == {("web", "9200")}, merged.risk["opened"]
    differ = merged.diff["fleet"]["differ"]
    assert list(differ) == ["us-east"] and differ["us-east"]["opened"] >= 1
    assert any(line.endswith("(on us-east)") for line in merged.diff["riskiest"])
    assert fleet_analysis_text(merged.diff).startswith(
        "analysed on 4 cluster(s) (diff of canary shown); us-east differs: +"
    )


def _head(repo: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def _commit(repo: Path, message: str) -> None:
    who = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for args in (["add", "-A"], ["commit", "-qm", message]):
        subprocess.run(["git", "-C", str(repo), *who, *args], check=True, capture_output=True)
