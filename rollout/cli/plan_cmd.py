"""`rollout plan`."""

from __future__ import annotations

from rollout.cli.stub import not_built

command = not_built("plan", "Show what an apply would change, with the connectivity diff")
