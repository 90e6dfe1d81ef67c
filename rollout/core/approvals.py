"""Approval rules as a pure function of recorded decisions.

Nothing here reads a clock, a file or the network: `now` is a parameter and
every input is a plain frozen dataclass. The glue that builds these from the
configuration lives in :mod:`rollout.approval_rules`.

Who may approve an environment:
  * the members listed in `members`, and the members of `groups`;
  * when neither is given, anyone on the roster;
  * always the members of a group a matching risk rule requires.
An approval counts when it is an ``approve`` for this rollout's commit, from
an allowed member who is not an author (unless self-approval is allowed), and
younger than `expires_after`. One approval per member counts (the latest).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from rollout.core.cut_flows import CutFlow, breaking_flows, cut_flows_reason
from rollout.core.identities import Person, matches, member_keys, person
from rollout.errors import ApprovalError, AuthError

RiskCondition = Literal[
    "opens_ingress_to_labels",
    "opens_cross_namespace",
    "widens_external_egress",
    "breaks_observed_flows",
    "unmatched_author",  # not configurable: `Rules.unmatched_author` decides it
]
Decision = Literal["approve", "reject"]


@dataclass(frozen=True)
class VerifiedIdentity:
    """A roster member whose request passed a channel's verification."""

    member: str
    channel: str
    request_id: str
    channel_user: str | None = None
    """The id the channel used (Slack user id, GitHub login, token id), for the audit log."""


@dataclass(frozen=True)
class RosterMember:
    name: str
    groups: frozenset[str] = frozenset()
    slack_id: str | None = None
    github: str | None = None
    email: str | None = None
    emails: frozenset[str] = frozenset()
    """Further addresses the member commits with."""
    aliases: frozenset[str] = frozenset()
    """Names the member commits under (`Grace Hopper` for `grace`)."""

    def is_person(self, who: Person) -> bool:
        emails = {*self.emails, *([self.email] if self.email else [])}
        exact, local = member_keys(self.name, self.aliases, emails, self.github)
        return matches(exact, local, who, self.github)


@dataclass(frozen=True)
class Roster:
    members: tuple[RosterMember, ...] = ()

    def get(self, name: str) -> RosterMember | None:
        return next((m for m in self.members if m.name == name), None)

    def by_slack_id(self, slack_id: str) -> RosterMember | None:
        return next((m for m in self.members if m.slack_id and m.slack_id == slack_id), None)

    def by_github(self, login: str) -> RosterMember | None:
        # GitHub logins are case-insensitive.
        wanted = login.casefold()
        return next((m for m in self.members if m.github and m.github.casefold() == wanted), None)

    def in_group(self, group: str) -> tuple[RosterMember, ...]:
        return tuple(m for m in self.members if group in m.groups)

    def authors(self, identities: Iterable[str]) -> frozenset[str]:
        """Roster names of the people in `identities` (`Name <email>`, names, emails, logins).

        See `rollout.core.identities` for how a member is recognised.
        """
        people = [person(i) for i in identities if i and i.strip()]
        return frozenset(m.name for m in self.members if any(m.is_person(p) for p in people))

    def strangers(self, identities: Iterable[str]) -> tuple[str, ...]:
        """The people in `identities` that no member is (self-approval cannot be checked)."""
        people = [person(i) for i in identities if i and i.strip()]
        return tuple(
            dict.fromkeys(p.text() for p in people if not any(m.is_person(p) for m in self.members))
        )


@dataclass(frozen=True)
class RiskRuleSpec:
    name: str
    when: RiskCondition
    labels: Mapping[str, str] = field(default_factory=dict)
    require_groups: Mapping[str, int] = field(default_factory=dict)
    extra_approvals: int = 0
    more_than_flows: int = 0  # breaks_observed_flows: applies above this many cut flows
    seen_more_than: int = 0  # ... counting only flows seen more often than this
    block: bool = False  # no approval grants the rollout while the rule applies


@dataclass(frozen=True)
class Rules:
    """One environment's approval rules."""

    required: int = 1
    members: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    allow_self_approval: bool = False
    expires_after: timedelta = timedelta(hours=24)
    risk_rules: tuple[RiskRuleSpec, ...] = ()
    break_glass_group: str | None = None
    unmatched_author: Literal["warn", "extra_approval"] = "warn"
    """When a commit's author is no roster member: say so, or also need one more approval."""


