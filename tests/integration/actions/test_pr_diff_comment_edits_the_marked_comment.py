"""pr-validate.yml's diff comment: one comment, found by its marker, edited on
each push; skipped with a notice on a fork's read-only token; and the plan job
can read the staging environment's secret.

The step's `run:` script is taken from the workflow and run as the runner runs
it (`bash -e`, GITHUB_API_URL, GITHUB_REPOSITORY, the step's env) against the
GitHub stand-in, which checks each request as GitHub would and pages comments
two at a time.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.standins.github_api import GitHubStandIn

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
WORKFLOW = yaml.safe_load((ROOT / "workflows" / "pr-validate.yml").read_text())
STEPS = WORKFLOW["jobs"]["diff"]["steps"]
COMMENT = next(s for s in STEPS if s.get("name") == "Comment the diff on the pull request")
MARKER = COMMENT["env"]["MARKER"]
PR = 7


def _run(github: GitHubStandIn, workspace: Path, body: str) -> subprocess.CompletedProcess[str]:
    (workspace / "diff.md").write_text(body)
    env = {
        "PATH": os.defpath,
        "HOME": str(workspace),
        "GITHUB_ACTIONS": "true",
        "GITHUB_API_URL": github.api_url,
        "GITHUB_REPOSITORY": github.repo,
        "GH_TOKEN": github.token,  # ${{ github.token }}
        "PR": str(PR),  # ${{ github.event.pull_request.number }}
        "MARKER": MARKER,
    }
    return subprocess.run(
        ["bash", "-e", "-c", COMMENT["run"]],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def github() -> Any:
    with GitHubStandIn() as standin:
        yield standin


def test_first_push_creates_the_comment(github: GitHubStandIn, tmp_path: Path) -> None:
    done = _run(github, tmp_path, f"{MARKER}\n### Connectivity diff: staging\n")
    assert done.returncode == 0, done.stdout + done.stderr
    (comment,) = github.comments_on(PR)
    assert comment.body.startswith(MARKER) and "staging" in comment.body
    assert github.violations == []


def test_next_push_edits_the_marked_comment_not_the_last_one(
    github: GitHubStandIn, tmp_path: Path
) -> None:
    github.add_comment(PR, "LGTM")
    github.add_comment(PR, "a question")
    ours = github.add_comment(PR, f"{MARKER}\nold diff\n")
    github.add_comment(PR, "<!-- another-bot -->\nits own report")  # the bot's last comment
    github.add_comment(PR + 1, f"{MARKER}\nanother pull request's diff\n")

    done = _run(github, tmp_path, f"{MARKER}\nnew diff\n")

    assert done.returncode == 0, done.stdout + done.stderr
    assert github.comments[ours].body == f"{MARKER}\nnew diff\n"
    assert github.comments[ours].edits == 1
    assert [c.body for c in github.comments_on(PR) if c.edits] == [f"{MARKER}\nnew diff\n"]
    assert len(github.comments_on(PR)) == 4  # none created
    assert [r.method for r in github.requests if r.method != "GET"] == ["PATCH"]
    # The marked comment is on the second page (two per page): pages were followed.
    assert len(github.calls("GET", rf"issues/{PR}/comments")) == 2
    assert github.violations == []


def test_a_read_only_token_skips_with_a_notice(github: GitHubStandIn, tmp_path: Path) -> None:
    github.fail_next("POST", f"issues/{PR}/comments", 403)
    done = _run(github, tmp_path, f"{MARKER}\ndiff\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^::notice::.*read-only", done.stdout, re.M)
    assert github.comments_on(PR) == []


def test_a_fork_pull_request_skips_commenting_with_a_notice() -> None:
    same_repo = "github.event.pull_request.head.repo.full_name == github.repository"
    fork = "github.event.pull_request.head.repo.full_name != github.repository"
    assert COMMENT["if"] == same_repo
    (notice,) = [s for s in STEPS if s.get("if") == fork]
    assert notice["run"].startswith('echo "::notice::pull request from a fork')
    assert "--edit-last" not in (ROOT / "workflows" / "pr-validate.yml").read_text()


def test_the_plan_job_names_the_environment_holding_its_secret() -> None:
    plan = WORKFLOW["jobs"]["plan"]
    assert plan["environment"] == "staging"
    assert "secrets.STAGING_KUBECONFIG" in plan["env"]["KUBECONFIG_DATA"]
    staging = yaml.safe_load((ROOT / "workflows" / "staging.yml").read_text())
    assert any(job.get("environment") == "staging" for job in staging["jobs"].values())
