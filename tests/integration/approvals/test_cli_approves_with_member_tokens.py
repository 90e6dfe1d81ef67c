"""`rollout token|approve|reject|status` against the real server and store."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from rollout.cli.main import cli
from tests.integration.approvals.conftest import Service

pytestmark = pytest.mark.integration


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def create_token(member: str, config: Path) -> str:
    result = run("token", "create", "--member", member, "--config", str(config))
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("nrt_")
    return token


def test_cli_approval_with_valid_revoked_and_wrong_token(
    service: Service, config_file: Path
) -> None:
    rollout = service.rollout()
    token = create_token("alice", config_file)
    # Only the hash is stored.
    assert all(token not in t.token_hash for t in service.store.tokens("alice"))

    ok = run("approve", rollout.id, "--server", service.url, "--token", token)
    assert ok.exit_code == 0, ok.output
    assert "alice approved" in ok.stdout
    (event,) = service.store.events(rollout_id=rollout.id, kinds=["approval.granted"])
    assert (event.actor, event.channel) == ("alice", "cli")

    wrong = run("approve", rollout.id, "--server", service.url, "--token", "nrt_guess")
    assert wrong.exit_code == 8
    assert "unknown or revoked token" in wrong.stderr

    listed = run("token", "list", "--config", str(config_file))
    assert "alice" in listed.stdout and "active" in listed.stdout and token not in listed.stdout
    token_id = service.store.tokens("alice")[0].id
    assert run("token", "revoke", str(token_id), "--config", str(config_file)).exit_code == 0
    revoked = run("approve", rollout.id, "--server", service.url, "--token", token)
    assert revoked.exit_code == 8
    assert "unknown or revoked token" in revoked.stderr
    assert [a.member for a in service.store.approvals_for(rollout.id, "production")] == ["alice"]


def test_cli_reject_and_status_use_environment_variables(
    service: Service, config_file: Path
) -> None:
    rollout = service.rollout()
    env = {"ROLLOUT_SERVER": service.url, "ROLLOUT_TOKEN": create_token("bob", config_file)}
    status = run("status", env=env)
    assert status.exit_code == 0 and rollout.id in status.stdout
    refused = run("reject", rollout.id, env=env)
    assert refused.exit_code == 2  # --reason is required
    done = run("reject", rollout.id, "--reason", "wrong namespace", env=env)
    assert done.exit_code == 0, done.output
    detail = run("status", rollout.id, env=env)
    assert "rejected" in detail.stdout and "wrong namespace" in detail.stdout


def test_cli_approval_after_quorum_prints_the_conflict_and_exits_8(
    service: Service, config_file: Path
) -> None:
    rollout = service.rollout()
    for member in ("alice", "bob"):
        token = create_token(member, config_file)
        assert run("approve", rollout.id, "--server", service.url, "--token", token).exit_code == 0
    assert service.state(rollout.id) == "approved"
    late = run("approve", rollout.id, "--server", service.url, "--token", service.token("sec"))
    assert late.exit_code == 8
    assert f"{rollout.id} is not awaiting approval: it is already approved" in late.stderr
    assert "Traceback" not in late.output


def test_token_for_unknown_member_is_refused(config_file: Path) -> None:
    result = run("token", "create", "--member", "mallory", "--config", str(config_file))
    assert result.exit_code == 2
    assert "no team member 'mallory'" in result.stderr
