"""`rollout smoke suggest --from-flows`: valid smoke tests for the busiest imitable flows."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from rollout.cli.main import cli
from rollout.smoke.spec import parse_smoke_file

SAMPLE = Path(__file__).parents[2] / "integration" / "flows" / "data" / "hubble-observe.jsonl"


def test_suggestions_are_a_valid_smoke_file_busiest_first_without_pod_labels() -> None:
    result = CliRunner().invoke(
        cli, ["smoke", "suggest", "--from-flows", str(SAMPLE), "--top", "2"]
    )
    assert result.exit_code == 0, result.output
    raw = yaml.safe_load(result.stdout)
    parsed = parse_smoke_file(raw, "suggested.yaml")
    assert [t.name for t in parsed.tests] == [
        "ingress-nginx-controller-to-web-8080",  # 3 connections
        "api-to-postgres-primary-5432",  # 2, tied with web -> api; names break the tie
    ]
    first = raw["tests"][0]
    assert first["from"] == {
        "namespace": "ingress-nginx",
        "labels": {"app.kubernetes.io/name": "ingress-nginx"},  # pod-template-hash left out
    }
    assert first["to"] == {"namespace": "frontend", "labels": {"app": "frontend"}}
    assert (first["port"], first["protocol"], first["expect"]) == (8080, "TCP", "allow")


def test_flows_from_outside_or_without_labels_are_skipped_with_a_reason(tmp_path: Path) -> None:
    flows = tmp_path / "flows.csv"
    flows.write_text(
        "time,source,destination,port,protocol,count\n"
        "2026-12-02T02:14:00Z,shop/web-1,shop/db-0,5432,TCP,9\n"
        "2026-12-02T02:14:00Z,203.0.113.9,shop/web-1,443,TCP,3\n"
    )
    result = CliRunner().invoke(cli, ["smoke", "suggest", "--from-flows", str(flows)])
    assert result.exit_code == 0, result.output
    assert "# skipped shop/web-1 -> shop/db-0 5432: the source's labels are unknown" in (
        result.stdout
    )
    assert "# skipped 203.0.113.9 -> shop/web-1 443: the source is outside the cluster" in (
        result.stdout
    )
    assert yaml.safe_load(result.stdout) == {"tests": []}
