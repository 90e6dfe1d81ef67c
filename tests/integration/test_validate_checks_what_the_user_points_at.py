"""`rollout validate --offline` refuses what the apiserver and `policy lint` refuse, and
checks the working tree of a local repository (or the commit `--rev` names), saying which.

It used to pass `port: 99999` (lint refuses it) and to check the branch head, ignoring
edits not yet committed while `policy lint` reads the files as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from rollout.cli.main import cli
from tests.integration.apply.policy_repo import PolicyRepo, policy

pytestmark = pytest.mark.integration

EXIT_VALIDATION = 3


def _config(repo: PolicyRepo) -> str:
    data = {
        "repository": {"path": str(repo.root)},
        "environments": [
            {
                "name": "staging",
                "cluster": {"kubeconfig": str(repo.root.parent / "no-kubeconfig")},
                "namespaces": ["shop"],
                "overlay": repo.overlay,
            }
        ],
    }
    path = repo.root.parent / "rollout.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def _validate(config: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["validate", "--offline", "-c", config, "--env", "staging", *args]
    )
    return result.exit_code, result.output


@pytest.fixture
def repo(tmp_path: Path) -> PolicyRepo:
    made = PolicyRepo(tmp_path / "policies")
    made.write("web.yaml", policy("allow-web", "shop"))
    made.commit("allow web")
    return made


def _with(spec: dict[str, Any]) -> dict[str, Any]:
    made = policy("allow-web", "shop")
    made["spec"] = spec
    return made


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"podSelector": {}, "ingress": [{"ports": [{"port": 99999}]}]}, "ports[0].port"),
        ({"podSelector": {}, "ingress": [{"ports": [{"port": 80, "endPort": 70}]}]}, "endPort"),
        ({"podSelector": {"matchLabels": {"app": "web server"}}}, "matchLabels.app"),
        (
            {
                "podSelector": {},
                "ingress": [
                    {"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}}]}
                ],
            },
            "except[0]",
        ),
    ],
    ids=["port-out-of-range", "end-port-below-port", "label-value", "except-outside-cidr"],
)
def test_offline_validation_refuses_what_the_apiserver_would(
    repo: PolicyRepo, spec: dict[str, Any], field: str
) -> None:
    config = _config(repo)
    repo.write("web.yaml", _with(spec))
    repo.commit("bad policy")

    code, out = _validate(config, "--rev", "HEAD")

    assert code == EXIT_VALIDATION, out
    assert "NetworkPolicy/shop/allow-web" in out and field in out, out


def test_lint_and_offline_validation_agree_on_port_99999(repo: PolicyRepo) -> None:
    config = _config(repo)
    repo.write("web.yaml", _with({"podSelector": {}, "ingress": [{"ports": [{"port": 99999}]}]}))

    lint = CliRunner().invoke(cli, ["policy", "lint", str(repo.dir)])
    code, out = _validate(config)

    assert lint.exit_code == EXIT_VALIDATION and "99999" in lint.output, lint.output
    assert code == EXIT_VALIDATION and "99999" in out, out


def test_validate_checks_uncommitted_edits_by_default_and_says_so(repo: PolicyRepo) -> None:
    config = _config(repo)
    repo.write("web.yaml", _with({"podSelector": {}, "ingress": [{"ports": [{"port": 99999}]}]}))

    code, out = _validate(config)
    assert code == EXIT_VALIDATION, out
    assert "the working tree" in out and "99999" in out, out

    code, out = _validate(config, "--rev", "HEAD")
    assert code == 0, out
    assert "valid: 1 objects of commit" in out and "(HEAD)" in out, out


def test_a_clean_working_tree_is_named_with_its_head(repo: PolicyRepo) -> None:
    config = _config(repo)
    head = repo._git("rev-parse", "HEAD")

    code, out = _validate(config, "-o", "json")

    assert code == 0, out
    assert "working tree" in out and f"HEAD is {head[:12]}" in out, out
