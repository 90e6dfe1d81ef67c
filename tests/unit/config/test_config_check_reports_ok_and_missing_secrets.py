"""`rollout config check` on a valid file: one summary line, secret warnings, exit 0."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from rollout.cli.main import cli

EXAMPLE = Path(__file__).parents[3] / "config" / "rollout.yaml"
SECRET_VARS = [
    "ROLLOUT_GIT_TOKEN",
    "ROLLOUT_SLACK_BOT_TOKEN",
    "ROLLOUT_SLACK_SIGNING_SECRET",
    "ROLLOUT_GITHUB_TOKEN",
    "ROLLOUT_GITHUB_WEBHOOK_SECRET",
]


def test_example_config_passes_with_no_secrets_set() -> None:
    result = CliRunner().invoke(
        cli, ["config", "check", str(EXAMPLE)], env=dict.fromkeys(SECRET_VARS)
    )

    assert result.exit_code == 0, result.output
    assert result.stdout == (f"ok: {EXAMPLE} (2 environments: staging, production; 4 members)\n")
    assert (
        "warning: notifications.slack.bot_token: secret environment variable "
        "ROLLOUT_SLACK_BOT_TOKEN is not set (or empty)"
    ) in result.stderr.splitlines()
    assert (
        "warning: notifications.webhooks[0].secret: secret file "
        "/etc/netpol-rollout/ops-webhook.secret does not exist or is not a file"
    ) in result.stderr.splitlines()


def test_available_secrets_are_not_warned_about_and_never_printed() -> None:
    values = {name: f"value-of-{name.lower()}" for name in SECRET_VARS}
    result = CliRunner().invoke(cli, ["config", "check", str(EXAMPLE)], env=values)

    assert result.exit_code == 0
    assert "ROLLOUT_SLACK_BOT_TOKEN" not in result.stderr
    for value in values.values():
        assert value not in result.output


def test_file_defaults_to_rollout_config_env_then_rollout_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not CliRunner.isolated_filesystem: deprecated since click 8.5.
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    Path("rollout.yaml").write_text(EXAMPLE.read_text())
    by_default = runner.invoke(cli, ["config", "check"], env={"ROLLOUT_CONFIG": None})
    missing = runner.invoke(cli, ["config", "check"], env={"ROLLOUT_CONFIG": "other.yaml"})

    assert by_default.exit_code == 0
    assert by_default.stdout.startswith("ok: rollout.yaml (2 environments")
    assert missing.exit_code == 2
    assert missing.stderr == "error: other.yaml: no such configuration file\n"


def test_singular_counts_read_naturally(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text(
        "repository: {path: /srv/policies}\n"
        "environments: [{name: staging, namespaces: [web], overlay: overlays/staging}]\n"
    )
    result = CliRunner().invoke(cli, ["config", "check", str(path)])
    assert result.stdout == f"ok: {path} (1 environment: staging; 0 members)\n"


def test_approvals_and_windows_on_the_first_environment_are_warned_about(tmp_path: Path) -> None:
    path = tmp_path / "first.yaml"
    path.write_text(
        "repository: {path: /srv/policies}\n"
        "team: {members: [{name: alice, timezone: UTC}]}\n"
        "environments:\n"
        "  - {name: staging, namespaces: [web], overlay: staging, approvals: {required: 1},\n"
        "     windows: {explicit: [{kind: allow, schedule: '0 9 * * *', duration: 8h}]}}\n"
        "  - {name: production, namespaces: [web], overlay: production}\n"
    )
    result = CliRunner().invoke(cli, ["config", "check", str(path)])

    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"warning: environments[0].{field}: staging is the first environment, applied "
        f"automatically on every commit; its {field} are ignored (put them on a later environment)"
        for field in ("approvals", "windows")
    ]
