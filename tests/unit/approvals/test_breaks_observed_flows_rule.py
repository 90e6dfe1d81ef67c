"""The `breaks_observed_flows` risk rule: thresholds, groups, blocking and acknowledgements."""

from __future__ import annotations

from datetime import UTC, datetime

from rollout.core.approvals import (
    ApprovalDecision,
    RiskRuleSpec,
    Roster,
    RosterMember,
    Rules,
    evaluate_approvals,
    risk_findings,
)
from rollout.core.cut_flows import CutFlow

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
ROSTER = Roster(
    (
        RosterMember("ada", frozenset({"approvers", "owners"})),
        RosterMember("grace", frozenset({"approvers"})),
    )
)
REPORT = CutFlow("batch/report-job", "database/postgres", 5432, "TCP", 1204, "2026-12-03T02:14:09Z")
PROBE = CutFlow("ops/canary", "database/postgres", 5432, "TCP", 2, "2026-12-02T23:00:00Z")


def rule(**kw: object) -> RiskRuleSpec:
    return RiskRuleSpec("observed", "breaks_observed_flows", **kw)  # type: ignore[arg-type]


def test_any_cut_flow_applies_and_the_reason_names_the_busiest_flow() -> None:
    (finding,) = risk_findings(
        [rule(require_groups={"owners": 1})], [], [REPORT, PROBE], window="7d"
    )
    assert finding.reason == (
        "risk rule 'observed': this change would cut 2 flows seen in the last 7d: "
        "batch/report-job -> database/postgres 5432/TCP, last seen 2026-12-03 02:14 UTC, "
        "1,204 times (and 1 more); needs 1 approval(s) from owners"
    )
    assert finding.cut_flows == (REPORT, PROBE)


def test_thresholds_on_flow_count_and_times_seen() -> None:
    assert risk_findings([rule(seen_more_than=2)], [], [PROBE]) == []
    assert [f.cut_flows for f in risk_findings([rule(seen_more_than=2)], [], [REPORT, PROBE])] == [
        (REPORT,)
    ]
    assert risk_findings([rule(more_than_flows=2)], [], [REPORT, PROBE]) == []
    assert len(risk_findings([rule(more_than_flows=1)], [], [REPORT, PROBE])) == 1


def test_connection_rules_ignore_cut_flows_and_no_cut_no_finding() -> None:
    assert risk_findings([RiskRuleSpec("x", "opens_cross_namespace")], [], [REPORT]) == []
    assert risk_findings([rule()], [], []) == []


def test_an_acknowledged_flow_no_longer_counts() -> None:
    assert risk_findings([rule()], [], [REPORT], acknowledged={REPORT.key}) == []
    (left,) = risk_findings([rule()], [], [REPORT, PROBE], acknowledged={REPORT.key})
    assert left.cut_flows == (PROBE,)


def test_a_blocking_rule_holds_the_rollout_whatever_the_approvals() -> None:
    risk = risk_findings([rule(block=True)], [], [REPORT])
    approvals = [ApprovalDecision(m, "approve", NOW) for m in ("ada", "grace")]
    status = evaluate_approvals(Rules(required=1), ROSTER, (), approvals, risk, NOW)
    assert not status.granted
    assert status.summary().startswith("blocked: risk rule 'observed': this change")
    assert status.summary().endswith("; enough approvals (approved by ada, grace), but not granted")
    assert "blocked until each cut flow is acknowledged" in status.summary()
    released = risk_findings([rule(block=True)], [], [REPORT], acknowledged={REPORT.key})
    assert evaluate_approvals(Rules(required=1), ROSTER, (), approvals, released, NOW).granted


def test_required_groups_must_approve() -> None:
    risk = risk_findings([rule(require_groups={"owners": 1})], [], [REPORT])
    grace_only = [ApprovalDecision("grace", "approve", NOW)]
    status = evaluate_approvals(Rules(required=1), ROSTER, (), grace_only, risk, NOW)
    assert not status.granted and status.missing_groups == {"owners": 1}
