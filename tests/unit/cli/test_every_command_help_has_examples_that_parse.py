"""Every command's help, found by walking the command table (subcommands
included), ends with an Examples section; each example names that command and
parses with its own options and arguments (click's parser, nothing run)."""

from __future__ import annotations

import re

import click
import pytest

from rollout.cli.main import COMMANDS, cli
from tests.unit import test_docs_cli_examples_parse as documented


def _walk(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1] if path else "rollout")
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None
            found += _walk(sub, [*path, name])
    return found


COMMAND_PATHS = _walk(cli, [])


def _examples(command: click.Command, path: list[str]) -> list[str]:
    ctx = click.Context(command, info_name=" ".join(["rollout", *path]))
    text = command.get_help(ctx)
    parts = re.split(r"\n *Examples:\n", text, maxsplit=1)
    assert len(parts) == 2, f"rollout {' '.join(path)} -h has no Examples section"
    lines = []
    for line in parts[1].splitlines():
        if not line.strip():
            break  # the section ends at the first blank line
        lines.append(line.strip())
    return [line for line in lines if line.startswith("rollout")]


def test_the_walk_reaches_every_top_level_command_and_subcommands() -> None:
    tops = {p[0] for p, _ in COMMAND_PATHS if len(p) == 1}
    assert tops == set(COMMANDS)
    assert ["policy", "lint"] in [p for p, _ in COMMAND_PATHS]
    assert ["token", "revoke"] in [p for p, _ in COMMAND_PATHS]


@pytest.mark.parametrize(
    ("path", "command"),
    COMMAND_PATHS,
    ids=[" ".join(["rollout", *p]) for p, _ in COMMAND_PATHS],
)
def test_help_ends_with_examples_of_that_command_that_parse(
    path: list[str], command: click.Command, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The API commands' examples rely on the documented environment variables.
    monkeypatch.setenv("ROLLOUT_SERVER", "https://rollout.example.com")
    monkeypatch.setenv("ROLLOUT_TOKEN", "token")
    examples = _examples(command, path)
    assert examples, f"rollout {' '.join(path)}: the Examples section lists no command line"
    prefix = " ".join(["rollout", *path])
    if path:
        assert any(line.startswith(prefix) for line in examples), (prefix, examples)
    for line in examples:
        if "COMMAND" in documented._words(line):
            continue  # `rollout COMMAND -h`, a placeholder
        documented.test_a_documented_command_line_parses(line)
