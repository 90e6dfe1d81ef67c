"""Development-cluster errors.

HarnessError
 +-- KubeBinariesMissing   the pinned binaries are not built (test fixtures turn this into a skip)
 +-- ApiServerStartError   etcd or kube-apiserver did not come up; carries the log tail
 +-- DevApiError           the apiserver answered a request with an error status
 +-- RealNodeUnavailable   this machine cannot run a real node (not root, a missing binary,
 |                         package or kernel feature); the message names what is missing
 +-- RealNodeStartError    a real node's process did not come up; carries the log tail
"""

from __future__ import annotations


class HarnessError(Exception):
    """Root of the development-cluster errors."""


class KubeBinariesMissing(HarnessError):
    """The pinned etcd/kube-apiserver/kubectl are not built yet."""


class ApiServerStartError(HarnessError):
    """etcd or kube-apiserver did not come up; the message carries the log tail."""


class DevApiError(HarnessError):
    """A request to the development apiserver failed; `status` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class RealNodeUnavailable(HarnessError):
    """This machine cannot run a real node; the message names everything missing."""


class RealNodeStartError(HarnessError):
    """containerd, the kubelet or kube-router did not come up in time (with the log tail)."""
