"""Every secret a configuration references, resolved: for masking in logs.

`rollout serve` hands these to the log formatter, so a secret's value is
masked wherever it appears, not only where it has a recognisable shape (a
GitHub webhook secret or a Slack signing secret has none).
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel

from rollout.config.schema.types import SecretRef
from rollout.errors import ConfigError


def secret_refs(model: BaseModel) -> Iterator[SecretRef]:
    """Every `SecretRef` in `model`, depth first."""
    for name in type(model).model_fields:
        yield from _refs_in(getattr(model, name))


def _refs_in(value: object) -> Iterator[SecretRef]:
    if isinstance(value, SecretRef):
        yield value
    elif isinstance(value, BaseModel):
        yield from secret_refs(value)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _refs_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _refs_in(item)


def resolved_secret_values(model: BaseModel) -> list[str]:
    """The values of the secrets that resolve now (unavailable ones are skipped)."""
    values: list[str] = []
    for ref in secret_refs(model):
        try:
            values.append(ref.resolve())
        except ConfigError:
            continue
    return values
