"""Inside GitHub Actions the CLI leaves a job summary, step outputs and annotations.

A runner is simulated: GITHUB_ACTIONS=true, and GITHUB_STEP_SUMMARY /
GITHUB_OUTPUT naming files, as a real runner provides them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from rollout.cli import actions
from rollout.cli.exits import RolloutGroup, error_location
from rollout.cli.main import cli
from rollout.errors import ConfigError, PolicyError, RolloutError


@pytest.fixture
def runner_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    summary = tmp_path / "step_summary.md"
    output = tmp_path / "output.txt"
    summary.touch()
    output.touch()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.chdir(tmp_path)
    return {"summary": summary, "output": output}


def parse_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT as the runner reads it: name=value and name<<DELIM heredocs."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            values[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
            continue
        if line:
            name, value = line.split("=", 1)
            values[name] = value
        i += 1
    return values


# --- the helpers --------------------------------------------------------------


def test_outside_actions_nothing_is_written(tmp_path: Path) -> None:
    summary = tmp_path / "s.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(tmp_path / "o")}
    assert not actions.in_actions(env)
    assert actions.write_summary("# hi", environ=env) is False
    assert actions.set_output("x", "1", environ=env) is False
    assert actions.annotate_error("boom", environ=env) is False
    assert actions.report_to_actions("lint", "ok", {"a": 1}, environ=env) is False
    assert not summary.exists()


def test_summary_is_appended_as_markdown(runner_env: dict[str, Path]) -> None:
    actions.write_summary("first")
    actions.write_summary("## second\n")
    assert runner_env["summary"].read_text() == "first\n## second\n"


def test_outputs_single_and_multi_line(runner_env: dict[str, Path]) -> None:
    actions.set_output("sha", "abc123")
    body = "line one\nline two\nsha=injected"
    actions.set_output("diff", body)
    text = runner_env["output"].read_text()
    assert text.startswith("sha=abc123\ndiff<<ghadelimiter_")
    assert parse_outputs(text) == {"sha": "abc123", "diff": body}


def test_output_names_that_would_corrupt_the_file_are_refused(
    runner_env: dict[str, Path],
) -> None:
    for bad in ("", "a=b", "a\nb", "a<<b"):
        with pytest.raises(ValueError):
            actions.set_output(bad, "x")


def test_annotation_escapes_data_and_properties(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"GITHUB_ACTIONS": "true"}
    actions.annotate_error(
        "100% broken\r\nsecond line",
        file="k8s/a,b:c.yaml",
        line=12,
        title="rollout: lint, NP003",
        environ=env,
    )
    assert capsys.readouterr().err == (
        "::error file=k8s/a%2Cb%3Ac.yaml,line=12,title=rollout%3A lint%2C NP003"
        "::100%25 broken%0D%0Asecond line\n"
    )


def test_line_without_file_is_left_out(capsys: pytest.CaptureFixture[str]) -> None:
    actions.annotate_error("no file", line=3, environ={"GITHUB_ACTIONS": "true"})
    assert capsys.readouterr().err == "::error::no file\n"


def test_report_to_actions_writes_a_section_and_outputs(runner_env: dict[str, Path]) -> None:
    table = "| finding | object |\n|---|---|\n| NP003 | NetworkPolicy/a/b |"
    assert actions.report_to_actions("policy lint", table, {"errors": 1, "clean": False})
    assert runner_env["summary"].read_text() == f"### rollout policy lint\n\n{table}\n"
    assert parse_outputs(runner_env["output"].read_text()) == {
        "command": "policy lint",
        "errors": "1",
        "clean": "false",
    }


# --- the CLI's error path ------------------------------------------------------


def _group_raising(error: RolloutError) -> click.Group:
    @click.group(cls=RolloutGroup)
    def root() -> None:
        pass

    @root.command()
    def fail() -> None:
        raise error

    return root


def test_cli_error_becomes_an_annotation_on_file_and_line(runner_env: dict[str, Path]) -> None:
    error = PolicyError(
        "NetworkPolicy/db/x: spec.ingress[0].ports[0].port: expected 1-65535",
        file="k8s/network-policies/production/database-access.yaml",
        line=27,
    )
    result = CliRunner().invoke(_group_raising(error), ["fail"])
    assert result.exit_code == 3
    # `:` is escaped in properties (the title), not in the message. Standard
    # output is left to the command's own output (`-o sarif > lint.sarif`).
    assert result.stdout == ""
    assert result.stderr == (
        "error: NetworkPolicy/db/x: spec.ingress[0].ports[0].port: expected 1-65535\n"
        "::error file=k8s/network-policies/production/database-access.yaml,line=27,"
        "title=rollout%3A PolicyError::"
        "NetworkPolicy/db/x: spec.ingress[0].ports[0].port: expected 1-65535\n"
    )


def test_no_annotation_outside_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    result = CliRunner().invoke(_group_raising(ConfigError("bad", file="x.yaml")), ["fail"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "error: bad\n"


def test_config_yaml_error_points_at_its_line(runner_env: dict[str, Path]) -> None:
    Path("rollout.yaml").write_text("repository:\n  path: .\nenvironments: [\n")
    result = CliRunner().invoke(cli, ["config", "check", "rollout.yaml"])
    assert result.exit_code == 2
    match = re.match(
        r".*^::error file=rollout\.yaml,line=(\d+),title=rollout%3A ConfigError::",
        result.stderr,
        re.S | re.M,
    )
    assert match, result.stderr
    assert int(match[1]) >= 3


def test_config_schema_error_points_at_the_file(runner_env: dict[str, Path]) -> None:
    Path("rollout.yaml").write_text("repository: {path: .}\nenvironments: []\n")
    result = CliRunner().invoke(cli, ["config", "check", "rollout.yaml"])
    assert result.exit_code == 2
    annotations = [line for line in result.stderr.splitlines() if line.startswith("::")]
    # Details stay in one annotation, their line breaks escaped.
    assert len(annotations) == 1
    assert annotations[0].startswith("::error file=rollout.yaml,title=rollout%3A ConfigError::")
    assert "environments" in annotations[0]


def test_malformed_manifest_in_lint_points_at_file_and_line(runner_env: dict[str, Path]) -> None:
    Path("bad.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a\n")
    result = CliRunner().invoke(cli, ["policy", "lint", "bad.yaml"])
    assert result.exit_code == 3
    assert re.search(r"^::error file=bad\.yaml,line=\d+,", result.stderr, re.M), result.stderr


def test_a_message_that_only_looks_like_a_path_is_not_a_location(tmp_path: Path) -> None:
    assert error_location(ConfigError("missing.yaml:3: gone")) == (None, None)
    real = tmp_path / "here.yaml"
    real.write_text("")
    assert error_location(ConfigError(f"{real}:3:1: bad")) == (str(real), 3)
    assert error_location(ConfigError(f"{real}: bad")) == (str(real), None)
    assert error_location(ConfigError("x", file="f.yaml", line=9)) == ("f.yaml", 9)


def test_real_subprocess_in_a_simulated_runner(tmp_path: Path) -> None:
    (tmp_path / "rollout.yaml").write_text("environments: nope\n")
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    env = {
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "rollout", "config", "check", "rollout.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: rollout.yaml:")
    assert "\n::error file=rollout.yaml,title=rollout%3A ConfigError::" in proc.stderr


def test_policy_lint_and_diff_report_to_the_job(runner_env: dict[str, Path]) -> None:
    policy = (
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: allow-web, namespace: shop}\n"
        "spec:\n  podSelector: {matchLabels: {app: web}}\n"
        "  ingress: [{from: [{podSelector: {matchLabels: {app: api}}}]}]\n"
    )
    pods = "".join(
        f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {app}, namespace: shop, "
        f"labels: {{app: {app}}}}}\nspec: {{containers: [{{name: c, image: x}}]}}\n"
        for app in ("web", "api", "db")
    )
    namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"
    for folder, content in (("old", ""), ("new", policy)):
        Path(folder).mkdir()
        Path(folder, "objects.yaml").write_text(namespace + pods + content)

    lint = CliRunner().invoke(cli, ["policy", "lint", "new"])
    diff = CliRunner().invoke(cli, ["policy", "diff", "old", "new", "--port", "80/TCP"])

    assert diff.exit_code == 0, diff.output
    summary = runner_env["summary"].read_text()
    assert "### rollout policy lint" in summary and "| severity | rule |" in summary
    assert "### rollout policy diff" in summary
    outputs = parse_outputs(runner_env["output"].read_text())
    assert outputs["command"] == "policy diff"
    assert int(outputs["closed"]) > 0 and outputs["opened"] == "0"
    assert lint.exit_code in (0, 1)
