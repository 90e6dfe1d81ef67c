"""The schema of `rollout.yaml`. Unknown keys are errors: typos must not pass.

Field docs here are the configuration reference (docs/configuration.md is
generated from these modules, and a test keeps the two in sync).

One module per part of the file, each importing only the ones below it:

    settings        Settings: the whole file, and its cross-reference checks
    service         store, server
    notifications   notifications (slack, webhooks, github, delivery, digest)
    environments    environments[] (their cluster, or their fleet: fleet, cluster)
    smoke, approvals, windows    environments[].smoke / .approvals / .windows
    team            team.members
    repository      repository
    types           value types (duration, timezone, ...), hours, secret references
"""

from rollout.config.schema.approvals import ApprovalRules, RiskRule
from rollout.config.schema.cluster import ClusterRef
from rollout.config.schema.environments import Environment
from rollout.config.schema.fleet import FleetCluster, Wave, WaveFailure
from rollout.config.schema.notifications import (
    DeliverySettings,
    DigestSettings,
    GitHubSettings,
    Notifications,
    SlackSettings,
    WebhookSettings,
)
from rollout.config.schema.observed_flows import ObservedFlows
from rollout.config.schema.repository import Repository, RepositoryCredentials, SigningKeys
from rollout.config.schema.service import Server, Store
from rollout.config.schema.settings import Settings
from rollout.config.schema.smoke import SmokeScript, SmokeSettings
from rollout.config.schema.team import Member, Team
from rollout.config.schema.types import (
    WEEKDAYS,
    CronExpression,
    DateOrDateTime,
    DnsLabel,
    Duration,
    EventName,
    HourRange,
    HttpUrl,
    SecretRef,
    Strict,
    TimezoneName,
    WeeklyHours,
    parse_duration,
    parse_hour_range,
)
from rollout.config.schema.windows import (
    ExplicitWindow,
    Freeze,
    HolidayFreezes,
    OverlapRule,
    WindowRules,
)

__all__ = [
    "WEEKDAYS",
    "ApprovalRules",
    "ClusterRef",
    "CronExpression",
    "DateOrDateTime",
    "DeliverySettings",
    "DigestSettings",
    "DnsLabel",
    "Duration",
    "Environment",
    "EventName",
    "ExplicitWindow",
    "FleetCluster",
    "Freeze",
    "GitHubSettings",
    "HolidayFreezes",
    "HourRange",
    "HttpUrl",
    "Member",
    "Notifications",
    "ObservedFlows",
    "OverlapRule",
    "Repository",
    "RepositoryCredentials",
    "RiskRule",
    "SecretRef",
    "Server",
    "Settings",
    "SigningKeys",
    "SlackSettings",
    "SmokeScript",
    "SmokeSettings",
    "Store",
    "Strict",
    "Team",
    "TimezoneName",
    "Wave",
    "WaveFailure",
    "WebhookSettings",
    "WeeklyHours",
    "WindowRules",
    "parse_duration",
    "parse_hour_range",
]
