"""`rollout gate` on an environment without windows says so ("no window configured:
always open") instead of describing a two-week window, and lists as online only the
members within their hours now (it listed everyone who works in the next two weeks)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from rollout.cli.main import cli
from tests.unit.windows.test_windows_config_and_cli import write

# Monday 2026-03-09 18:00 UTC: alice (Berlin, 19:00) is off; bob (New York, 14:00) and
# chen (Kolkata, 23:30, night shift) work.
EVENING = "2026-03-09T18:00Z"


def test_an_environment_without_windows_is_always_open(tmp_path: Path) -> None:
    config = str(write(tmp_path))

    result = CliRunner().invoke(cli, ["gate", "-c", config, "--env", "staging", "--at", EVENING])

    assert result.exit_code == 0, result.output
    assert "no window configured: always open" in result.output
    assert "online now: bob, chen" in result.output
    assert "alice" not in result.output and "window lasts" not in result.output


def test_json_says_always_open_with_no_window(tmp_path: Path) -> None:
    config = str(write(tmp_path))

    result = CliRunner().invoke(
        cli, ["gate", "-c", config, "--env", "staging", "--at", EVENING, "-o", "json"]
    )

    answer = json.loads(result.stdout)
    assert (answer["open"], answer["always_open"], answer["window"]) == (True, True, None)
    assert answer["online_now"] == ["bob", "chen"]


def test_an_open_window_names_who_is_online_now(tmp_path: Path) -> None:
    config = str(write(tmp_path))

    result = CliRunner().invoke(
        cli, ["gate", "-c", config, "--env", "production", "--at", "2026-03-09T14:00Z"]
    )

    assert result.exit_code == 0 and "online now: alice, bob" in result.output
