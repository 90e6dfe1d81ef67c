"""`team`: the roster of members, their identities, hours and groups."""

from __future__ import annotations

from datetime import date

from pydantic import Field, field_validator

from rollout.config.schema.types import DnsLabel, Strict, TimezoneName, WeeklyHours


class Member(Strict):
    """A person on the roster: identities per channel, timezone, hours, groups.

    ```yaml
    members:
      - name: mia
        timezone: Australia/Sydney
        hours: {mon-fri: ["08:00-12:00", "20:00-01:00+1"]}
        days_off: [2026-10-20]
        groups: [approvers, oncall]
        slack_id: U01MIA0004
        github: mia-w
        email: mia@example.com
    ```
    """

    name: DnsLabel = Field(
        description="Unique name of the member, used by `approvals.members`, "
        "`windows.overlap.members` and the audit log."
    )
    timezone: TimezoneName = Field(
        description="The member's own timezone for `hours` and `days_off`."
    )
    hours: WeeklyHours = Field(
        default_factory=dict,
        description='Working hours, e.g. `{mon-fri: "09:00-17:00"}`; they decide when the '
        "member counts as online for overlap windows. A range belongs to the day it starts "
        "on. Empty: never counted as online.",
    )
    days_off: tuple[date, ...] = Field(
        default=(),
        description="Dates (`YYYY-MM-DD`, local) on which ranges starting that day are dropped.",
    )
    groups: tuple[str, ...] = Field(
        default=(),
        description="Free-form group names, referred to by `approvals.groups`, "
        "`approvals.risk_rules[].require_groups`, `approvals.break_glass_group` and "
        "`windows.overlap.groups`.",
    )
    slack_id: str | None = Field(
        default=None,
        description="Slack user id (`U...`, not the display name): buttons and commands "
        "from this user act as this member; unknown Slack users are refused.",
    )
    github: str | None = Field(
        default=None,
        description="GitHub login (case-insensitive): pull-request reviews from it act as "
        "this member, and commits it authored count as the member's own.",
    )
    email: str | None = Field(
        default=None,
        description="Email address: commits with this author email count as the member's "
        "own (no self-approval); also accepted in `server.trusted_user_header`.",
    )
    emails: tuple[str, ...] = Field(
        default=(),
        description="Further addresses the member commits with (work, personal, old): "
        "commits by them count as the member's own.",
    )
    aliases: tuple[str, ...] = Field(
        default=(),
        description="Names the member commits under, e.g. `Grace Hopper` for `grace`: "
        "commits by them count as the member's own.",
    )


class Team(Strict):
    """The roster: who approves, and whose working hours make overlap windows."""

    members: tuple[Member, ...] = Field(
        default=(),
        description="The people on the roster; names must be unique. Anyone not listed "
        "cannot approve, hold or break glass.",
    )

    @field_validator("members")
    @classmethod
    def _unique_names(cls, members: tuple[Member, ...]) -> tuple[Member, ...]:
        seen: set[str] = set()
        for index, member in enumerate(members):
            if member.name in seen:
                raise ValueError(f"[{index}].name: duplicate member {member.name!r}")
            seen.add(member.name)
        return members
