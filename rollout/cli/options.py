"""Options and helpers shared by several commands (written once, here)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from rollout.errors import InputError

if TYPE_CHECKING:  # the schema (pydantic) loads when a command reads settings
    from pydantic import BaseModel

    from rollout.config import SecretRef, Settings

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


MACHINE_FORMATS = ("json", "yaml")


class OutputChoice(click.Choice):  # type: ignore[type-arg]  # generic only from click 8.2
    """`-o`: table|json|yaml plus a command's own formats; `text` is taken for `table`."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value.lower() == "text":
            value = "table"
        return super().convert(value, param, ctx)


def output_option(*extra: str) -> Callable[[F], F]:
    """The one `-o/--output` choice set: `table` (for people, the default), `json`
    and `yaml` (for programs), then `extra` formats of the command."""
    return click.option(
        "-o",
        "--output",
        type=OutputChoice(["table", "json", "yaml", *extra]),
        default="table",
        show_default=True,
        help="Output format: table for people; json or yaml for programs"
        + (f"; {', '.join(extra)}" if extra else "")
        + ".",
    )


def as_format(output: str, document: Any) -> str:
    """`document` (data, or JSON text) as `output`: JSON as it is, else YAML."""
    if output != "yaml":
        return document if isinstance(document, str) else json.dumps(document, indent=2)
    import yaml

    data = json.loads(document if isinstance(document, str) else json.dumps(document, default=str))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip("\n")


def env_option(function: F) -> F:
    """`--env NAME` (required), passed as `env_name`."""
    return click.option("--env", "env_name", required=True, help="Environment name.")(function)


CLUSTER_OVERRIDES = "rollout.cluster_overrides"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _remember(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None and param.name:
        ctx.meta.setdefault(CLUSTER_OVERRIDES, {})[param.name] = value


def cluster_options(function: F) -> F:
    """kubectl's `--kubeconfig`, `--context` and `-n/--namespace`, for commands that
    talk to a cluster. They override the configuration of the environment the
    command works on (`--env`, `--live`; every environment when none is named):
    `-n` is the namespace netpol-rollout keeps its state in, as `flux -n`."""
    options = [
        click.option(
            "--kubeconfig",
            metavar="FILE",
            expose_value=False,
            callback=_remember,
            help="Kubeconfig file to use instead of the environment's cluster.kubeconfig.",
        ),
        click.option(
            "--context",
            metavar="NAME",
            expose_value=False,
            callback=_remember,
            help="Kubeconfig context to use instead of the environment's cluster.context.",
        ),
        click.option(
            "-n",
            "--namespace",
            metavar="NS",
            expose_value=False,
            callback=_remember,
            help="Namespace netpol-rollout keeps its state in (the environment's state_namespace).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def with_cluster_overrides(
    settings: Settings, overrides: dict[str, str], env_name: str | None
) -> Settings:
    """`settings` with `--kubeconfig/--context/-n` applied to `env_name` (None: to all)."""
    namespace = overrides.get("namespace")
    if namespace is not None and not _DNS_LABEL.match(namespace):
        raise InputError(f"-n/--namespace {namespace!r}: expected a namespace name (DNS label)")
    cluster: dict[str, Any] = {}
    if "kubeconfig" in overrides:
        cluster["kubeconfig"] = Path(overrides["kubeconfig"]).expanduser().resolve()
    if "context" in overrides:
        cluster["context"] = overrides["context"]
    if cluster:
        cluster["in_cluster"] = False
    environments = []
    for env in settings.environments:
        if env_name is None or env.name == env_name:
            update: dict[str, Any] = {}
            if cluster:
                update["cluster"] = env.cluster.model_copy(update=cluster)
            if namespace is not None:
                update["state_namespace"] = namespace
            env = env.model_copy(update=update)
        environments.append(env)
    return settings.model_copy(update={"environments": type(settings.environments)(environments)})


def load_settings(path: str | Path) -> Settings:
    """Load and validate the configuration; ConfigError (exit 2) names every problem.

    Inside a command with `cluster_options`, the options given are applied.
    """
    from rollout.config import load_config

    settings = load_config(path)
    ctx = click.get_current_context(silent=True)
    overrides = ctx.meta.get(CLUSTER_OVERRIDES) if ctx is not None else None
    if not overrides:
        return settings
    assert ctx is not None
    target = None
    while ctx is not None and target is None:
        target = ctx.params.get("env_name") or ctx.params.get("live")
        ctx = ctx.parent
    return with_cluster_overrides(settings, overrides, target)


def secret_refs(settings: BaseModel, prefix: str = "") -> Iterator[tuple[str, SecretRef]]:
    """Every SecretRef in the settings, with its field path (`notifications.slack.bot_token`)."""
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        path = f"{prefix}.{name}" if prefix else name
        yield from _refs_in(value, path)


def _refs_in(value: Any, path: str) -> Iterator[tuple[str, SecretRef]]:
    from pydantic import BaseModel

    from rollout.config import SecretRef

    if isinstance(value, SecretRef):
        yield path, value
    elif isinstance(value, BaseModel):
        yield from secret_refs(value, path)
    elif isinstance(value, tuple | list):
        for index, item in enumerate(value):
            yield from _refs_in(item, f"{path}[{index}]")
