"""The one place that turns errors into messages and exit codes.

Exit codes (documented in docs/exit-codes.md for workflows that branch on them):
0 success; 1 unexpected internal error, findings present (`policy lint`), or a
failed preflight check (`check`);
2 bad configuration or input; 3 policy/validation error; 4 git;
5 cluster/apply; 6 smoke tests failed; 7 gate closed (outside a window, or
held); 8 approval/auth refused; 9 state store; 10 notification; 11 output
could not be written in full; 141 the reader of the output went away (closed
pipe), quietly.

Inside GitHub Actions (`GITHUB_ACTIONS=true`) an error is also printed as an
`::error` annotation, pointing at the file and line the error names.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click

from rollout.cli.actions import annotate_error, in_actions
from rollout.errors import RolloutError

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_FINDINGS = 1

# `path/to/file.yaml:12:3: message` or `path/to/file.yaml: message`, as the
# loaders word their errors.
_WHERE = re.compile(r"^(?P<file>[^\s:]+?\.(?:ya?ml|json))(?::(?P<line>\d+))?(?::\d+)?: ")


def error_location(exc: RolloutError) -> tuple[str | None, int | None]:
    """The file and line to annotate: the error's own, else a leading `FILE:LINE:`.

    A location read from the message is used only when it names a file that
    exists (a message that merely starts like a path is not one).
    """
    if exc.file is not None:
        return exc.file, exc.line
    match = _WHERE.match(exc.message)
    if match is None or not Path(match["file"]).is_file():
        return None, None
    line = match["line"]
    return match["file"], int(line) if line else None


def annotate(exc: RolloutError) -> None:
    """The `::error` annotation for `exc` (only inside GitHub Actions)."""
    if not in_actions():
        return
    file, line = error_location(exc)
    annotate_error(str(exc), file=file, line=line, title=f"rollout: {type(exc).__name__}")


class RolloutGroup(click.Group):
    """A click group that reports RolloutError as a message, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RolloutError as exc:
            click.echo(f"error: {exc}", err=True)
            annotate(exc)
            sys.exit(exc.exit_code)
        except BrokenPipeError:
            from rollout.cli.output import closed_pipe_exit

            closed_pipe_exit()
