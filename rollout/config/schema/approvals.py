"""`environments[].approvals`: who must approve, and risk rules asking for more."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, model_validator

from rollout.config.schema.types import Duration, Strict


class RiskRule(Strict):
    """Extra approvals needed when the connectivity diff of a change matches.

    `when` is one of: `opens_ingress_to_labels` (a namespace or workload
    carrying these labels receives new traffic), `opens_cross_namespace`,
    `widens_external_egress`, `breaks_observed_flows` (the change would cut
    flows observed in the environment's `observed_flows`).

    A connection rule matches when at least one connection the change newly
    allows meets its condition. `breaks_observed_flows` matches when more
    than `more_than_flows` cut flows were each seen more than
    `seen_more_than` times (default: any cut flow); a cut flow a reviewer
    acknowledged on the rollout no longer counts. With `block: true` no
    approval grants the rollout while the rule matches. The extras of all
    matching rules add up; for a group named by several, the largest count
    applies.

    ```yaml
    risk_rules:
      - name: database-exposure
        when: opens_ingress_to_labels
        labels: {tier: database}
        require_groups: {security: 1}
      - name: cross-namespace
        when: opens_cross_namespace
        extra_approvals: 1
    ```
    """

    name: str = Field(description="Shown in the rollout's reasons for the approvals it needs.")
    when: Literal[
        "opens_ingress_to_labels",
        "opens_cross_namespace",
        "widens_external_egress",
        "breaks_observed_flows",
    ] = Field(
        description="`opens_ingress_to_labels`: new traffic reaches a namespace or pod "
        "carrying all of `labels`; `opens_cross_namespace`: new traffic between two "
        "namespaces; `widens_external_egress`: new egress to addresses outside the cluster; "
        "`breaks_observed_flows`: the change would deny flows seen in `observed_flows`."
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels the destination namespace or pod must all carry; required with "
        "`opens_ingress_to_labels`, ignored otherwise.",
    )
    require_groups: dict[str, int] = Field(
        default_factory=dict,
        description="Group -> approvals that must come from its members, e.g. `{security: 1}`. "
        "They count towards the total, and make the group's members allowed approvers.",
    )
    extra_approvals: int = Field(
        default=0, ge=0, description="Approvals needed on top of `approvals.required`."
    )
    more_than_flows: int = Field(
        default=0,
        ge=0,
        description="`breaks_observed_flows`: match only when more than this many cut flows "
        "count (0: any).",
    )
    seen_more_than: int = Field(
        default=0,
        ge=0,
        description="`breaks_observed_flows`: count only cut flows seen more than this many "
        "times in the window.",
    )
    block: bool = Field(
        default=False,
        description="`breaks_observed_flows`: hold the rollout whatever the approvals while "
        "the rule matches (until the cut flows are acknowledged or the change is fixed).",
    )

    @model_validator(mode="after")
    def _labels_when_needed(self) -> RiskRule:
        if self.when == "opens_ingress_to_labels" and not self.labels:
            raise ValueError("'labels' is required when 'when' is opens_ingress_to_labels")
        observed = (self.more_than_flows, self.seen_more_than, self.block)
        if self.when != "breaks_observed_flows" and observed != (0, 0, False):
            raise ValueError(
                "'more_than_flows', 'seen_more_than' and 'block' apply only to "
                "'when: breaks_observed_flows'"
            )
        return self


class ApprovalRules(Strict):
    """Who must approve before an apply to this environment.

    Only environments after the first are gated; the first is applied as
    soon as a commit lands. An approval counts for one rollout and commit,
    once per member (the latest decision), while younger than `expires_after`.

    ```yaml
    approvals:
      required: 2
      groups: [approvers]
      expires_after: 24h
      break_glass_group: oncall
    ```
    """

    required: int = Field(
        default=1, ge=1, description="Approvals needed, before any risk rule's extras."
    )
    members: tuple[str, ...] = Field(
        default=(),
        description="Team members allowed to approve. With neither `members` nor `groups`, "
        "anyone on the roster may.",
    )
    groups: tuple[str, ...] = Field(
        default=(), description="Groups (`team.members[].groups`) whose members may approve."
    )
    allow_self_approval: bool = Field(
        default=False,
        description="Let an author of the change approve it. Authors are the commit's "
        "author, committer and `Co-authored-by:` trailers, matched to members by name, "
        "`aliases`, `email`/`emails`, `github` login (also GitHub's no-reply address, and "
        "the accounts signed push and pull-request deliveries name), or an email whose local "
        "part is the member's name or login.",
    )
    unmatched_author: Literal["warn", "extra_approval"] = Field(
        default="warn",
        description="When an author is no member (self-approval cannot be checked): "
        "`warn` says so on the approval request; `extra_approval` also requires one more "
        "approval.",
    )
    expires_after: Duration = Field(
        default=timedelta(hours=24),
        description="An approval stops counting this long after it was given.",
    )
    risk_rules: tuple[RiskRule, ...] = Field(
        default=(),
        description="Extra approvals for risky changes, judged from the connectivity diff.",
    )
    break_glass_group: str | None = Field(
        default=None,
        description="Members of this group may override the apply window for one rollout, "
        "with a reason (approvals are still needed), and may hold or resume the "
        "environment. None: no break-glass.",
    )
