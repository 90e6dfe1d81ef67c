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
from rollout.config.schema.windows import WindowRules
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
            if i == 0 and env.is_fleet:
                problems.append(
                    "environments[0].clusters: the first environment is applied as soon as "
                    "a commit lands, to one cluster: give it `cluster`, and `clusters` "
                    "(a fleet in waves) to a later environment"
                )
            problems += _rule_references(
                f"environments[{i}]", env.approvals, env.windows, members, groups
            )
            for k, wave in enumerate(env.waves or ()):
                problems += _rule_references(
                    f"environments[{i}].waves[{k}]", wave.approvals, wave.windows, members, groups
                )
            rules = env.approvals or ApprovalRules(required=1)
            if env.approvals and not (rules.members or rules.groups or members):
                problems.append(f"environments[{i}].approvals.required: no team member can approve")
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

    def target(self, name: str) -> Environment:
        """What `name` addresses: an environment, or one cluster of a fleet as
        `env/cluster` (that cluster's connection and overlay). ConfigError if unknown."""
        environment, _, cluster = name.partition("/")
        env = self.environment(environment)
        if not cluster:
            return env
        try:
            return env.for_cluster(cluster)
        except KeyError:
            known = ", ".join(c.name for c in env.clusters or ()) or "none"
            raise ConfigError(
                f"no cluster {cluster!r} in environment {environment!r} (known: {known})"
            ) from None

    def environment(self, name: str) -> Environment:
        """The environment called `name`; ConfigError listing the known ones."""
        for env in self.environments:
            if env.name == name:
                return env
        known = ", ".join(e.name for e in self.environments)
        raise ConfigError(f"no environment {name!r} in the configuration (known: {known})")


def _rule_references(
    where: str,
    approvals: ApprovalRules | None,
    windows: WindowRules | None,
    members: set[str],
    groups: set[str],
) -> list[str]:
    """Members and groups named by approval and window rules must be in the team."""
    problems: list[str] = []
    rules = approvals or ApprovalRules(required=1)
    for j, name in enumerate(rules.members):
        if name not in members:
            problems.append(f"{where}.approvals.members[{j}]: no team member {name!r}")
    for j, group in enumerate(rules.groups):
        if group not in groups:
            problems.append(
                f"{where}.approvals.groups[{j}]: no member is in group "
                f"{group!r} (groups in team.members: {_listing(groups)})"
            )
    overlap = windows.overlap if windows else None
    for j, name in enumerate(overlap.members if overlap else ()):
        if name not in members:
            problems.append(f"{where}.windows.overlap.members[{j}]: no team member {name!r}")
    for group in overlap.groups if overlap else {}:
        if group not in groups:
            problems.append(
                f"{where}.windows.overlap.groups.{group}: no member is in group {group!r}"
            )
    return problems


def _listing(names: set[str]) -> str:
    return ", ".join(sorted(names)) or "none"
