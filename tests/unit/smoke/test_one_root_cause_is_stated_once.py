"""A root cause that stopped several checks is stated once; the rows refer to it.

When the probe image cannot be pulled, every probe pod fails alike: the table,
Markdown, JUnit, the notifications and the dashboard repeated the same long
sentence on every row. Now the cause is one numbered line under the summary
(`cause 1 (6 checks): the probe image ... cannot start: ...`) and the rows
say which pod and `see cause 1`.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from rich.console import Console

from rollout.announce import _smoke_summary
from rollout.server.dashboard.detail import _smoke
from rollout.smoke.plan import PlannedCheck, Source, Target
from rollout.smoke.results import CheckResult, SmokeReport, to_json, to_junit, to_markdown, to_table
from rollout.smoke.verdicts import BROKEN_TOOLS, verdict

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PULL = (
    "the probe image 'registry.invalid/busybox:nope' cannot start: ErrImagePull: failed to "
    "pull and unpack image (check the name and the cluster's pull access)"
)


def _report() -> SmokeReport:
    stopped = [
        CheckResult(
            f"check-{i}", "expectation", "error", f"pod shop/smoke-r-p{i} cannot start", cause=PULL
        )
        for i in range(6)
    ]
    pre = [CheckResult(f"check-{i}", "precheck", "passed", "policies: allowed") for i in range(6)]
    return SmokeReport("staging", "r", AT, AT, tuple(stopped + pre))


def test_the_cause_is_one_line_and_every_row_refers_to_it() -> None:
    report = _report()
    assert report.causes() == (PULL,)
    assert report.cause_lines() == [f"cause 1 (6 checks): {PULL}"]
    assert report.detail(report.results[0]) == "pod shop/smoke-r-p0 cannot start (see cause 1)"

    out = io.StringIO()
    Console(file=out, width=400).print(to_table(report))
    assert out.getvalue().count("registry.invalid/busybox:nope") == 1
    assert out.getvalue().count("see cause 1") == 6

    markdown = to_markdown(report)
    assert markdown.count("registry.invalid/busybox:nope") == 1
    assert markdown.count("(see cause 1)") == 6

    assert json.loads(to_json(report))["causes"] == [PULL]


def test_junit_states_the_cause_once_as_a_suite_property() -> None:
    text = to_junit(_report())
    assert text.count("registry.invalid/busybox:nope") == 1
    live = ET.fromstring(text).find("testsuite")
    assert live is not None
    (prop,) = live.iter("property")
    assert (prop.get("name"), prop.get("value")) == ("cause.1", PULL)
    errors = [e.get("message") for e in live.iter("error")]
    assert errors == [f"pod shop/smoke-r-p{i} cannot start (see cause 1)" for i in range(6)]


def test_notifications_and_the_dashboard_state_the_cause_once() -> None:
    stored = {"staging": {"ok": False, "summary": "x", "report": _report().to_dict()}}
    summary = _smoke_summary(stored, "staging")
    assert summary is not None
    assert summary.failures == (f"6 checks not run: {PULL}",)

    html = _smoke(stored)
    assert html.count("registry.invalid/busybox:nope") == 1
    assert html.count("see cause 1") == 6
    assert "<th>phase</th>" in html.replace(' scope="col"', "")


def test_identical_messages_of_unjudged_checks_become_one_cause() -> None:
    why = "no pod with these labels runs, and the listener failed: forbidden"
    report = SmokeReport(
        "staging",
        "r",
        AT,
        AT,
        (
            CheckResult("a", "expectation", "error", why),
            CheckResult("b", "expectation", "error", why),
            CheckResult("c", "expectation", "failed", "blocked: no connection within 2s"),
        ),
    )
    assert report.causes() == (why,)
    assert [report.detail(r) for r in report.results] == [
        "see cause 1",
        "see cause 1",
        "blocked: no connection within 2s",
    ]


def test_a_failed_self_test_is_the_cause_not_every_rows_message() -> None:
    check = PlannedCheck(
        0,
        "web to api",
        "expectation",
        "tcp",
        Source("shop", {"app": "web"}),
        Target("pods", "shop", {"app": "api"}),
        8080,
        "TCP",
        "deny",
        2.0,
    )
    results = [verdict(check, None, tools_ok=False) for _ in range(3)]
    report = SmokeReport("staging", "r", AT, AT, tuple(results))
    assert all(r.outcome == "error" and r.cause == BROKEN_TOOLS for r in results)
    assert all(BROKEN_TOOLS not in r.message for r in results)
    assert report.cause_lines() == [f"cause 1 (3 checks): {BROKEN_TOOLS}"]
    summary = _smoke_summary({"staging": {"report": report.to_dict()}}, "staging")
    assert summary is not None
    # Slack and the PR comment render `failures`: the cause once.
    assert summary.failures == (f"3 checks not run: {BROKEN_TOOLS}",)
