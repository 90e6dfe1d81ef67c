"""`rollout demo`."""

from __future__ import annotations

from rollout.cli.stub import not_built

command = not_built("demo", "Run the whole flow on an embedded example")
