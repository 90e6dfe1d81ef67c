"""A cluster the CLI cannot connect to: the error names the apiserver URL, the
context and the kubeconfig path, after few attempts with a short connect
timeout (not the whole retry budget of a request that did connect)."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from rollout.cli.main import cli
from rollout.kube.client import CONNECT_ATTEMPTS, CONNECT_TIMEOUT

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "policy-repo"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = tmp_path / "policies"
    shutil.copytree(EXAMPLE, repo)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "policies"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=repo,
            check=True,
        )
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: c, cluster: {{server: 'https://127.0.0.1:{_closed_port()}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: gone, context: {cluster: c, user: u}}]\ncurrent-context: gone\n"
    )
    monkeypatch.setenv("STAGING_KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("STAGING_CONTEXT", "gone")
    monkeypatch.chdir(repo)
    return kubeconfig


@pytest.mark.parametrize(
    "command", [["plan", "--env", "staging"], ["validate", "--env", "staging"]]
)
def test_the_error_names_server_context_and_kubeconfig(repo: Path, command: list[str]) -> None:
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 5, result.output
    server = repo.read_text().split("server: '")[1].split("'")[0]
    assert (
        f"error: cannot connect to the apiserver at {server} "
        f"(context gone of kubeconfig {repo}): connection refused "
        f"({CONNECT_ATTEMPTS} attempts)"
    ) in result.stderr
    assert "Traceback" not in result.output


def test_connecting_is_given_seconds_not_the_request_budget() -> None:
    assert CONNECT_TIMEOUT <= 5 and CONNECT_ATTEMPTS <= 2
