"""The one place that turns errors into messages and exit codes.

Exit codes (documented for workflows that branch on them):
0 success; 1 unexpected internal error; 2 bad configuration or input;
3 policy/validation error; 4 git; 5 cluster/apply; 6 smoke tests failed;
7 gate closed (outside a window, or held); 8 approval/auth refused;
9 state store; 10 notification; 64 command not built yet.
Lint and gate style commands may also use 1 for "findings present".
"""

from __future__ import annotations

import sys
from typing import Any

import click

from rollout.errors import RolloutError

EXIT_OK = 0
EXIT_INTERNAL = 1


class RolloutGroup(click.Group):
    """A click group that reports RolloutError as a message, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RolloutError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
