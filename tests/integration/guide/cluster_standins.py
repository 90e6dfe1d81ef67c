"""What a real cluster provides and the dev apiserver lacks, for the guide's test.

The dev apiserver has no controller-manager, no kubelet and no cluster DNS.
A kind cluster has all three, and the guide relies on them without ever
writing them (it must never touch cluster services). Here they are played
from outside the guide, the way the cluster itself would:

* `Controllers`: the ServiceAccount controller's `default` account in every
  namespace (pods are refused without it), and the Deployment controller: one
  Pod per Deployment (from its template) and the Deployment's status, so
  `kubectl rollout status` finishes;
* `cluster_dns`: a `k8s-app=kube-dns` pod in kube-system, like CoreDNS;
* the pods are run by `rollout.devcluster.simulated_node.SimulatedNode`, whose
  connectivity is the policy engine's verdict (what an enforcing plugin does).
"""

from __future__ import annotations

import threading
from typing import Any

from rollout.devcluster.errors import DevApiError
from rollout.devcluster.kubeapi import RestClient

JSON = dict[str, Any]


def cluster_dns(rest: RestClient) -> None:
    """The cluster's DNS pod (what kind's CoreDNS Deployment runs)."""
    rest.create(
        "/api/v1/namespaces/kube-system/pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "coredns-cluster", "labels": {"k8s-app": "kube-dns"}},
            "spec": {
                "automountServiceAccountToken": False,
                "containers": [
                    {
                        "name": "coredns",
                        "image": "registry.k8s.io/coredns/coredns:v1.11.3",
                        "ports": [{"containerPort": 53, "protocol": "UDP"}],
                    }
                ],
            },
        },
    )


class Controllers:
    """Plays the ServiceAccount and Deployment controllers of kube-controller-manager."""

    def __init__(self, rest: RestClient, *, poll_interval: float = 0.2) -> None:
        self._rest = rest
        self._poll_interval = poll_interval
        self._done: set[str] = set()  # uid@generation
        self._accounts: set[str] = set()  # namespaces with their default ServiceAccount
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="deployments", daemon=True)
        self.errors: list[str] = []

    def __enter__(self) -> Controllers:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                for namespace in self._rest.get("/api/v1/namespaces").get("items", []):
                    self._default_account(namespace["metadata"]["name"])
                for deployment in self._rest.get("/apis/apps/v1/deployments").get("items", []):
                    self._reconcile(deployment)
            except DevApiError as exc:
                self.errors.append(str(exc))
            self._stop.wait(self._poll_interval)

    def _default_account(self, namespace: str) -> None:
        if namespace in self._accounts:
            return
        self._rest.create(
            f"/api/v1/namespaces/{namespace}/serviceaccounts", {"metadata": {"name": "default"}}
        )
        self._accounts.add(namespace)

    def _reconcile(self, deployment: JSON) -> None:
        meta = deployment["metadata"]
        generation = int(meta.get("generation") or 1)
        mark = f"{meta['uid']}@{generation}"
        if mark in self._done:
            return
        namespace, name = meta["namespace"], meta["name"]
        template = deployment["spec"]["template"]
        self._rest.create(
            f"/api/v1/namespaces/{namespace}/pods",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"{name}-0",
                    "labels": dict(template["metadata"].get("labels") or {}),
                },
                "spec": {**template["spec"], "automountServiceAccountToken": False},
            },
        )
        replicas = int(deployment["spec"].get("replicas", 1))
        self._rest.merge_patch(
            f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status",
            {
                "status": {
                    "observedGeneration": generation,
                    "replicas": replicas,
                    "updatedReplicas": replicas,
                    "readyReplicas": replicas,
                    "availableReplicas": replicas,
                }
            },
        )
        self._done.add(mark)
