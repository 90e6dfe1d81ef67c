"""`policy lint -o sarif`: every result has a location (file and line), the log
validates against the SARIF 2.1.0 schema (vendored under tests/support/sarif),
and a run that fails on bad input is still a valid log on standard output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from rollout.cli.main import cli

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "support/sarif/sarif-schema-2.1.0.json").read_text()
)
VALIDATOR = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker())

BAD_POLICY = (
    "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n"
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
    "metadata: {name: deny, namespace: shop}\n"
    "spec: {podSelector: {}, policyTypes: [Egress]}\n"
    "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
    "metadata: {name: bad-except, namespace: shop}\n"
    "spec:\n  podSelector: {}\n  policyTypes: [Egress]\n"
    "  egress:\n    - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}]\n"
)


def _sarif(*args: str) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["policy", "lint", *args, "-o", "sarif"])
    return result.exit_code, json.loads(result.stdout), result.stderr


def _errors(log: dict[str, Any]) -> list[str]:
    return [e.message for e in VALIDATOR.iter_errors(log)]


@pytest.fixture
def policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("policies").mkdir()
    Path("policies/shop.yaml").write_text(BAD_POLICY)
    return tmp_path


def test_every_result_has_a_file_and_a_line_and_the_log_is_valid(policies: Path) -> None:
    # `ghost` is in no manifest: its findings point at the first file linted.
    code, log, _ = _sarif("policies", "--managed-namespace", "ghost")
    assert code == 1
    assert _errors(log) == []
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"NP001", "NP012"}
    where = {
        r["ruleId"]: (
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for r in results
    }
    assert where["NP012"] == ("policies/shop.yaml", 10)  # the bad-except document
    assert where["NP001"] == ("policies/shop.yaml", 1)
    assert all(len(r["locations"]) == 1 for r in results)


def test_a_clean_run_is_a_valid_log(policies: Path) -> None:
    Path("policies/shop.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    code, log, _ = _sarif("policies")
    assert code == 0 and _errors(log) == [] and log["runs"][0]["results"] == []


def test_bad_yaml_still_writes_a_valid_log_and_the_error_goes_to_stderr(
    policies: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    Path("policies/shop.yaml").write_text("kind: [\n")
    code, log, stderr = _sarif("policies")
    assert code == 3
    assert _errors(log) == []
    invocation = log["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    note = invocation["toolExecutionNotifications"][0]
    assert "YAML does not parse" in note["message"]["text"]
    location = note["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "policies/shop.yaml"
    assert "::error file=policies/shop.yaml,line=" in stderr
    assert "error: policies/shop.yaml" in stderr


def test_the_schema_check_would_catch_a_broken_log() -> None:
    """Guards the tests above: the validator really checks the SARIF shape."""
    broken = {"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": []}]}
    assert any("name" in e for e in _errors(broken))
    located = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "x"}},
                "results": [{"message": {"text": "m"}, "locations": [{"nope": 1}]}],
            }
        ],
    }
    assert _errors(located)


def test_json_output_is_the_document_alone_inside_actions(
    policies: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = CliRunner().invoke(cli, ["policy", "lint", "policies", "-o", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["findings"]
    assert "::" not in result.stdout


def test_text_mode_annotates_every_finding_with_file_and_line(
    policies: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = CliRunner().invoke(cli, ["policy", "lint", "policies", "--managed-namespace", "ghost"])
    assert result.exit_code == 1
    findings = [
        line for line in result.stdout.splitlines() if line.split(" ")[0] in {"ERROR", "WARNING"}
    ]
    annotations = [line for line in result.stderr.splitlines() if line.startswith("::")]
    assert len(annotations) == len(findings) >= 3
    assert (
        "::error file=policies/shop.yaml,line=10,title=NP012 NetworkPolicy/shop/bad-except::"
        "NetworkPolicy/shop/bad-except: except 192.168.0.0/16 is not inside cidr 10.0.0.0/8"
    ) in annotations
    assert any(
        a.startswith("::warning file=policies/shop.yaml,line=1,title=NP001 Namespace/ghost::")
        for a in annotations
    )
    assert "::" not in result.stdout
