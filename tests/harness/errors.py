"""Harness errors.

HarnessError
 +-- KubeBinariesMissing   the pinned binaries are not built (fixtures turn this into a skip)
 +-- ApiServerStartError   etcd or kube-apiserver did not come up; carries the log tail
"""


class HarnessError(Exception):
    """Root of the harness errors."""


class KubeBinariesMissing(HarnessError):
    """The pinned etcd/kube-apiserver/kubectl are not built yet."""


class ApiServerStartError(HarnessError):
    """etcd or kube-apiserver did not come up; the message carries the log tail."""
