"""Re-export: the errors moved to `rollout.devcluster.errors` (tree in its docstring)."""

from rollout.devcluster.errors import (
    ApiServerStartError,
    DevApiError,
    HarnessError,
    KubeBinariesMissing,
)

__all__ = ["ApiServerStartError", "DevApiError", "HarnessError", "KubeBinariesMissing"]
