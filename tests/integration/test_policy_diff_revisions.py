"""`rollout policy diff --rev A --rev B` reads two commits of a real git repository."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from rollout.cli.main import cli

pytestmark = pytest.mark.integration

DATA = Path(__file__).parent.parent / "unit" / "policy" / "data"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_diff_between_two_commits(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "policies").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    for name in ("cluster.yaml", "policies.yaml"):
        shutil.copy(DATA / "old" / name, repo / "policies" / name)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "old")
    old = git(repo, "rev-parse", "HEAD")
    shutil.copy(DATA / "new" / "policies.yaml", repo / "policies" / "policies.yaml")
    git(repo, "commit", "-q", "-am", "new")

    result = CliRunner().invoke(
        cli,
        [
            "policy",
            "diff",
            "policies",
            "--repo",
            str(repo),
            "--rev",
            old,
            "--rev",
            "HEAD",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "ops/backup" in result.output and "db-from-backup" in result.output


def test_unknown_revision_is_a_git_error(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    result = CliRunner().invoke(
        cli,
        [
            "policy",
            "diff",
            "--repo",
            str(repo),
            "--rev",
            "nope",
            "--rev",
            "HEAD",
        ],
    )
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output
