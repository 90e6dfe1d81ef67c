"""`rollout validate/plan/apply --env staging` work on examples/policy-repo
(a kustomize base + overlay) against the harness apiserver."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rollout.cli.main import cli
from tests.harness import ApiServer

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).parents[3] / "examples" / "policy-repo"


def test_example_repository_validate_plan_apply(
    apiserver: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not (EXAMPLE / "rollout.yaml").is_file():
        pytest.skip("examples/policy-repo is not there")
    repo = tmp_path / "policy-repo"
    shutil.copytree(EXAMPLE, repo)
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "example"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True)
    for ns in ("frontend", "backend", "database", "netpol-rollout"):
        apiserver.create_namespace(ns)
    kubeconfig = yaml.safe_load(apiserver.kubeconfig_path.read_text())
    monkeypatch.setenv("STAGING_KUBECONFIG", str(apiserver.kubeconfig_path))
    monkeypatch.setenv("STAGING_CONTEXT", kubeconfig["current-context"])
    config = str(repo / "rollout.yaml")

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, [*args, "-c", config, "--env", "staging"])
        assert result.exit_code == 0, result.output
        return result.output

    assert "valid:" in run("validate")
    plan = json.loads(run("plan", "-o", "json"))
    assert plan["counts"]["create"] > 0 and plan["counts"]["delete"] == 0
    applied = run("apply")
    assert "to create" in applied and "applied: staging is at" in applied
    again = json.loads(run("apply", "-o", "json"))
    assert again["status"] == "unchanged" and again["requests_written"] == 0
