"""Each file in broken/ fails `rollout config check` with exit 2 and the exact line
its first comment states (`# expect: {file}: field.path: message`), never a traceback.

To add a case: write broken/NAME.yaml with that first line; nothing else to register.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rollout.cli.main import cli

BROKEN = Path(__file__).with_name("broken")
CASES = sorted(BROKEN.glob("*.yaml"))
# Variables a broken file might accidentally find set in a developer's shell.
UNSET = {"GIT_HOST": None, "ROLLOUT_CONFIG": None}


def expected_line(path: Path, shown_as: str) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: ...'"
    return first.removeprefix("# expect: ").replace("{file}", shown_as)


def message_lines(stderr: str) -> list[str]:
    """What the user reads, without the `error: ` prefix and detail indentation."""
    return [line.removeprefix("error: ").strip() for line in stderr.splitlines()]


def test_there_are_enough_broken_configs() -> None:
    assert len(CASES) >= 15


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_config_check_names_the_problem(path: Path) -> None:
    result = CliRunner().invoke(cli, ["config", "check", str(path)], env=UNSET)

    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert expected_line(path, str(path)) in message_lines(result.stderr)


def test_inline_secret_is_never_echoed() -> None:
    path = BROKEN / "inline_secret.yaml"
    result = CliRunner().invoke(cli, ["config", "check", str(path)], env=UNSET)
    assert "xoxb-1234-5678-abcdefghijkl" not in result.stderr


def test_store_url_password_is_never_echoed() -> None:
    path = BROKEN / "unsupported_store_url.yaml"
    result = CliRunner().invoke(cli, ["config", "check", str(path)], env=UNSET)
    assert "hunter2" not in result.stderr


@pytest.mark.integration
def test_real_process_reports_the_same_line_and_exit_code(tmp_path: Path) -> None:
    path = BROKEN / "duplicate_environment.yaml"
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    result = subprocess.run(
        [sys.executable, "-m", "rollout", "config", "check", str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert expected_line(path, str(path)) in message_lines(result.stderr)
