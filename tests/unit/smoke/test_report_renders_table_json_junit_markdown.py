"""One report, four renderings that agree; the engine's StageResult carries the JSON."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

from rich.console import Console

from rollout.smoke.results import (
    CheckResult,
    SmokeReport,
    report_from_dict,
    to_json,
    to_junit,
    to_markdown,
    to_table,
)
from rollout.smoke.suite import stage_result

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _report(*results: CheckResult, canary: bool = False) -> SmokeReport:
    return SmokeReport(
        "staging",
        "r1",
        T0,
        T0 + timedelta(seconds=7),
        results,
        rollout_id="ro-1",
        commit_sha="abc",
        cni_not_enforcing=canary,
    )


PASS = CheckResult(
    "web-to-api",
    "expectation",
    "passed",
    "connected after 1s (1 attempt)",
    "web/app=web",
    "api/app=api",
    8080,
    "TCP",
    "allow",
    "connected",
    1,
    1.0,
)
FAIL = CheckResult(
    "no-admin",
    "expectation",
    "failed",
    "connected after 0s (attempt 1), expected deny",
    "web/app=web",
    "api/app=api",
    9090,
    "TCP",
    "deny",
    "connected",
    1,
    0.0,
)
SCRIPT = CheckResult(
    "custom | check", "script", "failed", "exit 3", target="./s.sh", output="boom <xml> & more"
)


def test_json_round_trips() -> None:
    report = _report(PASS, FAIL, SCRIPT)
    data = json.loads(to_json(report))
    assert data["passed"] is False and data["counts"]["failed"] == 2
    assert report_from_dict(data) == report


def test_junit_is_valid_xml_with_failures_and_output() -> None:
    root = ET.fromstring(to_junit(_report(PASS, FAIL, SCRIPT)))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "2", "0")
    cases = suite.findall("testcase")
    assert cases[0].find("failure") is None
    failure = cases[2].find("failure")
    assert failure is not None and failure.text == "boom <xml> & more"
    assert cases[2].get("classname") == "smoke.staging.script"


def test_markdown_lists_failures_first_and_escapes_pipes() -> None:
    text = to_markdown(_report(PASS, FAIL, SCRIPT))
    lines = text.splitlines()
    assert lines[0].startswith("### ❌ smoke tests FAILED in staging: 1 passed, 2 failed")
    rows = [line for line in lines if line.startswith("| ")][1:]
    assert rows[0].startswith("| live | failed | no-admin")
    assert rows[-1].startswith("| live | passed |")
    assert "custom \\| check" in text


def test_canary_warning_leads_every_rendering() -> None:
    canary = CheckResult("cni-canary web", "canary", "failed", "x", observed="connected")
    report = _report(canary, canary=True)
    assert report.summary().startswith("the cluster's network plugin does NOT enforce")
    assert "**Warning:**" in to_markdown(report)
    out = io.StringIO()
    Console(file=out, width=200).print(to_table(report))
    assert "does NOT enforce" in out.getvalue()


def test_stage_result_names_failing_checks() -> None:
    result = stage_result(_report(PASS, FAIL, SCRIPT))
    assert not result.ok
    assert result.summary.endswith("failing: no-admin, custom | check")
    assert result.details["run_id"] == "r1"
    assert stage_result(_report(PASS)).ok
