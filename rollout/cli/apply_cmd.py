"""`rollout apply`."""

from __future__ import annotations

from rollout.cli.stub import not_built

command = not_built("apply", "Apply a revision to an environment")
