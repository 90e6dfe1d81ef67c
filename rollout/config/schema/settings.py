"""`Settings`: the whole file, and the checks that its cross-references exist."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from rollout.config.schema.approvals import ApprovalRules
from rollout.config.schema.environments import Environment
from rollout.config.schema.notifications import Notifications
from rollout.config.schema.repository import Repository
from rollout.config.schema.service import Server, Store
from rollout.config.schema.team import Team
from rollout.config.schema.types import Strict
from rollout.errors import ConfigError


class Settings(Strict):
    """The whole configuration file."""

    repository: Repository = Field(description="Where the policies live.")
    environments: tuple[Environment, ...] = Field(
        description="The promotion chain, in order (at least one; names unique)."
    )
    team: Team = Field(
        default_factory=Team, description="The roster: approvers and their working hours."
    )
    notifications: Notifications = Field(
        default_factory=Notifications, description="Where rollout events go; none by default."
    )
    store: Store = Field(default_factory=Store, description="The state store.")
    server: Server = Field(
        default_factory=Server, description="HTTP service and leader election (`rollout serve`)."
    )

    @field_validator("environments")
    @classmethod
    def _unique_environments(cls, environments: tuple[Environment, ...]) -> tuple[Environment, ...]:
        if not environments:
            raise ValueError("list at least one environment, in promotion order")
        seen: set[str] = set()
        for index, env in enumerate(environments):
            if env.name in seen:
                raise ValueError(f"[{index}].name: duplicate environment {env.name!r}")
            seen.add(env.name)
        return environments

    @model_validator(mode="after")
    def _references_exist(self) -> Settings:
        members = {m.name for m in self.team.members}
        groups = {g for m in self.team.members for g in m.groups}
        webhook_names = {w.name for w in self.notifications.webhooks}
        channels = webhook_names | {"slack", "github"}
        problems: list[str] = []
        for i, env in enumerate(self.environments):
            rules = env.approvals or ApprovalRules(required=1)
            for j, name in enumerate(rules.members):
                if name not in members:
                    problems.append(
                        f"environments[{i}].approvals.members[{j}]: no team member {name!r}"
                    )
            for j, group in enumerate(rules.groups):
                if group not in groups:
                    problems.append(
                        f"environments[{i}].approvals.groups[{j}]: no member is in group "
                        f"{group!r} (groups in team.members: {_listing(groups)})"
                    )
            if env.approvals and not (rules.members or rules.groups or members):
                problems.append(f"environments[{i}].approvals.required: no team member can approve")
            overlap = env.windows.overlap if env.windows else None
            for j, name in enumerate(overlap.members if overlap else ()):
                if name not in members:
                    problems.append(
                        f"environments[{i}].windows.overlap.members[{j}]: no team member {name!r}"
                    )
            for group in overlap.groups if overlap else {}:
                if group not in groups:
                    problems.append(
                        f"environments[{i}].windows.overlap.groups.{group}: "
                        f"no member is in group {group!r}"
                    )
            if env.require_signed_commits and self.repository.signing_keys is None:
                problems.append(
                    f"environments[{i}].require_signed_commits: true needs "
                    "repository.signing_keys (the OpenPGP keys or SSH allowed signers "
                    "whose signatures count)"
                )
            for j, channel in enumerate(env.notify or ()):
                if channel not in channels:
                    problems.append(
                        f"environments[{i}].notify[{j}]: no channel {channel!r} "
                        f"(known: {_listing(channels)})"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def environment(self, name: str) -> Environment:
        """The environment called `name`; ConfigError listing the known ones."""
        for env in self.environments:
            if env.name == name:
                return env
        known = ", ".join(e.name for e in self.environments)
        raise ConfigError(f"no environment {name!r} in the configuration (known: {known})")


def _listing(names: set[str]) -> str:
    return ", ".join(sorted(names)) or "none"
