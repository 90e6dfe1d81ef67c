"""Re-export: child processes moved to `rollout.devcluster.processes`."""

from rollout.devcluster.processes import ADDRESS_IN_USE, ManagedProcess, free_ports, http_ok

__all__ = ["ADDRESS_IN_USE", "ManagedProcess", "free_ports", "http_ok"]
