"""Every validation error names the object and its source file, and nothing is
written: static checks before the cluster is contacted, then a server-side dry
run whose refusal (a namespace being deleted) stops the apply before the first write.
Rules the apiserver applies to the objects themselves (an invalid CIDR) are static."""

from __future__ import annotations

import pytest

from rollout.errors import ValidationError
from rollout.kube.apply import KubeCluster
from tests.integration.apply import driver
from tests.integration.apply.conftest import Setup
from tests.integration.apply.policy_repo import PolicyRepo, policy

pytestmark = pytest.mark.integration

BAD = "k8s/network-policies/overlays/staging/bad.yaml:1"


def _no_policies(cluster: KubeCluster, namespace: str) -> bool:
    path = f"/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies"
    return cluster.client.request("GET", path)["items"] == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("apiVersion: v1\nkind: NetworkPolicy\n  metadata: x\n", "bad.yaml:3: YAML does not parse"),
        (
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {}\n",
            "missing metadata.name",
        ),
        ("kind: NetworkPolicy\nmetadata: {name: x, namespace: NS}\n", "missing apiVersion"),
        (
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: NS}\n",
            f"Secret/NS/s ({BAD}): kind Secret is not allowed",
        ),
        (
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
            "metadata: {name: x, namespace: kube-system}\nspec: {podSelector: {}}\n",
            f"NetworkPolicy/kube-system/x ({BAD}): namespace kube-system is not managed",
        ),
        (
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
            "metadata: {name: x, namespace: NS}\n"
            "spec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]}\n",
            f"NetworkPolicy/NS/x ({BAD}): spec.ingress[0].from[0].ipBlock.cidr: '10.0.0.0/33'",
        ),
    ],
    ids=[
        "parse-error",
        "no-name",
        "no-apiversion",
        "kind-not-allowed",
        "unmanaged-namespace",
        "invalid-cidr",
    ],
)
def test_static_validation_errors(
    repo: PolicyRepo,
    setup: Setup,
    cluster: KubeCluster,
    namespaces: list[str],
    content: str,
    expected: str,
) -> None:
    shop, _ = namespaces
    repo.write("good.yaml", policy("fine", shop))
    repo.write("bad.yaml", content.replace("NS", shop))
    sha = repo.commit()
    with pytest.raises(ValidationError) as err:
        driver.apply(setup, cluster, sha)
    assert expected.replace("NS", shop) in str(err.value)
    assert _no_policies(cluster, shop)


def test_duplicate_objects_name_both_files(
    repo: PolicyRepo, setup: Setup, cluster: KubeCluster, namespaces: list[str]
) -> None:
    shop, _ = namespaces
    repo.write("a.yaml", policy("same", shop))
    repo.write("b.yaml", policy("same", shop, ports=(81,)))
    with pytest.raises(ValidationError) as err:
        driver.apply(setup, cluster, repo.commit())
    assert f"NetworkPolicy/{shop}/same" in str(err.value)
    assert "b.yaml:1): duplicate object (also defined in" in str(err.value)
    assert "a.yaml:1" in str(err.value)
    assert _no_policies(cluster, shop)


def test_dry_run_refusal_stops_the_apply_before_any_write(
    repo: PolicyRepo, setup: Setup, cluster: KubeCluster, namespaces: list[str]
) -> None:
    shop, pay = namespaces
    # Valid offline (the static checks pass it); the cluster refuses it: its
    # namespace is being deleted.
    repo.write("a.yaml", *(policy(f"ok-{i}", shop) for i in range(5)))
    repo.write("z.yaml", policy("refused", pay))
    sha = repo.commit()
    cluster.client.request("DELETE", f"/api/v1/namespaces/{pay}")
    before = cluster.client.writes
    with pytest.raises(ValidationError) as err:
        driver.apply(setup, cluster, sha)
    message = str(err.value)
    assert f"NetworkPolicy/{pay}/refused" in message and "z.yaml" in message
    assert "terminat" in message and "nothing was written" in message
    assert _no_policies(cluster, shop) and _no_policies(cluster, pay)
    # Only dry-run PATCHes were sent; no state marker either.
    assert cluster.client.writes - before == 6
    assert driver.state(setup, cluster).read() is None
