"""One `-o` choice set across commands: `table|json|yaml` (table the default, `text`
still taken for it) plus the command's own formats, and YAML is the JSON
document, in YAML."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from rollout.cli.main import cli
from tests.unit.cli.test_every_command_help_has_examples_that_parse import COMMAND_PATHS

WITH_OUTPUT = [
    (path, command, param)
    for path, command in COMMAND_PATHS
    for param in command.params
    if "--output" in param.opts
]


def test_the_commands_with_output_formats_are_found() -> None:
    names = {" ".join(path) for path, _, _ in WITH_OUTPUT}
    assert {"check", "status", "plan", "gate", "policy lint", "policy matrix", "smoke"} <= names


@pytest.mark.parametrize(
    ("path", "command", "param"),
    WITH_OUTPUT,
    ids=[" ".join(["rollout", *p]) for p, _, _ in WITH_OUTPUT],
)
def test_output_choices_start_with_table_json_yaml(
    path: list[str], command: click.Command, param: click.Parameter
) -> None:
    assert "-o" in param.opts
    assert isinstance(param.type, click.Choice)
    assert list(param.type.choices)[:3] == ["table", "json", "yaml"], param.type.choices
    assert param.default == "table"
    ctx = click.Context(command)
    assert param.type.convert("text", param, ctx) == "table"


POLICY = (
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
    "metadata: {name: deny, namespace: shop}\n"
    "spec: {podSelector: {}, policyTypes: [Egress]}\n"
)


@pytest.mark.parametrize("args", [["policy", "lint"], ["policy", "matrix"]])
def test_yaml_is_the_json_document(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("p.yaml").write_text(
        POLICY + "---\napiVersion: v1\nkind: Pod\n"
        "metadata: {name: web, namespace: shop, labels: {app: web}}\nspec: {}\n"
    )
    as_json = CliRunner().invoke(cli, [*args, "p.yaml", "-o", "json"])
    as_yaml = CliRunner().invoke(cli, [*args, "p.yaml", "-o", "yaml"])
    assert as_json.exit_code == as_yaml.exit_code, as_yaml.output
    assert yaml.safe_load(as_yaml.stdout) == json.loads(as_json.stdout)
    assert not as_yaml.stdout.lstrip().startswith("{")
    text = CliRunner().invoke(cli, [*args, "p.yaml", "-o", "text"])
    table = CliRunner().invoke(cli, [*args, "p.yaml", "-o", "table"])
    assert text.stdout == table.stdout
