"""`rollout config check` warns about members without an email when an environment forbids
self-approval: the example's members had none, and a commit by `Grace Hopper
<grace@example.com>` was approved by member `grace` and counted."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from rollout.cli.main import cli

EXAMPLE = Path(__file__).parents[3] / "examples" / "policy-repo" / "rollout.yaml"


def test_members_known_by_name_alone_are_named_when_self_approval_is_forbidden(
    tmp_path: Path,
) -> None:
    config = tmp_path / "rollout.yaml"
    config.write_text(
        "repository: {path: .}\n"
        "team:\n  members:\n"
        "    - {name: ada, timezone: UTC, github: ada-l, groups: [approvers]}\n"
        "    - {name: grace, timezone: UTC, groups: [approvers]}\n"
        "environments:\n"
        "  - {name: staging, namespaces: [a], overlay: s}\n"
        "  - name: production\n    namespaces: [a]\n    overlay: p\n"
        "    approvals: {required: 1, groups: [approvers], allow_self_approval: false}\n"
    )

    result = CliRunner().invoke(cli, ["config", "check", str(config)])

    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "no email" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "warning: team.members[1] (grace): no email, alias or GitHub login"
    )
    assert "recognised only by the author name 'grace' or an address grace@..." in warnings[0]
    assert "self-approval in production cannot be prevented reliably" in warnings[0]


def test_the_example_roster_is_recognisable() -> None:
    result = CliRunner().invoke(cli, ["config", "check", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "no email" not in result.stderr


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
