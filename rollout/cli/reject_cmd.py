"""`rollout reject`."""

from __future__ import annotations

from rollout.cli.stub import not_built

command = not_built("reject", "Reject a rollout")
