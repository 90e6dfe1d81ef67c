"""Pods group into the workload a person names: through ReplicaSets to Deployments,
Jobs to CronJobs, StatefulSets and DaemonSets directly, bare pods by name."""

from __future__ import annotations

from typing import Any

import pytest

from rollout.errors import PolicyError
from rollout.policy import group_workloads, load_cluster
from tests.unit.policy.builders import deployment, pod


def owned(obj: dict[str, Any], kind: str, name: str, controller: bool = True) -> dict[str, Any]:
    obj["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "Other", "name": "not-me"},
        {"apiVersion": "apps/v1", "kind": kind, "name": name, "controller": controller},
    ]
    return obj


def replica_set(namespace: str, name: str, owner: str | None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"template": {"metadata": {"labels": {"app": "x"}}, "spec": {}}},
    }
    return owned(obj, "Deployment", owner) if owner else obj


def keys(*objects: dict[str, Any], externals: tuple[str, ...] = ()) -> dict[str, int]:
    model = load_cluster(list(objects), externals=externals)
    return group_workloads(model.endpoints).sizes()


def test_pods_of_two_replica_sets_of_one_deployment_are_one_workload() -> None:
    # Mid-rollout: the old and the new ReplicaSet, not among the analysed objects.
    pods = [
        owned(
            pod("shop", f"web-{h}-{i}", {"app": "web", "pod-template-hash": h}),
            "ReplicaSet",
            f"web-{h}",
        )
        for h in ("5d8f7c9b6", "7b9c6d5f4")
        for i in range(2)
    ]
    assert keys(*pods) == {"shop/web[Deployment]": 4}


def test_a_replica_set_among_the_objects_names_its_deployment() -> None:
    p = owned(pod("shop", "api-abc-1", {"app": "api"}), "ReplicaSet", "api-abc")
    rs = replica_set("shop", "api-abc", owner="api-server")
    assert keys(p, rs) == {"shop/api-server[Deployment]": 2}


def test_a_replica_set_without_a_hash_suffix_is_itself_the_workload() -> None:
    p = owned(pod("shop", "legacy-1", {"app": "legacy"}), "ReplicaSet", "legacy")
    assert keys(p) == {"shop/legacy[ReplicaSet]": 1}


def test_statefulset_daemonset_and_job_pods_group_under_their_owner() -> None:
    objs = [
        owned(pod("db", "pg-0"), "StatefulSet", "pg"),
        owned(pod("db", "pg-1"), "StatefulSet", "pg"),
        owned(pod("kube-system", "node-exporter-x1"), "DaemonSet", "node-exporter"),
        owned(pod("batch", "report-28391-abcde"), "Job", "report-28391"),
    ]
    assert keys(*objs) == {
        "db/pg[StatefulSet]": 2,
        "kube-system/node-exporter[DaemonSet]": 1,
        "batch/report-28391[Job]": 1,
    }


def test_a_job_among_the_objects_names_its_cronjob() -> None:
    job = {
        "kind": "Job",
        "metadata": {
            "name": "report-28391",
            "namespace": "batch",
            "ownerReferences": [{"kind": "CronJob", "name": "report", "controller": True}],
        },
        "spec": {"template": {"metadata": {"labels": {"app": "report"}}, "spec": {}}},
    }
    p = owned(pod("batch", "report-28391-abcde", {"app": "report"}), "Job", "report-28391")
    assert keys(job, p) == {"batch/report[CronJob]": 2}


def test_bare_pods_deployment_templates_and_external_peers_name_themselves() -> None:
    found = keys(
        pod("shop", "debug"),
        deployment("shop", "web", {"app": "web"}),
        externals=("8.8.8.0/24",),
    )
    assert found == {"shop/debug[Pod]": 1, "shop/web[Deployment]": 1, "8.8.8.0/24": 1}


def test_the_controller_reference_wins_over_earlier_owners() -> None:
    p = owned(pod("shop", "w-1"), "StatefulSet", "w")
    model = load_cluster([p])
    assert model.endpoints[0].owner == ("StatefulSet", "w")
    index = group_workloads(model.endpoints)
    assert index.workload_of == (0,)
    assert index.members == ((0,),)
    assert index.workloads[0].key == "shop/w[StatefulSet]"


def test_a_malformed_owner_reference_names_the_pod_and_field() -> None:
    bad = pod("shop", "w-1")
    bad["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet"}]
    with pytest.raises(PolicyError, match=r"Pod/shop/w-1: metadata.ownerReferences\[0\]"):
        load_cluster([bad])
