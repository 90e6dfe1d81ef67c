"""Endpoints resolve to workloads (metadata, then the snapshot, time-aware) and aggregate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rollout.flows import FlowAggregator, FlowRecord, ObservedEndpoint, PodDirectory
from rollout.flows.resolve import workload_of
from rollout.policy.workloads import Workload

T0 = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


def pod(ns: str, name: str, ip: str, created: datetime, **meta: Any) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {
            "namespace": ns,
            "name": name,
            "creationTimestamp": created.isoformat(),
            **meta,
        },
        "status": {"podIP": ip},
    }


def rs_owned(rs: str, hash_: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "labels": {**labels, "pod-template-hash": hash_},
        "ownerReferences": [{"kind": "ReplicaSet", "name": rs, "controller": True}],
    }


def record(
    src: ObservedEndpoint, dst: ObservedEndpoint, at: datetime, port: int = 5432, count: int = 1
) -> FlowRecord:
    return FlowRecord(at, src, dst, port, "TCP", count)


def test_snapshot_pods_group_into_workloads_as_the_policy_engine_groups_them() -> None:
    web = pod("a", "web-5d-x", "1.1.1.1", T0, **rs_owned("web-5d", "5d", {}))
    assert workload_of(web) == Workload("a", "web", "Deployment")
    assert workload_of({"metadata": {"namespace": "a", "name": "solo"}}) == Workload(
        "a", "solo", "Pod"
    )


def test_an_ip_resolves_to_the_pod_that_held_it_when_the_flow_was_seen() -> None:
    # 10.0.0.7 was the report job's pod until it ended; a web pod got it later.
    directory = PodDirectory(
        [
            pod(
                "batch",
                "report-1",
                "10.0.0.7",
                T0 - timedelta(hours=1),
                **rs_owned("report-9f", "9f", {"app": "report"}),
            ),
        ]
    )
    agg = FlowAggregator(directory)
    db = ObservedEndpoint(namespace="database", pod="postgres-0", labels=(("app", "pg"),))
    agg.add(record(ObservedEndpoint(ip="10.0.0.7"), db, T0))
    flows = agg.result().flows
    assert [f.describe() for f in flows] == ["batch/report -> database/postgres-0 5432/TCP"]
    assert dict(flows[0].source_seen.labels or ()) == {"app": "report", "pod-template-hash": "9f"}


def test_a_reused_ip_whose_earlier_owner_is_gone_is_reported_not_pinned_on_the_new_pod() -> None:
    directory = PodDirectory(
        [
            pod(
                "frontend",
                "web-1",
                "10.0.0.7",
                T0 + timedelta(hours=3),
                **rs_owned("web-5d", "5d", {"app": "web"}),
            )
        ]
    )
    agg = FlowAggregator(directory)
    db = ObservedEndpoint(namespace="database", pod="postgres-0")
    agg.add(record(ObservedEndpoint(ip="10.0.0.7"), db, T0, count=1204))  # before web-1 existed
    agg.add(record(ObservedEndpoint(ip="10.0.0.7"), db, T0 + timedelta(hours=4)))
    observed = agg.result()
    assert [f.describe() for f in observed.flows] == [
        "frontend/web -> database/postgres-0 5432/TCP"
    ]
    (lost,) = observed.unresolved
    assert (lost.side, lost.endpoint, lost.count) == ("source", "10.0.0.7", 1204)
    assert "IP reused" in lost.reason and "frontend/web-1" in lost.reason


def test_addresses_in_the_pod_network_that_no_pod_holds_are_unresolved_others_external() -> None:
    directory = PodDirectory([], cluster_cidrs=["10.244.0.0/16"])
    agg = FlowAggregator(directory)
    src = ObservedEndpoint(namespace="shop", pod="web-1")
    agg.add(record(src, ObservedEndpoint(ip="10.244.3.3"), T0))
    agg.add(record(src, ObservedEndpoint(ip="8.8.8.8"), T0, port=53))
    observed = agg.result()
    assert [f.destination.kind for f in observed.flows] == ["External"]
    assert [u.endpoint for u in observed.unresolved] == ["10.244.3.3"]


def test_aggregation_counts_and_keeps_the_latest_and_the_window_drops_old_records() -> None:
    agg = FlowAggregator(PodDirectory(), since=T0 - timedelta(days=7))
    a = ObservedEndpoint(namespace="shop", pod="web-1", workload="web", workload_kind="Deployment")
    a2 = ObservedEndpoint(namespace="shop", pod="web-2", workload="web", workload_kind="Deployment")
    b = ObservedEndpoint(namespace="shop", pod="db-0", workload="db", workload_kind="StatefulSet")
    agg.add(record(a, b, T0, count=3))
    agg.add(record(a2, b, T0 + timedelta(minutes=5), count=2))
    agg.add(record(a, b, T0 - timedelta(minutes=5)))
    agg.add(record(a, b, T0 - timedelta(days=8), count=100))
    observed = agg.result()
    (flow,) = observed.flows
    assert (flow.count, flow.first_seen, flow.last_seen) == (
        6,
        T0 - timedelta(minutes=5),
        T0 + timedelta(minutes=5),
    )
    assert flow.source_seen.pod == "web-2"
    assert (observed.records, observed.too_old) == (4, 1)
