"""Fuzz: `config check`, `policy lint` and `policy matrix` over the example files
mutated structurally and byte by byte. Every input ends with a documented exit
code and a message, never a traceback; `policy lint` exits 1 only when it
reports an error-level finding. (`validate --offline` is fuzzed with a real git
repository and kustomize in tests/integration/apply.)

CI draws `NETPOL_FUZZ_EXAMPLES` (default 60) inputs per command; set it higher
for a long local run, and `NETPOL_FUZZ_REPORT=FILE` to count them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings

from rollout.cli.main import cli
from tests.support.yaml_mutations import EXAMPLES, count, mutated_file

REPO = Path(__file__).resolve().parents[3] / "examples" / "policy-repo"
POLICIES = REPO / "k8s" / "network-policies"
MANIFEST_FOLDERS = {
    "base": POLICIES / "base",
    "staging": POLICIES / "staging",
    "workloads": REPO / "workloads",
}
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Plain copies of the example folders (no kustomization: read as YAML)."""
    root = tmp_path_factory.mktemp("fuzz")
    for name, folder in MANIFEST_FOLDERS.items():
        (root / name).mkdir()
        for file in folder.glob("*.yaml"):
            if file.name != "kustomization.yaml":
                shutil.copy(file, root / name / file.name)
    shutil.copy(REPO / "rollout.yaml", root / "rollout.yaml")
    yield root


def manifest_files(root: Path) -> list[Path]:
    return sorted(p for name in MANIFEST_FOLDERS for p in (root / name).glob("*.yaml"))


def assert_no_traceback(result: Result, allowed: set[int]) -> None:
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crashed, f"{type(result.exception).__name__}: {result.exception}"
    assert "Traceback" not in result.output
    assert result.exit_code in allowed, result.output
    if result.exit_code not in (0, 1):
        assert result.output.startswith("error: ") or "\nerror: " in result.output, result.output


def run(args: list[str]) -> Result:
    count(" ".join(args[:2]))
    return CliRunner().invoke(cli, args, env={"GITHUB_ACTIONS": None, "ROLLOUT_CONFIG": None})


class Mutated:
    """Writes one mutated file in place for the duration of a `with` block."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.path, self.data = path, data
        self.original = path.read_bytes()

    def __enter__(self) -> Path:
        self.path.write_bytes(self.data)
        return self.path

    def __exit__(self, *exc: object) -> None:
        self.path.write_bytes(self.original)


@FUZZ
@given(data=mutated_file([REPO / "rollout.yaml"]))
def test_config_check_exits_0_or_2(workspace: Path, data: tuple[Path, bytes]) -> None:
    _, content = data
    with Mutated(workspace / "rollout.yaml", content) as config:
        result = run(["config", "check", str(config)])
    assert_no_traceback(result, {0, 2})


def _mutated_manifest(workspace: Path, data: tuple[Path, bytes]) -> Mutated:
    original, content = data
    folder = next(n for n, f in MANIFEST_FOLDERS.items() if original.parent == f)
    return Mutated(workspace / folder / original.name, content)


EXAMPLE_MANIFESTS = sorted(
    p for f in MANIFEST_FOLDERS.values() for p in f.glob("*.yaml") if p.name != "kustomization.yaml"
)


@FUZZ
@given(data=mutated_file(EXAMPLE_MANIFESTS))
def test_policy_lint_exits_1_only_for_findings(workspace: Path, data: tuple[Path, bytes]) -> None:
    with _mutated_manifest(workspace, data):
        result = run(
            ["policy", "lint", "-o", "json", *(str(workspace / n) for n in MANIFEST_FOLDERS)]
        )
    assert_no_traceback(result, {0, 1, 2, 3})
    if result.exit_code == 1:
        findings = json.loads(result.stdout)
        rows = findings["findings"] if isinstance(findings, dict) else findings
        assert any(f["severity"] == "error" for f in rows), result.output


@FUZZ
@given(data=mutated_file(EXAMPLE_MANIFESTS))
def test_policy_matrix_exits_0_2_or_3(workspace: Path, data: tuple[Path, bytes]) -> None:
    with _mutated_manifest(workspace, data):
        result = run(
            ["policy", "matrix", "-o", "json", *(str(workspace / n) for n in MANIFEST_FOLDERS)]
        )
    assert_no_traceback(result, {0, 2, 3})
