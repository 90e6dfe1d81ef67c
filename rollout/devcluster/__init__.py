"""A development cluster on this machine: real etcd + kube-apiserver processes
(`ApiServer`), their binaries (`KubeBinaries`) and a simulated node that plays
the kubelet for smoke-test pods. Used by `rollout demo` and the integration tests.
"""

from rollout.devcluster.apiserver import ApiServer
from rollout.devcluster.binaries import KubeBinaries
from rollout.devcluster.errors import (
    ApiServerStartError,
    DevApiError,
    HarnessError,
    KubeBinariesMissing,
)

__all__ = [
    "ApiServer",
    "ApiServerStartError",
    "DevApiError",
    "HarnessError",
    "KubeBinaries",
    "KubeBinariesMissing",
]
