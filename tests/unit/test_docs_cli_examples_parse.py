"""Every `rollout ...` command line in the docs' shell examples names a real
command and options it accepts, with the arguments it requires: parsed by the
CLI itself (click's own parser, nothing run)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from rollout.cli.main import cli

ROOT = Path(__file__).parents[2]
BLOCK = re.compile(r"^```(?:sh|bash|console|shell)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _examples() -> list[tuple[str, str]]:
    found = []
    for path in sorted([*ROOT.glob("docs/*.md"), ROOT / "README.md"]):
        for block in BLOCK.findall(path.read_text()):
            joined = re.sub(r"\\\n\s*", " ", block)
            for line in joined.splitlines():
                line = line.strip().removeprefix("$ ")
                if line.startswith("rollout "):
                    found.append((f"{path.name}: {line}", line))
    return found


EXAMPLES = _examples()


def _words(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|;&<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words = []
    for word in lexer:
        if word and set(word) <= set("|;&<>"):
            break  # a pipe or redirection ends the command
        words.append(word)
    return words[1:]


@pytest.fixture(autouse=True)
def _api_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The API commands' lines rely on the documented ROLLOUT_SERVER/ROLLOUT_TOKEN
    # (the guide exports ROLLOUT_SERVER before using them).
    monkeypatch.setenv("ROLLOUT_SERVER", "http://127.0.0.1:8787")
    monkeypatch.setenv("ROLLOUT_TOKEN", "token")


def test_the_docs_have_cli_examples() -> None:
    assert len(EXAMPLES) > 20


@pytest.mark.parametrize("line", [line for _, line in EXAMPLES], ids=[i for i, _ in EXAMPLES])
def test_a_documented_command_line_parses(line: str) -> None:
    args = _words(line)
    command: click.Command = cli
    ctx = click.Context(cli, info_name="rollout")
    while isinstance(command, click.Group) and args and not args[0].startswith("-"):
        sub = command.get_command(ctx, args[0])
        assert sub is not None, f"no command {args[0]!r} in: {line}"
        command, args = sub, args[1:]
        ctx = click.Context(command, info_name=command.name, parent=ctx)
    if "--help" in args or "-h" in args or "--version" in args:
        return
    command.make_context(command.name or "rollout", list(args), parent=ctx.parent)
