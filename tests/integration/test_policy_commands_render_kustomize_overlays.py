"""`rollout policy` renders a folder holding a kustomization, as `rollout validate` does.

The example production overlay lists its policies and `../base`: given alone,
the base's default-deny and essentials policies are found through kustomize.
A folder without a kustomization is still read as plain YAML.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from rollout.cli.main import cli
from rollout.cli.policy_cmd import load_paths
from tests.integration.test_policy_diff_revisions import git

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("kustomize") is None and shutil.which("kubectl") is None,
        reason="needs kustomize or kubectl",
    ),
]

REPO = Path(__file__).resolve().parents[2] / "examples" / "policy-repo"
POLICIES = REPO / "k8s" / "network-policies"
PRODUCTION = POLICIES / "production"
WORKLOADS = REPO / "workloads"


def _policy_names(*paths: Path) -> set[str]:
    manifests = load_paths([str(p) for p in paths])
    return {m.obj["metadata"]["name"] for m in manifests if m.obj["kind"] == "NetworkPolicy"}


def test_overlay_alone_includes_its_base() -> None:
    names = _policy_names(PRODUCTION)
    assert {"default-deny-all", "allow-essentials"} <= names
    # Base objects keep their own file as source; the kustomization is no object.
    kinds = {m.obj["kind"] for m in load_paths([str(PRODUCTION)])}
    assert "Kustomization" not in kinds
    sources = {m.source for m in load_paths([str(PRODUCTION)])}
    assert any(s and s.endswith("base/default-deny-all.yaml") for s in sources)


def test_base_given_beside_its_overlay_is_counted_once() -> None:
    alone = load_paths([str(PRODUCTION)])
    both = load_paths([str(POLICIES / "base"), str(PRODUCTION)])
    assert len(both) == len(alone)


def test_lint_of_the_overlay_alone_sees_the_default_deny_baselines() -> None:
    args = ["policy", "lint", str(PRODUCTION), str(WORKLOADS), "-o", "json"]
    for ns in ("frontend", "backend", "database"):
        args += ["--managed-namespace", ns]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["findings"] == []


def test_plain_folder_stays_plain(tmp_path: Path) -> None:
    shutil.copy(POLICIES / "base" / "default-deny-all.yaml", tmp_path / "deny.yaml")
    (tmp_path / "kustomization.yml.txt").write_text("not a kustomization")
    manifests = load_paths([str(tmp_path)])
    assert {m.source for m in manifests} == {str(tmp_path / "deny.yaml")}
    assert all(m.line for m in manifests)


def test_diff_between_revisions_renders_the_overlay_with_its_base(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(REPO, repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "old")
    # Remove the base's essentials (DNS egress): a change outside the overlay folder.
    base = repo / "k8s" / "network-policies" / "base"
    (base / "allow-essentials.yaml").unlink()
    kustomization = base / "kustomization.yaml"
    kustomization.write_text(
        "\n".join(
            line
            for line in kustomization.read_text().splitlines()
            if "allow-essentials" not in line
        )
        + "\n"
    )
    git(repo, "commit", "-q", "-am", "new")

    overlay = "k8s/network-policies/production"
    revs = ["--repo", str(repo), "--rev", "HEAD~1", "--rev", "HEAD"]
    args = ["policy", "diff", overlay, "workloads", *revs]
    result = CliRunner().invoke(cli, [*args, "-o", "json"])
    assert result.exit_code == 0, result.output
    assert "allow-essentials" in result.output
    closed = json.loads(result.output)["closed"]
    assert any(c["to"] == "kube-system/coredns" for c in closed), closed
    assert "allow-essentials" in result.output  # the policy responsible, from the base
