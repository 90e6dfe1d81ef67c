"""The rollout page shows the replay stored with the diff: cut flows, times, last seen, why."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from rollout.flows import FlowAggregator, FlowRecord, ObservedEndpoint, PodDirectory, replay
from rollout.flows.report import replay_summary
from rollout.policy import load_cluster
from rollout.server.dashboard.detail import observed_flows_html

DB_IN = {
    "kind": "NetworkPolicy",
    "metadata": {"namespace": "database", "name": "pg-in"},
    "spec": {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}}]}]},
}
DENY = {**DB_IN, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}


def test_the_page_lists_cut_flows_from_the_stored_artifact() -> None:
    agg = FlowAggregator(PodDirectory())
    src = ObservedEndpoint(
        namespace="batch",
        pod="report-1",
        workload="report-job",
        workload_kind="CronJob",
        labels=(("app", "report"),),
    )
    dst = ObservedEndpoint(
        namespace="database",
        pod="postgres-0",
        workload="postgres",
        workload_kind="StatefulSet",
        labels=(("app", "pg"),),
    )
    agg.add(FlowRecord(datetime(2026, 12, 3, 2, 14, tzinfo=UTC), src, dst, 5432, "TCP", 1204))
    observed = agg.result()
    result = replay(observed.flows, load_cluster([DB_IN]), load_cluster([DENY]))
    stored = json.loads(
        json.dumps({"observed_flows": replay_summary(result, observed, window="7d")})
    )

    html = observed_flows_html(stored)

    assert "Observed traffic: 1 cut, 0 newly allowed" in html
    assert "1 distinct flows seen in the last 7d" in html
    assert "<code>batch/report-job → database/postgres 5432/TCP</code>" in html
    assert "<td>1,204</td>" in html and "2026-12-03 02:14:00 UTC" in html
    assert "denied after the change by the ingress of database/postgres" in html
    assert observed_flows_html({"opened": []}) == ""
