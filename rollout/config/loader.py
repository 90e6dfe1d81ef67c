"""Read `rollout.yaml`: YAML, `${VAR}` interpolation, schema, precise messages."""

from __future__ import annotations

import difflib
import os
import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pydantic

from rollout.config.schema import Settings
from rollout.errors import ConfigError
from rollout.manifests import read_text_file, yaml_document

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Load and validate the configuration file at `path`.

    Raises ConfigError with one line per problem, each naming the file and the
    field path, what was expected and what was found.
    """
    file = Path(path)
    env = os.environ if environ is None else environ
    try:
        text = read_text_file(file, str(file), error=ConfigError)
    except FileNotFoundError as exc:
        raise ConfigError(f"{file}: no such configuration file") from exc
    raw = yaml_document(text, str(file), error=ConfigError)
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: expected a mapping at the top level, got {_kind(raw)}")
    problems: list[str] = []
    data = _interpolate(raw, env, "", problems)
    if problems:
        raise ConfigError(
            f"{file}: {len(problems)} problem(s)", details=[f"{file}: {p}" for p in problems]
        )
    try:
        settings = Settings.model_validate(data)
    except pydantic.ValidationError as exc:
        lines = [f"{file}: {line}" for line in describe_errors(exc, data)]
        raise ConfigError(f"{file}: {len(lines)} problem(s)", details=lines) from None
    return _kubeconfigs_anchored(_store_anchored(settings, file), file)


_SQLITE_FILE = re.compile(r"^(sqlite(?:\+\w+)?:///)(?!/)([^?]+)(.*)$")


def _kubeconfigs_anchored(settings: Settings, file: Path) -> Settings:
    """A relative `cluster.kubeconfig` (and a fleet's `clusters[].kubeconfig`) is
    relative to the configuration file too."""
    environments = []
    for env in settings.environments:
        path = env.cluster.kubeconfig
        if path is not None and not path.expanduser().is_absolute():
            cluster = env.cluster.model_copy(update={"kubeconfig": file.resolve().parent / path})
            env = env.model_copy(update={"cluster": cluster})
        if env.clusters is not None:
            members = tuple(
                c.model_copy(update={"kubeconfig": file.resolve().parent / c.kubeconfig})
                if c.kubeconfig is not None and not c.kubeconfig.expanduser().is_absolute()
                else c
                for c in env.clusters
            )
            env = env.model_copy(update={"clusters": members})
        environments.append(env)
    return settings.model_copy(update={"environments": tuple(environments)})


def _store_anchored(settings: Settings, file: Path) -> Settings:
    """A relative `sqlite:///PATH` is relative to the configuration file, like
    `repository.path` (not to wherever the command happens to run)."""
    match = _SQLITE_FILE.match(settings.store.url)
    if match is None or match.group(2) == ":memory:":
        return settings
    prefix, path, query = match.groups()
    url = f"{prefix}{(file.resolve().parent / path).as_posix()}{query}"
    store = settings.store.model_copy(update={"url": url})
    return settings.model_copy(update={"store": store})


def _interpolate(value: Any, env: Mapping[str, str], path: str, problems: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, env, _join(path, k), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            problems.append(f"{path}: environment variable {name} is not set")
            return ""

        return _VAR.sub(substitute, value)
    return value


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _is_field(part: int | str) -> bool:
    """False for pydantic's own markers in a location (validators, union members)."""
    if isinstance(part, int):
        return True
    return not (part.startswith(("function-", "tagged-union")) or part in ("date", "datetime"))


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if not _is_field(part):
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = _join(out, part)
    return out or "(top level)"


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


# pydantic's type names, in the words of a YAML file.
_TYPE_WORDS = {
    "tuple": "a list",
    "list": "a list",
    "set": "a list",
    "frozen set": "a list",
    "dict": "a mapping",
    "model": "a mapping",
    "model attributes": "a mapping",
    "bool": "a boolean (true or false)",
    "int": "an integer",
    "float": "a number",
    "string": "a string",
    "str": "a string",
    "date": "a date (YYYY-MM-DD)",
    "datetime": "a date and time (YYYY-MM-DDTHH:MM, optionally with a UTC offset)",
    "time": "a time of day (HH:MM)",
    "timedelta": "a duration like 60s, 5m or 24h",
    "url": "a URL",
    "uuid": "a UUID",
}


def _expected(kind: str) -> str:
    name = kind.removesuffix("_type").removesuffix("_parsing").removesuffix("_from_datetime")
    name = name.replace("_", " ")
    return _TYPE_WORDS.get(name, f"{'an' if name[:1] in 'aeiou' else 'a'} {name}")


def _model_at(loc: tuple[int | str, ...]) -> type[pydantic.BaseModel] | None:
    """The model class that holds the field at `loc` (to list its known keys)."""
    model: type[pydantic.BaseModel] = Settings
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        inner = _find_model(field.annotation)
        if inner is None:
            return None
        model = inner
    return model


def _find_model(annotation: Any) -> type[pydantic.BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _find_model(arg)
        if found is not None:
            return found
    return None


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    key = loc[-1] if loc else ""
    model = _model_at(loc)
    if model is not None and isinstance(key, str):
        close = difflib.get_close_matches(key, list(model.model_fields), n=1, cutoff=0.6)
        if close:
            return f"unknown key; did you mean {close[0]!r}?"
        known = ", ".join(model.model_fields)
        return f"unknown key; expected one of: {known}"
    return "unknown key (check the spelling; see docs/configuration.md)"


def _nested_fields(loc: tuple[int | str, ...], reason: str) -> list[str]:
    """`field.path: message; ...` lines of a model validator inside the file, when every
    line starts with a field of the model at `loc` (else [])."""
    model = _model_at((*(p for p in loc if _is_field(p)), "_"))
    if model is None or model is Settings:
        return []
    lines = reason.split("; ")
    for line in lines:
        match = re.match(r"^([a-z_]+)[\w.\[\]]*: ", line)
        if match is None or match.group(1) not in model.model_fields:
            return []
    return lines


def describe_errors(exc: pydantic.ValidationError, data: Any) -> list[str]:
    """Turn pydantic's errors into `field.path: expected ..., got ...` lines."""
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        loc = _location(error["loc"])
        kind = error["type"]
        got = error.get("input")
        ctx = error.get("ctx") or {}
        if kind == "extra_forbidden":
            message = _unknown_key(tuple(p for p in error["loc"] if _is_field(p)))
        elif kind == "missing":
            message = "required, but missing"
        elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
            op = {
                "greater_than_equal": ">=",
                "greater_than": ">",
                "less_than_equal": "<=",
                "less_than": "<",
            }[kind]
            bound = next(iter(ctx.values()), "?")
            message = f"must be {op} {bound}, got {got!r}"
        elif kind in ("value_error", "assertion_error"):
            reason = str(ctx.get("error", error["msg"]))
            if loc == "(top level)" and re.match(r"^[a-z_]+[\w.\[\]]*: ", reason):
                # Cross-field checks of the whole file name their own fields.
                lines.extend(reason.split("; "))
                continue
            nested = _nested_fields(error["loc"], reason)
            if nested:  # a model's own cross-field check naming its fields
                lines.extend(f"{loc}.{line}" for line in nested)
                continue
            if re.match(r"^\[\d+\]\.", reason):  # a list validator naming the item itself
                sub, _, reason = reason.partition(": ")
                loc = f"{loc}{sub}"
            message = reason
        elif kind == "literal_error":
            message = f"expected one of {ctx.get('expected', '?')}, got {got!r}"
        elif kind.endswith("_type") or kind.endswith("_parsing"):
            message = f"expected {_expected(kind)}, got {_kind(got)} {got!r}"
        else:
            message = f"{error['msg']}, got {got!r}"
        lines.append(f"{loc}: {message}")
    return lines
