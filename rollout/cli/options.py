"""Options and helpers shared by several commands (written once, here)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import BaseModel

from rollout.config import SecretRef, Settings, load_config

CONFIG_ENVVAR = "ROLLOUT_CONFIG"
DEFAULT_CONFIG = "rollout.yaml"

F = TypeVar("F", bound=Callable[..., Any])


def config_option(function: F) -> F:
    """`--config/-c FILE` (env ROLLOUT_CONFIG, default rollout.yaml), passed as `config_path`."""
    return click.option(
        "--config",
        "-c",
        "config_path",
        envvar=CONFIG_ENVVAR,
        default=DEFAULT_CONFIG,
        show_default=True,
        show_envvar=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="The configuration file.",
    )(function)


def env_option(function: F) -> F:
    """`--env NAME` (required), passed as `env_name`."""
    return click.option("--env", "env_name", required=True, help="Environment name.")(function)


def load_settings(path: str | Path) -> Settings:
    """Load and validate the configuration; ConfigError (exit 2) names every problem."""
    return load_config(path)


def secret_refs(settings: BaseModel, prefix: str = "") -> Iterator[tuple[str, SecretRef]]:
    """Every SecretRef in the settings, with its field path (`notifications.slack.bot_token`)."""
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        path = f"{prefix}.{name}" if prefix else name
        yield from _refs_in(value, path)


def _refs_in(value: Any, path: str) -> Iterator[tuple[str, SecretRef]]:
    if isinstance(value, SecretRef):
        yield path, value
    elif isinstance(value, BaseModel):
        yield from secret_refs(value, path)
    elif isinstance(value, tuple | list):
        for index, item in enumerate(value):
            yield from _refs_in(item, f"{path}[{index}]")
