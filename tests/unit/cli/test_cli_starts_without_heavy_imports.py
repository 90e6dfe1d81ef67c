"""The CLI loads a command's module only when that command runs.

`rollout --help`, `--version` and the light commands must not pay for the
kubernetes client, SQLAlchemy, Alembic, GitPython or the web stack: a lint step
in CI and every scripted check call the CLI many times.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from rollout.cli.main import COMMANDS, cli

HEAVY = ("kubernetes", "sqlalchemy", "alembic", "git", "fastapi", "uvicorn", "starlette")

_PROBE = """
import json, sys
from rollout.cli.main import cli
if sys.argv[1:]:
    try:
        cli(sys.argv[1:], prog_name="rollout", standalone_mode=False)
    except SystemExit:
        pass
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print(json.dumps(heavy))
"""


def _heavy_modules_after(*args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        ["--version"],
        ["policy", "--help"],
        ["policy", "lint", "--help"],
        ["config", "check", "--help"],
        ["windows", "--help"],
        ["gate", "--help"],
        ["approve", "--help"],
        ["status", "--help"],
    ],
    ids=lambda a: " ".join(a) or "(import)",
)
def test_light_invocations_import_no_heavy_library(args: list[str]) -> None:
    assert _heavy_modules_after(*args) == []


def test_the_command_table_lists_every_command_with_its_own_summary() -> None:
    ctx = click.Context(cli)
    for name, (_module, summary) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None, name
        assert command.name == name
        assert command.get_short_help_str(limit=500) == summary, name


def test_an_unknown_command_is_a_usage_error_not_an_import() -> None:
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command 'no-such-command'" in result.output


_SCHEMA_PROBE = """
import sys
from pathlib import Path
from rollout.cli.main import cli
try:
    cli(sys.argv[1:], prog_name="rollout", standalone_mode=False)
except SystemExit:
    pass
print(sorted(m for m in ("pydantic", "rollout.config", "rollout.flows") if m in sys.modules))
"""


def test_policy_lint_loads_neither_the_settings_schema_nor_flow_replay() -> None:
    # policy lint reads no settings: pydantic and the schema (a third of its
    # start-up) and the flow-log replay load only for commands that use them.
    example = str(Path(__file__).resolve().parents[3] / "examples" / "policy-repo")
    result = subprocess.run(
        [sys.executable, "-c", _SCHEMA_PROBE, "policy", "lint", example, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert '"findings"' in result.stdout or result.stdout.startswith(("[", "{"))
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_policy_replay_is_listed_and_runs_though_loaded_late() -> None:
    listed = CliRunner().invoke(cli, ["policy", "--help"])
    assert "replay" in listed.output
    helped = CliRunner().invoke(cli, ["policy", "replay", "--help"])
    assert helped.exit_code == 0 and "FLOWS" in helped.output
