"""`rollout serve`."""

from __future__ import annotations

from rollout.cli.stub import not_built

command = not_built("serve", "Run the service: watch the policy repository and drive rollouts")
