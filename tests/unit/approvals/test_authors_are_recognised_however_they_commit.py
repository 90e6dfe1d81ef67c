"""Self-approval: a member is recognised as an author however the commit names them.

The example roster's members have no email: `Grace Hopper <grace@example.com>`
was approved by member `grace` and counted. Authors are now matched by name,
aliases, emails, GitHub login (and its no-reply address), and an email's local
part; the committer and `Co-authored-by:` trailers count too; an author nobody
on the roster is gets said on the approval request.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rollout.core.approvals import (
    ApprovalDecision,
    Roster,
    RosterMember,
    Rules,
    evaluate_approvals,
    unmatched_author_finding,
)
from rollout.core.identities import co_authors, commit_people, person

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
ROSTER = Roster(
    (
        RosterMember("grace", github="ghopper"),
        RosterMember("ada", aliases=frozenset({"Augusta Ada King"})),
        RosterMember("linus", emails=frozenset({"torvalds@linux.example"})),
        RosterMember("mia", email="mia@example.com"),
    )
)


@pytest.mark.parametrize(
    ("identity", "member"),
    [
        ("Grace Hopper <grace@example.com>", "grace"),  # the reported case: local part
        ("G. H. <ghopper@corp.example>", "grace"),  # local part is the login
        ("Grace <12345+ghopper@users.noreply.github.com>", "grace"),  # GitHub no-reply
        ("Augusta Ada King <aak@analytical.example>", "ada"),  # alias
        ("Linus <torvalds@linux.example>", "linus"),  # further email
        ("MIA <Mia@Example.com>", "mia"),  # case-insensitive email
        ("ghopper", "grace"),  # a bare login
    ],
)
def test_a_member_is_recognised_as_the_author(identity: str, member: str) -> None:
    assert ROSTER.authors([identity]) == {member}
    assert ROSTER.strangers([identity]) == ()


def test_the_reported_self_approval_no_longer_counts() -> None:
    authors = ROSTER.authors(["Grace Hopper <grace@example.com>"])
    status = evaluate_approvals(
        Rules(required=1),
        ROSTER,
        authors,
        [ApprovalDecision("grace", "approve", NOW)],
        [],
        NOW,
    )
    assert not status.granted
    assert status.ignored == ("grace: authored the change",)


def test_co_authors_and_the_committer_are_authors_too() -> None:
    message = (
        "Open the ledger\n\nCo-authored-by: Augusta Ada King <aak@example.com>\n"
        "co-authored-by:   Linus <torvalds@linux.example>  \n"
    )
    assert [p.text() for p in co_authors(message)] == [
        "Augusta Ada King <aak@example.com>",
        "Linus <torvalds@linux.example>",
    ]
    people = commit_people(
        person("Someone <someone@else.example>"), person("Mia <mia@example.com>"), message
    )
    assert ROSTER.authors(p.text() for p in people) == {"ada", "linus", "mia"}


def test_an_author_nobody_on_the_roster_is_is_said_and_can_cost_an_approval() -> None:
    strangers = ROSTER.strangers(["Eve Outsider <eve@outside.example>", "ada"])
    assert strangers == ("Eve Outsider <eve@outside.example>",)

    warn = unmatched_author_finding(Rules(), strangers)
    assert warn is not None and warn.extra_approvals == 0
    assert "author not on the roster" in warn.reason and "eve@outside.example" in warn.reason

    stricter = unmatched_author_finding(Rules(unmatched_author="extra_approval"), strangers)
    assert stricter is not None and stricter.extra_approvals == 1
    status = evaluate_approvals(Rules(required=1), ROSTER, frozenset(), [], [stricter], NOW)
    assert status.required == 2 and stricter.reason in status.reasons

    assert unmatched_author_finding(Rules(allow_self_approval=True), strangers) is None
    assert unmatched_author_finding(Rules(), ()) is None


def test_a_github_account_named_by_a_delivery_is_the_member_with_that_login() -> None:
    from rollout.core.identities import link_logins

    stranger = person("G. <g@laptop.local>")
    assert ROSTER.authors([stranger.text()]) == frozenset()
    (linked,) = link_logins([stranger], [person("G. <G@laptop.local> (@GHopper)")])
    assert linked.text() == "G. <g@laptop.local> (@GHopper)"
    assert person(linked.text()) == linked
    assert ROSTER.authors([linked.text()]) == {"grace"}
    assert ROSTER.strangers([linked.text()]) == ()
    # A login is matched only to a member's `github`, not to a name.
    assert ROSTER.authors(["@ada"]) == frozenset()
    assert ROSTER.authors(["@ghopper"]) == {"grace"}
