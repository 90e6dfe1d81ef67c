"""The approval summary a reviewer reads: never "2/2" while a group approval is missing,
and every member whose approval would count is named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rollout.core.approvals import (
    ApprovalDecision,
    OpenedConnection,
    RiskRuleSpec,
    Roster,
    RosterMember,
    Rules,
    evaluate_approvals,
    risk_findings,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ROSTER = Roster(
    (
        RosterMember("grace", frozenset({"approvers"})),
        RosterMember("bob", frozenset({"approvers"})),
        RosterMember("ada", frozenset({"approvers", "security"})),
    )
)
RULES = Rules(required=2, groups=("approvers",), expires_after=timedelta(hours=4))
SENSITIVE = RiskRuleSpec(
    name="sensitive",
    when="opens_ingress_to_labels",
    labels={"data": "sensitive"},
    require_groups={"security": 1},
)
TO_LEDGER = OpenedConnection(
    from_namespace="shop",
    from_name="web",
    to_namespace="payments",
    to_name="ledger",
    to_pod_labels={"data": "sensitive"},
    cross_namespace=True,
    port="5432",
)


def approve(member: str) -> ApprovalDecision:
    return ApprovalDecision(member, "approve", NOW)


def status_with(*members: str):  # type: ignore[no-untyped-def]
    risk = risk_findings([SENSITIVE], [TO_LEDGER])
    return evaluate_approvals(RULES, ROSTER, (), [approve(m) for m in members], risk, NOW)


def test_two_of_two_without_the_security_approval_is_not_read_as_quorum() -> None:
    status = status_with("grace", "bob")
    assert not status.granted
    assert status.summary() == (
        "waiting for 1 more approval, from group security; "
        "approved so far by grace, bob; can approve: ada"
    )
    assert "2/2" not in status.summary()


def test_with_no_approval_yet_everyone_whose_approval_counts_is_named() -> None:
    status = status_with()
    assert status.who_can_approve == ("grace", "bob", "ada")
    assert status.summary() == (
        "waiting for 2 more approvals (at least 1 from group security); "
        "can approve: grace, bob, ada"
    )


def test_a_granted_status_names_its_approvers() -> None:
    assert status_with("grace", "ada").summary() == "approved by grace, ada"
