"""`rollout smoke`."""

from __future__ import annotations

from rollout.cli.stub import not_built

command = not_built("smoke", "Run the smoke tests of an environment")
