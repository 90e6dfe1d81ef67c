"""`rollout config check` warns about members without an email when an environment forbids
self-approval: the example's members had none, and a commit by `Grace Hopper
<grace@example.com>` was approved by member `grace` and counted."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from rollout.cli.main import cli

EXAMPLE = Path(__file__).parents[3] / "examples" / "policy-repo" / "rollout.yaml"


def test_members_without_email_are_named_when_self_approval_is_forbidden() -> None:
    result = CliRunner().invoke(cli, ["config", "check", str(EXAMPLE)])

    assert result.exit_code == 0, result.output
    warning = next(line for line in result.stderr.splitlines() if "(grace): no email" in line)
    assert warning.startswith("warning: team.members[1] (grace): no email")
    assert "self-approval in production cannot be prevented reliably (add `email`)" in warning


def test_no_warning_when_every_member_has_an_email(tmp_path: Path) -> None:
    config = tmp_path / "rollout.yaml"
    config.write_text(
        "repository: {path: .}\n"
        "team:\n  members:\n"
        "    - {name: ada, timezone: UTC, email: ada@example.com, groups: [approvers]}\n"
        "environments:\n"
        "  - {name: staging, namespaces: [a], overlay: s}\n"
        "  - name: production\n    namespaces: [a]\n    overlay: p\n"
        "    approvals: {required: 1, groups: [approvers], allow_self_approval: false}\n"
    )

    result = CliRunner().invoke(cli, ["config", "check", str(config)])

    assert result.exit_code == 0, result.output
    assert "no email" not in result.stderr
