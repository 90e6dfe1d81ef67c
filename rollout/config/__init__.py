"""Settings: the schema of `rollout.yaml` and its loading with precise errors.

`load_config(path)` reads one YAML file, interpolates `${VAR}` (and
`${VAR:-default}`) from the environment, validates the whole file against
:mod:`rollout.config.schema` and raises :class:`rollout.errors.ConfigError`
with one line per problem: `FILE: field.path: what was expected, got what`.
Secrets are never inline: secret fields are `{env: NAME}` or `{file: PATH}`
references, resolved only when an adapter needs them.
"""

from rollout.config.loader import load_config
from rollout.config.schema import (
    ApprovalRules,
    ClusterRef,
    Environment,
    Member,
    RiskRule,
    SecretRef,
    Settings,
    WindowRules,
)

__all__ = [
    "ApprovalRules",
    "ClusterRef",
    "Environment",
    "Member",
    "RiskRule",
    "SecretRef",
    "Settings",
    "WindowRules",
    "load_config",
]
