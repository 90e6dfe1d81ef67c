"""Hubble JSON lines: field names from flow.proto, one count per connection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollout.errors import InputError
from rollout.flows import parse_hubble
from rollout.flows.hubble import (
    SKIP_MID_CONNECTION,
    SKIP_NO_PORT,
    SKIP_NOT_A_FLOW,
    SKIP_POLICY_VERDICT,
    SKIP_RECEIVER_COPY,
    SKIP_REPLY,
)
from rollout.flows.records import FlowRecord

SAMPLE = Path(__file__).parents[2] / "integration" / "flows" / "data" / "hubble-observe.jsonl"


def _lines() -> list[dict[str, object]]:
    return [json.loads(line) for line in SAMPLE.read_text().splitlines()]


def test_the_sample_file_counts_connections_and_says_why_others_are_skipped() -> None:
    parsed = [parse_hubble(obj, f"sample:{i}") for i, obj in enumerate(_lines(), 1)]
    records = [p for p in parsed if isinstance(p, FlowRecord)]
    skipped = sorted(p for p in parsed if isinstance(p, str))
    assert len(records) == 11
    assert skipped == sorted(
        [
            SKIP_RECEIVER_COPY,
            SKIP_REPLY,
            SKIP_MID_CONNECTION,
            SKIP_POLICY_VERDICT,
            SKIP_NO_PORT,
            SKIP_NOT_A_FLOW,
        ]
    )


def test_a_flow_carries_pod_workload_labels_and_namespace_labels() -> None:
    record = parse_hubble(_lines()[0], "sample:1")
    assert isinstance(record, FlowRecord)
    src, dst = record.source, record.destination
    assert (src.namespace, src.workload, src.workload_kind) == (
        "ingress-nginx",
        "ingress-nginx-controller",
        "Deployment",
    )
    assert src.pod == "ingress-nginx-controller-7d9c6b5f4-k2xlp"
    assert src.ip == "10.244.1.17"
    # Cilium's own identity labels are not pod labels; namespace labels are split off.
    assert dict(dst.labels or ()) == {"app": "frontend", "pod-template-hash": "5c8d7f9b6"}
    assert dict(dst.namespace_labels or ()) == {"kubernetes.io/metadata.name": "frontend"}
    assert (record.port, record.protocol, record.verdict) == (8080, "TCP", "FORWARDED")
    assert record.time.isoformat() == "2026-12-02T02:10:07.118230+00:00"


def test_world_and_host_are_reserved_identities_without_a_namespace() -> None:
    by_dst = {}
    for obj in _lines():
        record = parse_hubble(obj, "x")
        if isinstance(record, FlowRecord):
            by_dst[record.destination.ip] = record
            by_dst[record.source.ip] = by_dst.get(record.source.ip, record)
    world = by_dst["203.0.113.9"].destination
    assert (world.reserved, world.namespace, world.labels) == ("world", "", None)
    host = by_dst["10.0.0.11"].source
    assert host.reserved == "host"


def test_a_bare_flow_object_without_the_wrapper_is_read_too() -> None:
    record = parse_hubble(_lines()[0]["flow"], "x")
    assert isinstance(record, FlowRecord) and record.port == 8080


@pytest.mark.parametrize(
    ("flow", "field"),
    [
        ({"flow": {"l4": {"TCP": {"destination_port": 0, "flags": {"SYN": True}}}}}, "l4.TCP"),
        ({"flow": {"l4": {"UDP": {"destination_port": 53}}, "time": 5}}, "time"),
        ({"flow": "nope"}, "'flow'"),
    ],
)
def test_malformed_flows_name_the_line_and_field(flow: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as err:
        parse_hubble(flow, "events.log:7")
    assert "events.log:7" in str(err.value) and field in str(err.value)
