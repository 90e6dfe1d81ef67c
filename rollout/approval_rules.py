"""From the configuration and the stored rollout to the pure approval rules' inputs.

:mod:`rollout.core.approvals` takes plain frozen dataclasses; these build them
from the settings (the team roster, an environment's approval rules) and from
what the engine recorded on a rollout (the connections it opens, its authors).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rollout.config.schema import ApprovalRules, Team
from rollout.core.approvals import (
    OpenedConnection,
    RiskRuleSpec,
    Roster,
    RosterMember,
    Rules,
)
from rollout.core.cut_flows import CutFlow
from rollout.core.identities import Person, co_authors, link_logins, person
from rollout.store.records import RolloutRecord


def roster_from_team(team: Team) -> Roster:
    return Roster(
        tuple(
            RosterMember(
                name=m.name,
                groups=frozenset(m.groups),
                slack_id=m.slack_id,
                github=m.github,
                email=m.email,
                emails=frozenset(m.emails),
                aliases=frozenset(m.aliases),
            )
            for m in team.members
        )
    )


def rules_from_config(rules: ApprovalRules) -> Rules:
    return Rules(
        required=rules.required,
        members=rules.members,
        groups=rules.groups,
        allow_self_approval=rules.allow_self_approval,
        expires_after=rules.expires_after,
        unmatched_author=rules.unmatched_author,
        risk_rules=tuple(
            RiskRuleSpec(
                name=r.name,
                when=r.when,
                labels=dict(r.labels),
                require_groups=dict(r.require_groups),
                extra_approvals=r.extra_approvals,
                more_than_flows=r.more_than_flows,
                seen_more_than=r.seen_more_than,
                block=r.block,
            )
            for r in rules.risk_rules
        ),
        break_glass_group=rules.break_glass_group,
    )


def opened_connections(rollout: RolloutRecord) -> list[OpenedConnection]:
    """The connections the engine stored in the rollout's `risk` artifact.

    Format: ``{"opened": [OpenedConnection.to_json(), ...]}``.
    """
    risk = rollout.risk
    if not isinstance(risk, Mapping):
        return []
    return [OpenedConnection.from_json(item) for item in risk.get("opened") or ()]


def cut_flows(rollout: RolloutRecord) -> tuple[list[CutFlow], str | None]:
    """The observed flows the change would cut, and the window they were seen in.

    Format: ``{"cut_flows": [rollout.flows.report.flow_json(...), ...], "window": "7d"}``.
    """
    risk = rollout.risk
    if not isinstance(risk, Mapping):
        return [], None
    window = risk.get("observed_window")
    flows = [CutFlow.from_json(item) for item in risk.get("cut_flows") or ()]
    return flows, str(window) if window else None


GITHUB_ACCOUNTS = "github.accounts"
"""Event kind: the GitHub accounts a signed push or pull-request delivery names.

Details: ``{"commits": {sha: {"authors": [text], "committers": [text]}}}``,
each text a person `Name <email> (@login)` or `@login`.
"""
ACCOUNTS_LOOKBACK = 500
"""How many of the newest `github.accounts` events approvals read."""


def author_identities(
    rollout: RolloutRecord,
    *,
    committers: bool = True,
    accounts: Iterable[Mapping[str, Any]] = (),
) -> list[str]:
    """Names, emails or logins of every author of the commits in the rollout.

    The rollout's own `author`/`author_email`, plus ``plan["authors"]`` when
    the engine records the authors of every commit since the previous one.
    `accounts` are the details of `github.accounts` events: a person whose
    email GitHub linked to an account carries its login, and the accounts
    named for the rollout's own commit (a pull request's author) are authors.
    """
    identities = [person_text(rollout.author, rollout.author_email)]
    identities += [p.text() for p in co_authors(rollout.message or "")]
    if isinstance(rollout.plan, Mapping):
        identities += [str(a) for a in rollout.plan.get("authors") or ()]
        if committers:
            identities += [str(c) for c in rollout.plan.get("committers") or ()]
    linked: list[Person] = []
    own: list[str] = []
    for details in accounts:
        commits = details.get("commits")
        for sha, roles in commits.items() if isinstance(commits, Mapping) else ():
            for role in ("authors", "committers"):
                texts = [
                    str(t) for t in (roles.get(role) if isinstance(roles, Mapping) else None) or ()
                ]
                linked += [person(t) for t in texts]
                if sha == rollout.commit_sha and (committers or role == "authors"):
                    own += texts
    people = link_logins([person(i) for i in identities if i and i.strip()], linked)
    return list(dict.fromkeys([*(p.text() for p in people), *own]))


def person_text(name: str | None, email: str | None) -> str:
    return Person(name or "", email or "").text()
