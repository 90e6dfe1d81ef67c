"""`rollout check` names each failure that needs no cluster to find: a context
typo (with the contexts there are), an apiserver that does not answer (its URL,
within the timeout), an old apiserver, git, an unset secret, a roster that
cannot give the approvals; `-o json` carries the same; exit 1 on any failure."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from rollout.cli.main import cli
from rollout.preflight import _version_result

CONFIG = """
repository: {{path: repo, branch: main}}
environments:
  - name: staging
    cluster: {{kubeconfig: kubeconfig, context: {context}}}
    namespaces: [shop]
    overlay: staging
  - name: production
    cluster: {{kubeconfig: kubeconfig, context: prod}}
    namespaces: [shop]
    overlay: production
    approvals: {{required: {required}, groups: [approvers]}}
team:
  members:
    - {{name: ada, timezone: UTC, groups: [approvers]}}
    - {{name: bob, timezone: UTC}}
notifications:
  slack:
    bot_token: {{env: CHECK_TEST_SLACK_TOKEN}}
    signing_secret: {{env: CHECK_TEST_SLACK_SECRET}}
    channel: "#netpol"
"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _kubeconfig(path: Path, port: int) -> None:
    clusters = [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}"}}]
    contexts = [
        {"name": name, "context": {"cluster": "c", "user": "u"}} for name in ("prod", "stage")
    ]
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": clusters,
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": contexts,
                "current-context": "prod",
            }
        )
    )


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CHECK_TEST_SLACK_TOKEN", raising=False)
    monkeypatch.setenv("CHECK_TEST_SLACK_SECRET", "s3cret-value")
    _kubeconfig(tmp_path / "kubeconfig", _closed_port())
    (tmp_path / "repo").mkdir()  # not a git repository
    config = tmp_path / "rollout.yaml"
    config.write_text(CONFIG.format(context="stagign", required=2))
    return config


def _run(config: Path, *args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(cli, ["check", "-c", str(config), "--timeout", "2", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


def _by_name(data: dict[str, object]) -> dict[tuple[str, str], dict[str, str]]:
    checks = data["checks"]
    assert isinstance(checks, list)
    return {(c["environment"], c["name"]): c for c in checks}


def test_each_offline_failure_is_named_and_the_exit_code_is_1(setup: Path) -> None:
    code, data = _run(setup, "-o", "json")
    assert code == 1 and data["ok"] is False
    found = _by_name(data)
    typo = found[("staging", "credentials")]
    assert typo["status"] == "fail"
    assert "'stagign'" in typo["detail"] and "prod, stage" in typo["detail"]
    assert str(setup.parent / "kubeconfig") in typo["detail"]
    assert found[("staging", "rbac")]["status"] == "skip"
    unreachable = found[("production", "reachable")]
    assert unreachable["status"] == "fail"
    assert "https://127.0.0.1:" in unreachable["detail"]
    assert "kubeconfig" in unreachable["detail"]
    assert found[("", "git")]["status"] == "fail"
    secrets = found[("", "secrets")]
    assert secrets["status"] == "fail" and "CHECK_TEST_SLACK_TOKEN" in secrets["detail"]
    assert "s3cret-value" not in json.dumps(data)
    roster = found[("production", "roster")]
    assert roster["status"] == "fail" and "only ada may approve" in roster["detail"]


def test_a_good_roster_and_a_git_branch_pass(setup: Path) -> None:
    setup.write_text(CONFIG.format(context="stage", required=1))
    repo = setup.parent / "repo"
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "x"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@e", *args], cwd=repo, check=True
        )
    _, data = _run(setup, "-o", "json")
    found = _by_name(data)
    assert found[("staging", "credentials")]["status"] == "ok"
    assert found[("production", "roster")]["status"] == "ok"
    assert found[("", "git")]["status"] == "ok"


def test_the_table_says_how_many_checks_failed(setup: Path) -> None:
    result = CliRunner().invoke(cli, ["check", "-c", str(setup), "--timeout", "1"])
    assert result.exit_code == 1
    assert "check(s) failed" in result.output and "stagign" in result.output


@pytest.mark.parametrize(
    ("version", "status"),
    [({"major": "1", "minor": "26"}, "fail"), ({"major": "1", "minor": "34+"}, "ok")],
)
def test_apiservers_older_than_the_minimum_fail(version: dict[str, str], status: str) -> None:
    assert _version_result("staging", version, "").status == status
