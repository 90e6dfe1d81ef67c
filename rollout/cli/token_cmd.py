"""`rollout token`."""

from __future__ import annotations

from rollout.cli.stub import not_built

command = not_built("token", "Manage member API tokens")
