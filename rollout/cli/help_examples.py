"""The Examples section every command's help ends with (click only: cheap to import).

`rollout X -h` ends with a few command lines a user can adapt; a unit test
walks the command table and checks each command has them and that each
example parses with the command's own options.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

C = TypeVar("C", bound=click.Command)


def examples_text(*lines: str) -> str:
    """The epilog: `Examples:` and the lines, kept as written (`\\b`)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def examples(*lines: str) -> Callable[[C], C]:
    """Decorate a click command (put it above `@click.command`) with its examples."""

    def decorate(command: C) -> C:
        command.epilog = examples_text(*lines)
        return command

    return decorate
