"""The test harness runs a real kube-apiserver: NetworkPolicy CRUD and
server-side apply, RBAC-limited ServiceAccount kubeconfigs, and independent
second clusters all behave as on a real cluster."""

from __future__ import annotations

import json
import ssl
import subprocess
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import urllib3
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from tests.harness import ApiServer

pytestmark = pytest.mark.integration

FIELD_MANAGER = "netpol-rollout-test"


def _policy(name: str, port: int) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name},
        "spec": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"protocol": "TCP", "port": port}]}],
        },
    }


def _server_side_apply(api: k8s.ApiClient, namespace: str, body: dict[str, Any]) -> Any:
    # The generated patch_* methods always pick the first content type
    # (json-patch), so the apply patch goes through call_api directly.
    return api.call_api(
        "/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies/{name}",
        "PATCH",
        path_params={"namespace": namespace, "name": body["metadata"]["name"]},
        query_params=[("fieldManager", FIELD_MANAGER), ("force", "true")],
        header_params={
            "Content-Type": "application/apply-patch+yaml",
            "Accept": "application/json",
        },
        body=body,
        response_type="V1NetworkPolicy",
        auth_settings=["BearerToken"],
        _return_http_data_only=True,
    )


def test_networkpolicy_create_read_apply_delete(apiserver: ApiServer, kube_namespace: str) -> None:
    with apiserver.client() as api:
        net = k8s.NetworkingV1Api(api)
        net.create_namespaced_network_policy(kube_namespace, _policy("allow-web", 80))
        read = net.read_namespaced_network_policy("allow-web", kube_namespace)
        assert read.spec.ingress[0].ports[0].port == 80

        applied = _server_side_apply(api, kube_namespace, _policy("allow-web", 8080))
        assert applied.spec.ingress[0].ports[0].port == 8080
        managers = {(m.manager, m.operation) for m in applied.metadata.managed_fields}
        assert (FIELD_MANAGER, "Apply") in managers

        # Apply also creates: the rollout's usual path for new policies.
        created = _server_side_apply(api, kube_namespace, _policy("allow-api", 443))
        assert created.metadata.managed_fields[0].manager == FIELD_MANAGER

        net.delete_namespaced_network_policy("allow-web", kube_namespace)
        names = [p.metadata.name for p in net.list_namespaced_network_policy(kube_namespace).items]
        assert names == ["allow-api"]
        with pytest.raises(ApiException) as missing:
            net.read_namespaced_network_policy("allow-web", kube_namespace)
        assert missing.value.status == 404


def test_service_account_is_limited_to_its_rules(apiserver: ApiServer) -> None:
    suffix = uuid.uuid4().hex[:6]
    own = apiserver.create_namespace(f"sa-own-{suffix}", labels={"team": "netpol"})
    other = apiserver.create_namespace(f"sa-other-{suffix}")
    kubeconfig = apiserver.service_account_kubeconfig(
        own,
        "deployer",
        rules=[
            {
                "apiGroups": ["networking.k8s.io"],
                "resources": ["networkpolicies"],
                "verbs": ["get", "list", "create"],
            }
        ],
    )
    with apiserver.client(kubeconfig) as api:
        net = k8s.NetworkingV1Api(api)
        net.create_namespaced_network_policy(own, _policy("from-sa", 80))
        assert [p.metadata.name for p in net.list_namespaced_network_policy(own).items] == [
            "from-sa"
        ]

        with pytest.raises(ApiException) as other_ns:
            net.list_namespaced_network_policy(other)
        assert other_ns.value.status == 403
        with pytest.raises(ApiException) as pods:
            k8s.CoreV1Api(api).list_namespaced_pod(own)
        assert pods.value.status == 403
        assert f"system:serviceaccount:{own}:deployer" in json.loads(pods.value.body)["message"]


def test_cluster_wide_service_account_sees_all_namespaces(apiserver: ApiServer) -> None:
    home = f"sa-viewer-{uuid.uuid4().hex[:6]}"
    kubeconfig = apiserver.service_account_kubeconfig(
        home,
        "viewer",
        rules=[
            {
                "apiGroups": ["networking.k8s.io"],
                "resources": ["networkpolicies"],
                "verbs": ["list"],
            }
        ],
        cluster_wide=True,
    )
    with apiserver.client(kubeconfig) as api:
        k8s.NetworkingV1Api(api).list_network_policy_for_all_namespaces()
        with pytest.raises(ApiException) as create:
            k8s.NetworkingV1Api(api).create_namespaced_network_policy(home, _policy("nope", 80))
        assert create.value.status == 403


def test_pods_can_be_created_in_harness_namespaces(
    apiserver: ApiServer, kube_namespace: str
) -> None:
    # ServiceAccount admission is on; create_namespace() made the `default` SA.
    pod = {
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "registry.k8s.io/pause:3.10"}]},
    }
    with apiserver.client() as api:
        created = k8s.CoreV1Api(api).create_namespaced_pod(kube_namespace, pod)
    assert created.spec.service_account_name == "default"


def test_kubectl_talks_to_the_pinned_server(apiserver: ApiServer) -> None:
    result = subprocess.run(
        [
            str(apiserver.binaries.kubectl),
            "--kubeconfig",
            str(apiserver.kubeconfig_path),
            "version",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    versions = json.loads(result.stdout)
    assert versions["serverVersion"]["gitVersion"] == "v1.34.4"
    assert versions["clientVersion"]["gitVersion"] == "v1.34.4"


def test_second_apiserver_is_independent(
    apiserver: ApiServer, apiserver_factory: Callable[..., ApiServer]
) -> None:
    production = apiserver_factory(name="production")
    try:
        assert production.url != apiserver.url
        production.create_namespace("only-in-production")
        with apiserver.client() as staging_api, production.client() as production_api:
            staging_names = {
                n.metadata.name for n in k8s.CoreV1Api(staging_api).list_namespace().items
            }
            prod_names = {
                n.metadata.name for n in k8s.CoreV1Api(production_api).list_namespace().items
            }
        assert "only-in-production" in prod_names
        assert "only-in-production" not in staging_names

        # Separate PKIs: one cluster's CA does not vouch for the other's server.
        context = ssl.create_default_context(cafile=str(apiserver.ca_path))
        with (
            pytest.raises(urllib3.exceptions.SSLError),
            urllib3.PoolManager(ssl_context=context, retries=False) as pool,
        ):
            pool.request("GET", f"{production.url}/version")
    finally:
        production.stop()
    assert production.workdir is None
