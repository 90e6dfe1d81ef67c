"""`rollout status`."""

from __future__ import annotations

from rollout.cli.stub import not_built

command = not_built("status", "Show rollouts and deliveries")
