"""The pure approval rules: who counts, quorum, expiry, risk rules, clear refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollout.core.approvals import (
    ApprovalDecision,
    OpenedConnection,
    RiskRuleSpec,
    Roster,
    RosterMember,
    Rules,
    check_approver,
    evaluate_approvals,
    risk_findings,
)
from rollout.errors import ApprovalError, AuthError

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ROSTER = Roster(
    (
        RosterMember("alice", frozenset({"approvers"}), github="Alice-GH", email="a@x.io"),
        RosterMember("bob", frozenset({"approvers"})),
        RosterMember("carol", frozenset({"approvers", "security"})),
        RosterMember("sec", frozenset({"security"})),
        RosterMember("zed", frozenset()),
    )
)
RULES = Rules(required=2, groups=("approvers",), expires_after=timedelta(hours=1))
NAMES = [m.name for m in ROSTER.members]


def approve(member: str, minutes_ago: int = 0, sha: str | None = None) -> ApprovalDecision:
    return ApprovalDecision(member, "approve", NOW - timedelta(minutes=minutes_ago), sha)


def test_two_allowed_approvals_grant() -> None:
    status = evaluate_approvals(RULES, ROSTER, (), [approve("alice"), approve("bob")], [], NOW)
    assert status.granted and status.approvers == ("alice", "bob") and status.still_needed == 0


def test_missing_approvals_say_who_can_still_approve() -> None:
    status = evaluate_approvals(RULES, ROSTER, {"bob"}, [approve("alice")], [], NOW)
    assert not status.granted
    assert status.still_needed == 1
    assert status.who_can_approve == ("carol",)  # bob authored it; sec and zed not allowed
    assert status.summary() == (
        "waiting for 1 more approval; approved so far by alice; can approve: carol"
    )


def test_expired_other_commit_and_disallowed_approvals_do_not_count() -> None:
    decisions = [approve("alice", 61), approve("bob", sha="old"), approve("zed")]
    status = evaluate_approvals(RULES, ROSTER, (), decisions, [], NOW, commit_sha="new")
    assert status.approvers == ()
    assert status.expired == ("alice",)
    assert status.ignored == (
        "bob: approved another commit (old)",
        "zed: not allowed to approve this environment",
    )


def test_the_latest_decision_of_a_member_wins() -> None:
    decisions = [approve("alice", 5), ApprovalDecision("alice", "reject", NOW)]
    assert evaluate_approvals(RULES, ROSTER, (), decisions, [], NOW).approvers == ()


def test_anyone_on_the_roster_may_approve_when_rules_name_nobody() -> None:
    status = evaluate_approvals(Rules(required=1), ROSTER, (), [approve("zed")], [], NOW)
    assert status.granted


def test_check_approver_refusals_are_clear() -> None:
    with pytest.raises(AuthError, match="'mallory' is not on the team roster"):
        check_approver(RULES, ROSTER, "mallory", ())
    with pytest.raises(ApprovalError, match=r"zed may not approve .*allowed: group approvers"):
        check_approver(RULES, ROSTER, "zed", ())
    with pytest.raises(ApprovalError, match="alice authored this change and cannot approve it"):
        check_approver(RULES, ROSTER, "alice", {"alice"})
    assert (
        check_approver(Rules(allow_self_approval=True), ROSTER, "alice", {"alice"}).name == "alice"
    )


def test_authors_are_matched_by_name_email_or_login() -> None:
    assert ROSTER.authors(["A@X.IO"]) == {"alice"}
    assert ROSTER.authors(["alice-gh", "Bob", "someone@else"]) == {"alice", "bob"}


# --- risk rules -----------------------------------------------------------------------

WEB_TO_LEDGER = OpenedConnection(
    from_namespace="shop",
    from_name="web",
    to_namespace="payments",
    to_name="ledger",
    to_pod_labels={"data": "sensitive", "app": "ledger"},
    cross_namespace=True,
    port="5432",
    policies=("allow-web",),
)
TO_INTERNET = OpenedConnection(
    from_namespace="shop",
    from_name="web",
    to_namespace=None,
    to_name="external",
    external_cidr="0.0.0.0/0",
    port="443",
)
SENSITIVE = RiskRuleSpec(
    "sensitive", "opens_ingress_to_labels", {"data": "sensitive"}, {"security": 1}
)
CROSS = RiskRuleSpec("cross-ns", "opens_cross_namespace", extra_approvals=1)
EGRESS = RiskRuleSpec("egress", "widens_external_egress", require_groups={"security": 2})


def test_each_risk_rule_names_the_connection_that_triggered_it() -> None:
    findings = risk_findings([SENSITIVE, CROSS, EGRESS], [WEB_TO_LEDGER, TO_INTERNET])
    assert [f.rule for f in findings] == ["sensitive", "cross-ns", "egress"]
    assert findings[0].reason == (
        "risk rule 'sensitive': opens ingress to workload payments/ledger labelled "
        "data=sensitive: shop/web -> payments/ledger TCP 5432 (policy allow-web); "
        "needs 1 approval(s) from security"
    )
    assert findings[1].connections == (WEB_TO_LEDGER,)  # external egress is not cross-namespace
    assert "widens egress to external addresses 0.0.0.0/0" in findings[2].reason


def test_no_finding_when_nothing_matches() -> None:
    assert risk_findings([SENSITIVE, EGRESS], [TO_INTERNET.__class__("a", "b", "a", "c")]) == []


def test_security_group_requirement_and_extra_approvals() -> None:
    risk = risk_findings([SENSITIVE, CROSS], [WEB_TO_LEDGER])
    status = evaluate_approvals(RULES, ROSTER, (), [approve("alice"), approve("bob")], risk, NOW)
    assert not status.granted
    assert status.required == 3 and status.missing_groups == {"security": 1}
    assert status.who_can_approve == ("carol", "sec")
    granted = evaluate_approvals(
        RULES, ROSTER, (), [approve("alice"), approve("bob"), approve("sec")], risk, NOW
    )
    assert granted.granted
    assert any("risk rule 'sensitive'" in reason for reason in granted.reasons)


# --- invariants -------------------------------------------------------------------------

decisions = st.lists(
    st.builds(
        ApprovalDecision,
        member=st.sampled_from(NAMES),
        decision=st.just("approve"),
        at=st.integers(0, 120).map(lambda m: NOW - timedelta(minutes=m)),
    ),
    max_size=8,
)


@given(decisions, st.sampled_from(NAMES), st.frozensets(st.sampled_from(NAMES)))
def test_quorum_is_monotonic_in_fresh_approvals(
    existing: list[ApprovalDecision], extra: str, authors: frozenset[str]
) -> None:
    risk = risk_findings([SENSITIVE], [WEB_TO_LEDGER])
    before = evaluate_approvals(RULES, ROSTER, authors, existing, risk, NOW)
    after = evaluate_approvals(RULES, ROSTER, authors, [*existing, approve(extra)], risk, NOW)
    assert len(after.approvers) >= len(before.approvers)
    assert after.still_needed <= before.still_needed
    assert before.granted <= after.granted


@given(decisions, st.frozensets(st.sampled_from(NAMES)))
def test_self_approval_never_counts(
    existing: list[ApprovalDecision], authors: frozenset[str]
) -> None:
    status = evaluate_approvals(RULES, ROSTER, authors, existing, [], NOW)
    assert not set(status.approvers) & authors
    assert not set(status.who_can_approve) & authors


@given(decisions)
def test_expired_approvals_never_count(existing: list[ApprovalDecision]) -> None:
    status = evaluate_approvals(RULES, ROSTER, (), existing, [], NOW)
    fresh = {d.member for d in existing if d.at > NOW - RULES.expires_after}
    assert set(status.approvers) <= fresh
