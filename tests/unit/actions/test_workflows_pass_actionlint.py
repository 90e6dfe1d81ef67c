"""The workflow templates and action.yml pass actionlint.

actionlint checks a local action's metadata (and the inputs a workflow
passes to it) only through `uses: ./path`, so the templates are copied into a
scratch repository with `OWNER/netpol-rollout@v1` pointing at a copy of
action.yml. Skipped when actionlint is not built (CI builds it from Go
modules into $HOME/.cache/netpol-rollout/bin).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = sorted((ROOT / "workflows").glob("*.yml"))
PUBLISHED = "OWNER/netpol-rollout@v1"


def _actionlint() -> str | None:
    cached = Path.home() / ".cache" / "netpol-rollout" / "bin" / "actionlint"
    if cached.is_file() and os.access(cached, os.X_OK):
        return str(cached)
    return shutil.which("actionlint")


ACTIONLINT = _actionlint()
needs_actionlint = pytest.mark.skipif(ACTIONLINT is None, reason="actionlint is not built")


def test_the_three_workflows_exist() -> None:
    assert [p.name for p in WORKFLOWS] == ["pr-validate.yml", "production.yml", "staging.yml"]
    for path in WORKFLOWS:
        text = path.read_text()
        assert text.startswith("#"), f"{path.name}: starts with a comment on how to copy it"
        assert "permissions:" in text, f"{path.name}: declares its permissions"
        assert PUBLISHED in text


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert ACTIONLINT is not None
    return subprocess.run(
        [ACTIONLINT, "-no-color", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@needs_actionlint
def test_workflow_files_pass_actionlint() -> None:
    result = _run(ROOT, *(str(p) for p in WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_actionlint
def test_action_metadata_and_its_inputs_pass_actionlint(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "netpol-rollout").mkdir()
    shutil.copy(ROOT / "action.yml", tmp_path / "netpol-rollout" / "action.yml")
    target = tmp_path / ".github" / "workflows"
    target.mkdir(parents=True)
    for path in WORKFLOWS:
        text = path.read_text().replace(PUBLISHED, "./netpol-rollout")
        (target / path.name).write_text(text)
    result = _run(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_actionlint
def test_actionlint_would_catch_an_unknown_action_input(tmp_path: Path) -> None:
    """Guards the test above: the local-action check is really active."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "netpol-rollout").mkdir()
    shutil.copy(ROOT / "action.yml", tmp_path / "netpol-rollout" / "action.yml")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "x.yml").write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: ./netpol-rollout\n        with:\n          command: plan\n"
        "          no-such-input: 1\n"
    )
    result = _run(tmp_path)
    assert result.returncode != 0
    assert "no-such-input" in result.stdout
