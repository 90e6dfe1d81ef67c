"""Fuzz: `rollout validate --offline --env staging` over examples/policy-repo in a
real git repository, rendered by a real kustomize, with one file (rollout.yaml,
a kustomization, a policy, smoke-tests.yaml) mutated structurally, with hostile
YAML or byte by byte. Every input ends 0, 2 or 3 with a message, never a
traceback. `NETPOL_FUZZ_EXAMPLES` (default 60) sets how many; each one runs
kustomize, so CI draws a third of them here."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

from rollout.cli.main import cli
from tests.support.yaml_mutations import EXAMPLES, count, mutated_file

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).parents[3] / "examples" / "policy-repo"
POLICIES = EXAMPLE / "k8s" / "network-policies"
FILES = sorted(
    [
        EXAMPLE / "rollout.yaml",
        POLICIES / "smoke-tests.yaml",
        *(POLICIES / "base").glob("*.yaml"),
        *(POLICIES / "staging").glob("*.yaml"),
    ]
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("fuzz") / "policy-repo"
    shutil.copytree(EXAMPLE, root)
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "example"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True)
    yield root


@settings(
    max_examples=max(EXAMPLES // 3, 10),
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(data=mutated_file(FILES))
def test_validate_offline_exits_0_2_or_3(repo: Path, data: tuple[Path, bytes]) -> None:
    original, content = data
    target = repo / original.relative_to(EXAMPLE)
    before = target.read_bytes()
    target.write_bytes(content)
    try:
        count("validate --offline")
        result = CliRunner().invoke(
            cli,
            ["validate", "--offline", "-c", str(repo / "rollout.yaml"), "--env", "staging"],
            env={"GITHUB_ACTIONS": None, "ROLLOUT_CONFIG": None},
        )
    finally:
        target.write_bytes(before)
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crashed, f"{type(result.exception).__name__}: {result.exception}"
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 2, 3), result.output
    if result.exit_code:
        assert "error: " in result.output, result.output
