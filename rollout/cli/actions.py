"""GitHub Actions output: job summary, step outputs and error annotations.

When the CLI runs inside a GitHub Actions job (`GITHUB_ACTIONS=true`), a
command can also leave its result where a workflow reads it:

- the job summary: markdown appended to the file named by `GITHUB_STEP_SUMMARY`;
- step outputs: `name=value` (or the heredoc form for multi-line values)
  appended to the file named by `GITHUB_OUTPUT`, read as
  `steps.<id>.outputs.<name>`;
- annotations: `::error file=F,line=N,title=T::message` lines (also
  `::warning` and `::notice`), which the runner turns into marks on the pull
  request's diff. They go to standard error: the runner reads workflow
  commands from both streams, and standard output stays the command's own
  (`-o json > report.json`, `-o sarif > lint.sarif` stay valid files).

Outside Actions every function here is a no-op, so commands call them
unconditionally. The environment is a parameter (default `os.environ`) so tests
simulate a runner without touching the process environment.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

import click

__all__ = [
    "annotate",
    "annotate_error",
    "escape_data",
    "escape_property",
    "in_actions",
    "report_to_actions",
    "set_output",
    "write_summary",
]


def in_actions(environ: Mapping[str, str] | None = None) -> bool:
    """True inside a GitHub Actions job (the runner sets GITHUB_ACTIONS=true)."""
    env = os.environ if environ is None else environ
    return env.get("GITHUB_ACTIONS", "").lower() == "true"


def escape_data(text: str) -> str:
    """Escape a workflow-command message (`%`, CR, LF), as the runner unescapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow-command property value: as data, plus `:` and `,`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _append(variable: str, text: str, environ: Mapping[str, str] | None) -> bool:
    env = os.environ if environ is None else environ
    if not in_actions(env):
        return False
    target = env.get(variable)
    if not target:
        return False
    with Path(target).open("a", encoding="utf-8") as handle:
        handle.write(text)
    return True


def write_summary(markdown: str, *, environ: Mapping[str, str] | None = None) -> bool:
    """Append `markdown` to the job summary; False when not in Actions (nothing written)."""
    text = markdown if markdown.endswith("\n") else markdown + "\n"
    return _append("GITHUB_STEP_SUMMARY", text, environ)


def set_output(name: str, value: str, *, environ: Mapping[str, str] | None = None) -> bool:
    """Set step output `name`; multi-line values use the heredoc delimiter form.

    The delimiter is random, so a value cannot end the heredoc early and inject
    other outputs. False when not in Actions (nothing written).
    """
    if not name or any(c in name for c in "\r\n=<"):
        raise ValueError(f"not a valid output name: {name!r}")
    if "\n" in value or "\r" in value:
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        record = f"{name}<<{delimiter}\n{value}\n{delimiter}\n"
    else:
        record = f"{name}={value}\n"
    return _append("GITHUB_OUTPUT", record, environ)


def annotate(
    level: str,
    message: str,
    file: str | None = None,
    line: int | None = None,
    title: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> bool:
    """Print a `::LEVEL ...::message` annotation (level: error, warning or notice)
    to standard error; False when not in Actions.

    `line` is only given together with `file` (the runner ignores it otherwise).
    """
    if level not in ("error", "warning", "notice"):
        raise ValueError(f"not an annotation level: {level!r}")
    if not in_actions(environ):
        return False
    props: list[str] = []
    if file:
        props.append(f"file={escape_property(file)}")
        if line is not None:
            props.append(f"line={int(line)}")
    if title:
        props.append(f"title={escape_property(title)}")
    head = f"::{level}" + (" " + ",".join(props) if props else "")
    click.echo(f"{head}::{escape_data(message)}", file=stream, err=stream is None)
    return True


def annotate_error(
    message: str,
    file: str | None = None,
    line: int | None = None,
    title: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> bool:
    """An `::error` annotation (see `annotate`); False when not in Actions."""
    return annotate("error", message, file, line, title, environ=environ, stream=stream)


def report_to_actions(
    command_name: str,
    markdown: str,
    outputs: Mapping[str, str | int | bool] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> bool:
    """A command's result for the workflow: summary section plus step outputs.

    The summary gets `markdown` under a `### rollout COMMAND` heading; each of
    `outputs` becomes a step output (booleans as `true`/`false`), and
    `command` is always set. False when not in Actions (nothing written).
    """
    if not in_actions(environ):
        return False
    write_summary(f"### rollout {command_name}\n\n{markdown.rstrip()}\n", environ=environ)
    set_output("command", command_name, environ=environ)
    for name, value in (outputs or {}).items():
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        set_output(name, text, environ=environ)
    return True
