"""Smoke totals count live checks; the static pre-check is reported apart, and every row
says its phase (`13 passed, 3 failed` was printed for 8 checks: pre-check rows counted)."""

from __future__ import annotations

from datetime import UTC, datetime

from rollout.announce import _smoke_summary
from rollout.smoke.results import CheckResult, SmokeReport, to_markdown, to_table

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _report() -> SmokeReport:
    live = [CheckResult(f"live-{i}", "expectation", "passed", "ok") for i in range(5)]
    live += [CheckResult(f"bad-{i}", "expectation", "failed", "timeout") for i in range(3)]
    pre = [CheckResult(f"live-{i}", "precheck", "passed", "allowed") for i in range(7)]
    pre += [CheckResult("bad-0", "precheck", "failed", "denied by deny-all")]
    return SmokeReport("staging", "run-1", AT, AT, tuple(live + pre))


def test_totals_count_the_eight_live_checks_and_name_the_precheck_apart() -> None:
    report = _report()

    assert dict(report.counts()) == {"passed": 5, "failed": 3, "error": 0, "skipped": 0}
    assert report.summary() == (
        "smoke tests FAILED in staging: 5 passed, 3 failed, 0 errors of 8 live checks; "
        "static pre-check: 7 passed, 1 failed"
    )
    assert report.to_dict()["precheck_counts"]["passed"] == 7


def test_every_row_says_its_phase() -> None:
    report = _report()
    table = to_table(report)
    assert table.columns[0].header == "phase"
    assert list(table.columns[0].cells).count("pre-check") == 8
    rows = [ln for ln in to_markdown(report).splitlines() if ln.startswith("| ")][2:]
    assert {row.split(" | ")[0] for row in rows} == {"| live", "| pre-check"}


def test_notifications_count_live_checks() -> None:
    summary = _smoke_summary({"staging": {"report": _report().to_dict()}}, "staging")

    assert summary is not None
    assert (summary.passed, summary.failed) == (5, 3)
    assert "static pre-check bad-0: denied by deny-all" in summary.failures


def test_junit_counts_live_checks_and_the_precheck_in_suites_of_their_own() -> None:
    from xml.etree import ElementTree as ET

    from rollout.smoke.results import to_junit

    live, pre = ET.fromstring(to_junit(_report())).findall("testsuite")
    # Before, one suite said tests="16" failures="3": pre-check rows counted as tests only.
    assert (live.get("name"), live.get("tests"), live.get("failures")) == (
        "smoke.staging",
        "8",
        "3",
    )
    assert (pre.get("name"), pre.get("tests"), pre.get("failures")) == (
        "smoke.staging.precheck",
        "8",
        "1",
    )
    assert len(live.findall("testcase")) == 8 and len(pre.findall("testcase")) == 8
