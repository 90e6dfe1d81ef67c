"""`rollout resume ENV` (defined with `hold` in `rollout.cli.hold_cmd`)."""

from rollout.cli.hold_cmd import resume_command as command

__all__ = ["command"]
