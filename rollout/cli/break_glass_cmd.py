"""`rollout break-glass ID` (defined with `hold` in `rollout.cli.hold_cmd`)."""

from rollout.cli.hold_cmd import break_glass_command as command

__all__ = ["command"]
