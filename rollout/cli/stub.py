"""Commands that are not built yet say so plainly and exit non-zero."""

from __future__ import annotations

import click

from rollout.errors import NotBuiltError


def not_built(name: str, help_text: str, *, path: str | None = None) -> click.Command:
    """A command named `name` that refuses to pretend it works."""

    @click.command(
        name=name,
        help=f"{help_text} (not built yet)",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    def command() -> None:
        raise NotBuiltError(f"'rollout {path or name}' is not built yet")

    return command
