"""`rollout gate`."""

from __future__ import annotations

from rollout.cli.stub import not_built

command = not_built("gate", "Answer whether an environment may be applied to now, or when")
