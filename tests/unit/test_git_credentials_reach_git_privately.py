"""Repository credentials reach git through its environment, never the URL or argv."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from rollout.config.schema import Repository
from rollout.wiring import git_for

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----"


def test_ssh_key_from_an_environment_variable_goes_to_a_private_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("POLICY_SSH_KEY", KEY)
    repository = Repository.model_validate(
        {"path": str(tmp_path), "credentials": {"ssh_key": {"env": "POLICY_SSH_KEY"}}}
    )

    command = git_for(repository)._env["GIT_SSH_COMMAND"]

    key_file = Path(command.split()[2])
    assert command == f"ssh -i {key_file} -o IdentitiesOnly=yes"
    assert key_file.read_text() == KEY + "\n"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert KEY not in command


def test_ssh_key_file_is_used_as_it_is(tmp_path: Path) -> None:
    key_file = tmp_path / "id_ed25519"
    key_file.write_text(KEY)
    repository = Repository.model_validate(
        {"path": str(tmp_path), "credentials": {"ssh_key": {"file": str(key_file)}}}
    )

    assert git_for(repository)._env["GIT_SSH_COMMAND"] == (
        f"ssh -i {key_file} -o IdentitiesOnly=yes"
    )
