"""`rollout config check [FILE]`: validate a configuration file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from rollout.cli.exits import RolloutGroup
from rollout.cli.help_examples import examples
from rollout.cli.options import CONFIG_ENVVAR, DEFAULT_CONFIG, load_settings, secret_refs
from rollout.config import Settings
from rollout.errors import ConfigError


@examples(
    "rollout config check",
    "rollout config check -c rollout.yaml",
)
@click.group(name="config", cls=RolloutGroup)
def command() -> None:
    """Check the configuration file."""


@command.command(name="check")
@click.argument(
    "file",
    required=False,
    default=DEFAULT_CONFIG,
    envvar=CONFIG_ENVVAR,
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option(
    "-c",
    "--config",
    "config_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The configuration file (as with every other command); same as FILE.",
)
def check(file: Path, config_path: Path | None) -> None:
    """Validate FILE (default: $ROLLOUT_CONFIG, else ./rollout.yaml).

    Prints a one-line summary, a warning for approvals or windows set on the
    first environment (applied automatically, so they never apply), and one
    for each secret reference whose environment variable or file is not
    available here (never a value).
    Exit 2 with one line per problem if the file is invalid (holiday country
    codes the `holidays` package does not know included).

    \b
    Examples:
      rollout config check
      rollout config check rollout.yaml
      rollout config check -c rollout.yaml
    """
    file = config_path or file
    settings = load_settings(file)
    from rollout.windows_rules import holiday_problems  # the holidays package, only here

    problems = holiday_problems(settings, datetime.now(UTC).year)
    if problems:
        raise ConfigError(
            f"{file}: {len(problems)} problem(s)", details=[f"{file}: {p}" for p in problems]
        )
    click.echo(summary(file, settings))
    for line in [
        *ignored_rules_warnings(settings),
        *identity_warnings(settings),
        *secret_warnings(settings),
    ]:
        click.echo(line, err=True)


def summary(file: Path, settings: Settings) -> str:
    names = ", ".join(env.name for env in settings.environments)
    environments = len(settings.environments)
    members = len(settings.team.members)
    return (
        f"ok: {file} ({environments} environment{'s' if environments != 1 else ''}: {names}; "
        f"{members} member{'s' if members != 1 else ''})"
    )


def ignored_rules_warnings(settings: Settings) -> list[str]:
    """The first environment is applied automatically: its approvals and windows never apply."""
    first = settings.environments[0]
    return [
        f"warning: environments[0].{field}: {first.name} is the first environment, applied "
        "automatically on every commit; its "
        f"{field} are ignored (put them on a later environment)"
        for field in ("approvals", "windows")
        if getattr(first, field) is not None
    ]


def identity_warnings(settings: Settings) -> list[str]:
    """Members known by their name alone: self-approval checks then recognise their commits
    only by the author name or an email whose local part is that name."""
    guarded = [
        env.name
        for env in settings.environments[1:]  # the first one's approvals never apply
        if env.approvals is not None and not env.approvals.allow_self_approval
    ]
    if not guarded:
        return []
    return [
        f"warning: team.members[{i}] ({m.name}): no email, alias or GitHub login, so commits "
        f"by {m.name} are recognised only by the author name {m.name!r} or an address "
        f"{m.name}@...; self-approval in {', '.join(guarded)} cannot be prevented reliably "
        "(add `email`, `emails`, `aliases` or `github`)"
        for i, m in enumerate(settings.team.members)
        if not (m.email or m.emails or m.aliases or m.github)
    ]


def secret_warnings(settings: Settings) -> list[str]:
    """One line per secret reference that cannot be resolved here; never a value."""
    lines = []
    for path, ref in secret_refs(settings):
        if ref.is_available():
            continue
        if ref.env is not None:
            problem = f"environment variable {ref.env} is not set (or empty)"
        else:
            problem = f"file {ref.file} does not exist or is not a file"
        lines.append(f"warning: {path}: secret {problem}")
    return lines
