"""`rollout validate`."""

from __future__ import annotations

from rollout.cli.stub import not_built

command = not_built("validate", "Render and validate a revision for an environment")
