"""Test harness: a real etcd + kube-apiserver per `ApiServer` (see apiserver.py).

Load the fixtures with `pytest_plugins = ["tests.harness.fixtures"]` in tests/conftest.py.
"""

from rollout.devcluster.errors import ApiServerStartError, HarnessError, KubeBinariesMissing
from tests.harness.apiserver import ApiServer, KubeBinaries

__all__ = [
    "ApiServer",
    "ApiServerStartError",
    "HarnessError",
    "KubeBinaries",
    "KubeBinariesMissing",
]
