"""The neutral format: six fields, and errors that name the line and the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rollout.errors import InputError
from rollout.flows import parse_neutral


def test_a_row_with_pods_an_ip_and_defaults() -> None:
    record = parse_neutral(
        {
            "time": "2026-12-03T02:14:00",
            "source": "batch/report-job-1",
            "destination": "10.0.0.9",
            "port": "5432",
        },
        "f.csv:2",
    )
    assert record.time == datetime(2026, 12, 3, 2, 14, tzinfo=UTC)  # naive means UTC
    assert (record.source.namespace, record.source.pod) == ("batch", "report-job-1")
    assert record.destination.ip == "10.0.0.9" and not record.destination.has_pod
    assert (record.port, record.protocol, record.count) == (5432, "TCP", 1)


def test_unix_seconds_and_numbers_from_json_lines() -> None:
    record = parse_neutral(
        {
            "time": 1764728040,
            "source": "a/b",
            "destination": "c/d",
            "port": 53,
            "protocol": "udp",
            "count": 40,
        },
        "f.jsonl:1",
    )
    assert record.time == datetime(2025, 12, 3, 2, 14, tzinfo=UTC)
    assert (record.protocol, record.count) == ("UDP", 40)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"source": "a/b", "destination": "c/d", "port": "80"}, "'time' is required"),
        ({"time": "x", "source": "a/b", "destination": "c/d", "port": "80"}, "time: 'x'"),
        ({"time": "1", "source": "a/b/c", "destination": "c/d", "port": "80"}, "source"),
        ({"time": "1", "source": "a/b", "destination": "web", "port": "80"}, "destination"),
        ({"time": "1", "source": "a/b", "destination": "c/d", "port": "99999"}, "port"),
        (
            {"time": "1", "source": "a/b", "destination": "c/d", "port": "80", "protocol": "ICMP"},
            "protocol",
        ),
        ({"time": "1", "source": "a/b", "destination": "c/d", "port": "80", "count": "0"}, "count"),
    ],
)
def test_bad_rows_name_the_line_and_field(row: dict[str, str], message: str) -> None:
    with pytest.raises(InputError) as err:
        parse_neutral(row, "flows.csv:9")
    assert str(err.value).startswith("flows.csv:9: ") and message in str(err.value)