@dataclass(frozen=True)
class OpenedConnection:
    """One connection a change newly allows (from the policy engine's diff)."""

    from_namespace: str | None
    from_name: str
    to_namespace: str | None
    to_name: str
    to_namespace_labels: Mapping[str, str] = field(default_factory=dict)
    to_pod_labels: Mapping[str, str] = field(default_factory=dict)
    cross_namespace: bool = False
    external_cidr: str | None = None
    port: str | None = None
    protocol: str = "TCP"
    policies: tuple[str, ...] = ()

    def describe(self) -> str:
        source = (
            f"{self.from_namespace}/{self.from_name}" if self.from_namespace else self.from_name
        )
        if self.external_cidr is not None:
            target = self.external_cidr
        elif self.to_namespace:
            target = f"{self.to_namespace}/{self.to_name}"
        else:
            target = self.to_name
        # The compact form of `policy diff` and `policy matrix`: `TCP 5432`, `TCP all`.
        port = f" {self.protocol} {self.port if self.port else 'all'}"
        via = f" (policy {', '.join(self.policies)})" if self.policies else ""
        return f"{source} -> {target}{port}{via}"

    def to_json(self) -> dict[str, Any]:
        return {
            "from_namespace": self.from_namespace,
            "from_name": self.from_name,
            "to_namespace": self.to_namespace,
            "to_name": self.to_name,
            "to_namespace_labels": dict(self.to_namespace_labels),
            "to_pod_labels": dict(self.to_pod_labels),
            "cross_namespace": self.cross_namespace,
            "external_cidr": self.external_cidr,
            "port": self.port,
            "protocol": self.protocol,
            "policies": list(self.policies),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OpenedConnection:
        return cls(
            from_namespace=data.get("from_namespace"),
            from_name=str(data.get("from_name", "")),
            to_namespace=data.get("to_namespace"),
            to_name=str(data.get("to_name", "")),
            to_namespace_labels=dict(data.get("to_namespace_labels") or {}),
            to_pod_labels=dict(data.get("to_pod_labels") or {}),
            cross_namespace=bool(data.get("cross_namespace", False)),
            external_cidr=data.get("external_cidr"),
            port=None if data.get("port") is None else str(data["port"]),
            protocol=str(data.get("protocol") or "TCP"),
            policies=tuple(data.get("policies") or ()),
        )


@dataclass(frozen=True)
class RiskFinding:
    """A risk rule that applied, and the connections that made it apply."""

    rule: str
    when: RiskCondition
    reason: str
    connections: tuple[OpenedConnection, ...]
    require_groups: Mapping[str, int] = field(default_factory=dict)
    extra_approvals: int = 0
    blocking: bool = False
    cut_flows: tuple[CutFlow, ...] = ()


@dataclass(frozen=True)
class ApprovalDecision:
    member: str
    decision: Decision
    at: datetime
    commit_sha: str | None = None
    channel: str = ""


@dataclass(frozen=True)
class ApprovalStatus:
    granted: bool
    approvers: tuple[str, ...]
    """Members whose approvals count, in the order they approved."""
    required: int
    """Total approvals needed (the rule's `required` plus risk rules' extras)."""
    still_needed: int
    missing_groups: Mapping[str, int]
    """Group -> approvals still needed from members of that group."""
    who_can_approve: tuple[str, ...]
    expired: tuple[str, ...]
    ignored: tuple[str, ...]
    """Approvals that do not count, each with why (author, not allowed, other commit)."""
    reasons: tuple[str, ...]
    """Why this many approvals are needed (risk rules named), for the rollout message."""
    blocked: tuple[str, ...] = ()
    """Blocking risk rules that apply: no approval grants the rollout while they do."""

    def summary(self) -> str:
        """One line for people: who approved, or how many more are needed and from whom.

        Never "2/2" while a group's approval is still missing: the count given is
        what quorum still lacks, with the groups it must include.
        """
        if self.granted:
            return f"approved by {', '.join(self.approvers)}"
        more = self.still_needed
        text = f"waiting for {more} more approval{'' if more == 1 else 's'}"
        if self.missing_groups:
            groups = [f"{n} from group {g}" for g, n in sorted(self.missing_groups.items())]
            if more == 1:
                text += f", from group {next(iter(self.missing_groups))}"
            elif more == sum(self.missing_groups.values()):
                text += f" ({', '.join(groups)})"
            else:
                text += f" (at least {', '.join(groups)})"
        if self.approvers:
            text += f"; approved so far by {', '.join(self.approvers)}"
        if more == 0:  # quorum is there, but a blocking rule holds it back
            by = f" (approved by {', '.join(self.approvers)})" if self.approvers else ""
            text = f"enough approvals{by}, but not granted"
        elif self.who_can_approve:
            text += f"; can approve: {', '.join(self.who_can_approve)}"
        else:
            text += "; nobody else on the roster may give it"
        return "; ".join([*(f"blocked: {reason}" for reason in self.blocked), text])


# --- risk rules -------------------------------------------------------------------


def _matches(rule: RiskRuleSpec, conn: OpenedConnection) -> str | None:
    """Why `rule` applies to `conn`, or None."""
    if rule.when == "opens_ingress_to_labels":
        if conn.external_cidr is not None:
            return None
        wanted = dict(rule.labels)
        shown = ", ".join(f"{k}={v}" for k, v in sorted(wanted.items()))
        if wanted.items() <= dict(conn.to_namespace_labels).items():
            return f"opens ingress to namespace {conn.to_namespace} labelled {shown}"
        if wanted.items() <= dict(conn.to_pod_labels).items():
            return f"opens ingress to workload {conn.to_namespace}/{conn.to_name} labelled {shown}"
        return None
    if rule.when == "opens_cross_namespace":
        if conn.cross_namespace and conn.external_cidr is None:
            return f"opens traffic across namespaces ({conn.from_namespace} -> {conn.to_namespace})"
        return None
    if conn.external_cidr is not None:
        return f"widens egress to external addresses {conn.external_cidr}"
    return None


def _needs(rule: RiskRuleSpec) -> str:
    needs = [f"{n} approval(s) from {g}" for g, n in sorted(rule.require_groups.items())]
    if rule.extra_approvals:
        needs.append(f"{rule.extra_approvals} extra approval(s)")
    if rule.block:
        return "; blocked until each cut flow is acknowledged or the change is fixed"
    return f"; needs {' and '.join(needs)}" if needs else ""


def _cut_finding(
    rule: RiskRuleSpec, cut: Sequence[CutFlow], acknowledged: Collection[str], window: str | None
) -> RiskFinding | None:
    flows = breaking_flows(
        cut,
        more_than_flows=rule.more_than_flows,
        seen_more_than=rule.seen_more_than,
        acknowledged=acknowledged,
    )
    if not flows:
        return None
    return RiskFinding(
        rule=rule.name,
        when=rule.when,
        reason=f"risk rule {rule.name!r}: {cut_flows_reason(flows, window)}{_needs(rule)}",
        connections=(),
        require_groups=dict(rule.require_groups),
        extra_approvals=rule.extra_approvals,
        blocking=rule.block,
        cut_flows=flows,
    )


def risk_findings(
    risk_rules: Sequence[RiskRuleSpec],
    opened: Sequence[OpenedConnection],
    cut: Sequence[CutFlow] = (),
    *,
    acknowledged: Collection[str] = (),
    window: str | None = None,
) -> list[RiskFinding]:
    """One finding per rule that applies, in rule order.

    A connection rule applies when at least one opened connection matches; a
    `breaks_observed_flows` rule when its thresholds are met by the cut flows
    not `acknowledged` (by `CutFlow.key`).
    """
    findings: list[RiskFinding] = []
    for rule in risk_rules:
        if rule.when == "breaks_observed_flows":
            found = _cut_finding(rule, cut, acknowledged, window)
            if found is not None:
                findings.append(found)
            continue
        hits = [(conn, why) for conn in opened if (why := _matches(rule, conn)) is not None]
        if not hits:
            continue
        first_conn, first_why = hits[0]
        reason = f"risk rule {rule.name!r}: {first_why}: {first_conn.describe()}"
        if len(hits) > 1:
            reason += f" (and {len(hits) - 1} more connection(s))"
        reason += _needs(rule)
        findings.append(
            RiskFinding(
                rule=rule.name,
                when=rule.when,
                reason=reason,
                connections=tuple(conn for conn, _ in hits),
                require_groups=dict(rule.require_groups),
                extra_approvals=rule.extra_approvals,
            )
        )
    return findings


def _group_requirements(risk: Sequence[RiskFinding]) -> dict[str, int]:
    needs: dict[str, int] = {}
    for finding in risk:
        for group, count in finding.require_groups.items():
            needs[group] = max(needs.get(group, 0), count)
    return needs


# --- who may approve ---------------------------------------------------------------


def allowed_approvers(
    rules: Rules, roster: Roster, risk: Sequence[RiskFinding] = ()
) -> tuple[RosterMember, ...]:
    """Roster members allowed to approve, in roster order."""
    risk_groups = set(_group_requirements(risk))
    open_to_all = not rules.members and not rules.groups
    return tuple(
        m
        for m in roster.members
        if open_to_all
        or m.name in rules.members
        or m.groups & set(rules.groups)
        or m.groups & risk_groups
    )


def check_approver(
    rules: Rules,
    roster: Roster,
    member: str,
    authors: Iterable[str],
    risk: Sequence[RiskFinding] = (),
) -> RosterMember:
    """The roster entry of `member` if they may approve; ApprovalError saying why not.

    Raises AuthError when `member` is not on the roster at all.
    """
    entry = roster.get(member)
    if entry is None:
        raise AuthError(f"{member!r} is not on the team roster; ask an admin to add you")
    if entry not in allowed_approvers(rules, roster, risk):
        allowed = _describe_allowed(rules, risk)
        raise ApprovalError(f"{member} may not approve this environment (allowed: {allowed})")
    if not rules.allow_self_approval and entry.name in set(authors):
        raise ApprovalError(f"{member} authored this change and cannot approve it")
    return entry


def _describe_allowed(rules: Rules, risk: Sequence[RiskFinding]) -> str:
    parts = list(rules.members)
    parts += [f"group {g}" for g in rules.groups]
    parts += [f"group {g}" for g in sorted(_group_requirements(risk)) if g not in rules.groups]
    return ", ".join(parts) or "anyone on the roster"


# --- evaluation ------------------------------------------------------------------------


def evaluate_approvals(
    rules: Rules,
    roster: Roster,
    authors: Iterable[str],
    approvals: Sequence[ApprovalDecision],
    risk: Sequence[RiskFinding],
    now: datetime,
    *,
    commit_sha: str | None = None,
) -> ApprovalStatus:
    """Whether the recorded approvals grant the rollout, and what is still missing.

    `authors` are roster names (see `Roster.authors`). With `commit_sha`,
    approvals recorded for another commit never count.
    """
    author_names = frozenset(authors)
    allowed = {m.name: m for m in allowed_approvers(rules, roster, risk)}
    group_needs = _group_requirements(risk)
    required = rules.required + sum(f.extra_approvals for f in risk)

    latest: dict[str, ApprovalDecision] = {}
    for decision in sorted(approvals, key=lambda d: d.at):
        latest[decision.member] = decision

    counted: list[ApprovalDecision] = []
    expired: list[str] = []
    ignored: list[str] = []
    for decision in sorted(latest.values(), key=lambda d: d.at):
        if decision.decision != "approve":
            continue
        if commit_sha is not None and decision.commit_sha not in (None, commit_sha):
            ignored.append(f"{decision.member}: approved another commit ({decision.commit_sha})")
        elif decision.member not in allowed:
            ignored.append(f"{decision.member}: not allowed to approve this environment")
        elif decision.member in author_names and not rules.allow_self_approval:
            ignored.append(f"{decision.member}: authored the change")
        elif decision.at + rules.expires_after <= now:
            expired.append(decision.member)
        else:
            counted.append(decision)

    approvers = tuple(d.member for d in counted)
    missing_groups: dict[str, int] = {}
    for group, count in sorted(group_needs.items()):
        have = sum(1 for name in approvers if group in allowed[name].groups)
        if have < count:
            missing_groups[group] = count - have
    still_needed = max(0, required - len(approvers), sum(missing_groups.values()))
    blocked = tuple(f.reason for f in risk if f.blocking)
    granted = still_needed == 0 and not missing_groups and not blocked

    candidates = [
        m
        for name, m in allowed.items()
        if name not in approvers and (rules.allow_self_approval or name not in author_names)
    ]
    if missing_groups and still_needed <= sum(missing_groups.values()):
        # Only group approvals are missing; while more are needed, anyone allowed counts.
        candidates = [m for m in candidates if m.groups & set(missing_groups)]
    who = () if granted else tuple(m.name for m in candidates)

    reasons = [f"{rules.required} approval(s) required by the environment's rules"]
    reasons += [f.reason for f in risk]
    return ApprovalStatus(
        granted=granted,
        approvers=approvers,
        required=required,
        still_needed=still_needed,
        missing_groups=missing_groups,
        who_can_approve=who,
        expired=tuple(expired),
        ignored=tuple(ignored),
        reasons=tuple(reasons),
        blocked=blocked,
    )


def unmatched_author_finding(rules: Rules, strangers: Sequence[str]) -> RiskFinding | None:
    """The notice (and, if configured, the extra approval) for authors nobody on the roster is."""
    if not strangers or rules.allow_self_approval:
        return None
    extra = 1 if rules.unmatched_author == "extra_approval" else 0
    then = "one more approval is required" if extra else "approvers: check you did not write it"
    return RiskFinding(
        rule="unmatched_author",
        when="unmatched_author",
        reason=f"author not on the roster, self-approval cannot be checked: "
        f"{', '.join(strangers)}; {then}",
        connections=(),
        extra_approvals=extra,
    )
