"""Replay judges each flow on the egress of its source and the ingress of its destination."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rollout.flows import FlowAggregator, FlowRecord, ObservedEndpoint, PodDirectory, replay
from rollout.policy import load_cluster

T0 = datetime(2026, 12, 3, 2, 14, tzinfo=UTC)


def ns(name: str, **labels: str) -> dict[str, Any]:
    return {"kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def deployment(
    namespace: str, name: str, labels: dict[str, str], ports: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"namespace": namespace, "name": name},
        "spec": {
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "ports": ports or []}]},
            }
        },
    }


def policy(namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "NetworkPolicy",
        "metadata": {"namespace": namespace, "name": name},
        "spec": spec,
    }


BASE = [
    ns("batch", team="data"),
    ns("database"),
    deployment("batch", "report-job", {"app": "report"}),
    deployment("database", "postgres", {"app": "pg"}, [{"name": "pg", "containerPort": 5432}]),
]


def db_ingress(port: object, team: str = "data") -> dict[str, Any]:
    return policy(
        "database",
        "pg-in",
        {
            "podSelector": {"matchLabels": {"app": "pg"}},
            "ingress": [
                {
                    "from": [{"namespaceSelector": {"matchLabels": {"team": team}}}],
                    "ports": [{"port": port}],
                }
            ],
        },
    )


def batch_egress(cidr: str) -> dict[str, Any]:
    return policy(
        "batch",
        "out",
        {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [{"namespaceSelector": {}}]},
                {"to": [{"ipBlock": {"cidr": cidr}}], "ports": [{"port": 443}]},
            ],
        },
    )


def observed(*records: tuple[ObservedEndpoint, ObservedEndpoint, int, int]) -> Any:
    agg = FlowAggregator(PodDirectory(BASE))
    for src, dst, port, count in records:
        agg.add(FlowRecord(T0, src, dst, port, "TCP", count))
    return agg.result()


REPORT = ObservedEndpoint(namespace="batch", pod="report-job-28512-x7k2p")
PG = ObservedEndpoint(namespace="database", pod="postgres-0")


def cuts(before: list[dict[str, Any]], after: list[dict[str, Any]], obs: Any) -> list[str]:
    result = replay(obs.flows, load_cluster(BASE + before), load_cluster(BASE + after))
    return [f"{c.flow.describe()} ({c.reason})" for c in result.cut]


def test_a_namespace_selector_that_stops_matching_cuts_the_flow() -> None:
    obs = observed((REPORT, PG, 5432, 1204))
    assert cuts([db_ingress(5432)], [db_ingress(5432, team="web")], obs) == [
        "batch/report-job -> database/postgres 5432/TCP "
        "(denied after the change by the ingress of database/postgres)"
    ]


def test_a_named_port_resolves_against_the_destination_workload() -> None:
    obs = observed((REPORT, PG, 5432, 3))
    assert cuts([db_ingress(5432)], [db_ingress("pg")], obs) == []
    assert len(cuts([db_ingress("pg")], [db_ingress("postgres")], obs)) == 1


def test_an_ipblock_narrowed_cuts_egress_to_an_external_address_and_the_opposite_opens() -> None:
    obs = observed((REPORT, ObservedEndpoint(ip="203.0.113.9"), 443, 12))
    wide, narrow = batch_egress("203.0.113.0/24"), batch_egress("198.51.100.0/24")
    assert cuts([wide], [narrow], obs) == [
        "batch/report-job -> 203.0.113.9 443/TCP "
        "(denied after the change by the egress of batch/report-job)"
    ]
    result = replay(obs.flows, load_cluster([*BASE, narrow]), load_cluster([*BASE, wide]))
    assert [o.flow.describe() for o in result.opened] == ["batch/report-job -> 203.0.113.9 443/TCP"]


def test_a_pod_unknown_to_the_repo_is_evaluated_with_its_observed_labels() -> None:
    stranger = ObservedEndpoint(
        namespace="adhoc",
        pod="debug",
        labels=(("app", "debug"),),
        namespace_labels=(("team", "data"),),
    )
    obs = observed((stranger, PG, 5432, 1))
    assert len(cuts([db_ingress(5432)], [db_ingress(5432, team="web")], obs)) == 1


def test_an_endpoint_without_labels_that_matches_nothing_is_reported_unevaluated() -> None:
    obs = observed((ObservedEndpoint(namespace="adhoc", pod="x"), PG, 5432, 1))
    result = replay(obs.flows, load_cluster(BASE), load_cluster(BASE))
    assert [u.reason for u in result.unevaluated] == [
        "adhoc/x is unknown to the revision and has no labels"
    ]
