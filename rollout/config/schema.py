"""The schema of `rollout.yaml`. Unknown keys are errors: typos must not pass.

Field docs here are the configuration reference (docs/configuration.md is
generated from this module, and a test keeps the two in sync).
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from rollout.core.cron import parse_cron
from rollout.errors import ConfigError

_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> timedelta:
    """`90`, `90s`, `5m`, `1h30m`, `7d` -> timedelta; negative or zero is refused."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError(f"expected a duration like 60s, 5m or 24h, got {value!r}")
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("-") and _DURATION_PART.sub("", text[1:]) == "" and text[1:]:
            raise ValueError(f"must be a positive duration, got {value!r}")
        if not text or _DURATION_PART.sub("", text) != "":
            raise ValueError(f"expected a duration like 60s, 5m or 24h, got {value!r}")
        seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text))
    else:
        raise ValueError(f"expected a duration like 60s, 5m or 24h, got {value!r}")
    if seconds <= 0:
        raise ValueError(f"must be a positive duration, got {value!r}")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA timezone {name!r} (e.g. Europe/Berlin)") from exc
    return name


TimezoneName = Annotated[str, AfterValidator(_check_timezone)]


def _check_http_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"expected an http(s) URL, got {url!r}")
    return url


HttpUrl = Annotated[str, AfterValidator(_check_http_url)]

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _check_dns_label(name: str) -> str:
    if not _NAME.match(name) or len(name) > 63:
        raise ValueError(f"expected a lowercase DNS label (a-z, 0-9, '-'), got {name!r}")
    return name


DnsLabel = Annotated[str, AfterValidator(_check_dns_label)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class SecretRef(Strict):
    """A secret by reference: exactly one of `env` (variable name) or `file` (path)."""

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _not_inline(cls, value: Any) -> Any:
        # The message must not echo the value: it is probably the secret itself.
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            raise ValueError(
                "a secret must not be written inline; give {env: VARIABLE} or {file: PATH}"
            )
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' (variable name) or 'file' (path)")
        return self

    def describe(self) -> str:
        return f"env {self.env}" if self.env else f"file {self.file}"

    def is_available(self) -> bool:
        if self.env is not None:
            return bool(os.environ.get(self.env))
        return self.file is not None and self.file.is_file()

    def resolve(self) -> str:
        """The secret's value; ConfigError naming the reference (never the value)."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise ConfigError(f"secret environment variable {self.env} is not set")
            return value
        assert self.file is not None
        try:
            return self.file.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"secret file {self.file} cannot be read: {exc.strerror}") from exc


# --- the policy repository -------------------------------------------------


class RepositoryCredentials(Strict):
    """HTTPS token or SSH key for a private repository."""

    token: SecretRef | None = None
    ssh_key: SecretRef | None = None
    username: str = "x-access-token"


class Repository(Strict):
    """Where the policies live. Give `url` (remote) or `path` (local clone)."""

    url: str | None = None
    path: Path | None = None
    branch: str = "main"
    subdirectory: str = "k8s/network-policies"
    poll_interval: Duration = timedelta(seconds=60)
    credentials: RepositoryCredentials | None = None
    smoke_tests_file: str = "smoke-tests.yaml"

    @model_validator(mode="after")
    def _one_source(self) -> Repository:
        if (self.url is None) == (self.path is None):
            raise ValueError("give exactly one of 'url' (a remote) or 'path' (a local clone)")
        return self

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parsed = urlparse(url)
        if parsed.scheme in ("http", "https", "ssh", "git", "file") and (
            parsed.netloc or parsed.scheme == "file"
        ):
            if parsed.password:
                raise ValueError("must not embed a password; use credentials.token")
            return url
        if re.match(r"^[\w.-]+@[\w.-]+:[\w./-]+$", url):  # scp-like git@host:org/repo.git
            return url
        raise ValueError(
            f"expected a git URL (https://, ssh://, file:// or git@host:path), got {url!r}"
        )


# --- the team ----------------------------------------------------------------

_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})(\+1)?$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class HourRange(Strict):
    """One working-hours range; `crosses_midnight` means it ends on the next day."""

    start: time
    end: time
    crosses_midnight: bool = False


def parse_hour_range(text: str) -> HourRange:
    """`09:00-17:00`, or `22:00-06:00+1` for a range that ends on the next day."""
    match = _RANGE.match(text.strip())
    if not match:
        raise ValueError(f"expected HH:MM-HH:MM (or HH:MM-HH:MM+1 across midnight), got {text!r}")
    h1, m1, h2, m2, next_day = match.groups()
    if int(h1) > 23 or int(m1) > 59 or int(m2) > 59 or int(h2) > 24 or (int(h2) == 24 and int(m2)):
        raise ValueError(f"not a time of day in {text!r}")
    start = time(int(h1), int(m1))
    end = time(0, 0) if int(h2) == 24 else time(int(h2), int(m2))
    if next_day:
        if end >= start and int(h2) != 24:
            raise ValueError(f"{text!r} is marked +1 but does not cross midnight")
        return HourRange(start=start, end=end, crosses_midnight=True)
    if int(h2) == 24:
        return HourRange(start=start, end=end, crosses_midnight=True)
    if end <= start:
        raise ValueError(
            f"end {text.split('-')[1]} is not after start {text.split('-')[0]}; "
            f"write {text.strip()}+1 for a range that crosses midnight"
        )
    return HourRange(start=start, end=end)


def _expand_days(spec: str) -> list[int]:
    spec = spec.strip().lower()
    if spec in ("daily", "*", "all"):
        return list(range(7))
    if spec == "weekdays":
        return list(range(5))
    if spec == "weekends":
        return [5, 6]
    days: list[int] = []
    for part in spec.split(","):
        bounds = part.strip().split("-")
        if not all(b in WEEKDAYS for b in bounds) or len(bounds) > 2:
            raise ValueError(
                f"expected weekdays like mon, mon-fri, sat,sun, weekdays or daily, got {spec!r}"
            )
        first, last = WEEKDAYS.index(bounds[0]), WEEKDAYS.index(bounds[-1])
        days.extend(
            range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        )
    return days


def _parse_weekly_hours(value: Any) -> dict[int, tuple[HourRange, ...]]:
    if not isinstance(value, dict):
        raise ValueError('expected a mapping of weekdays to ranges, e.g. {mon-fri: "09:00-17:00"}')
    weekly: dict[int, list[HourRange]] = {}
    for days, ranges in value.items():
        if isinstance(days, int) and not isinstance(days, bool):
            day_indexes = [days]
        else:
            day_indexes = _expand_days(str(days))
        items = ranges if isinstance(ranges, list) else [ranges]
        parsed = [r if isinstance(r, HourRange) else parse_hour_range(str(r)) for r in items]
        for day in day_indexes:
            weekly.setdefault(day, []).extend(parsed)
    return {day: tuple(ranges) for day, ranges in sorted(weekly.items())}


WeeklyHours = Annotated[dict[int, tuple[HourRange, ...]], BeforeValidator(_parse_weekly_hours)]


class Member(Strict):
    """A person on the roster: identities per channel, timezone, hours, groups."""

    name: DnsLabel
    timezone: TimezoneName
    hours: WeeklyHours = Field(default_factory=dict)
    days_off: tuple[date, ...] = ()
    groups: tuple[str, ...] = ()
    slack_id: str | None = None
    github: str | None = None
    email: str | None = None


class Team(Strict):
    members: tuple[Member, ...] = ()

    @field_validator("members")
    @classmethod
    def _unique_names(cls, members: tuple[Member, ...]) -> tuple[Member, ...]:
        seen: set[str] = set()
        for index, member in enumerate(members):
            if member.name in seen:
                raise ValueError(f"[{index}].name: duplicate member {member.name!r}")
            seen.add(member.name)
        return members


# --- environments ------------------------------------------------------------


class ClusterRef(Strict):
    """How to reach an environment's cluster: a kubeconfig (+context) or in-cluster."""

    kubeconfig: Path | None = None
    context: str | None = None
    in_cluster: bool = False
    request_timeout: Duration = timedelta(seconds=30)
    max_parallel_requests: int = Field(default=8, ge=1, le=64)

    @model_validator(mode="after")
    def _one_way(self) -> ClusterRef:
        if self.in_cluster and self.kubeconfig is not None:
            raise ValueError("give 'kubeconfig' or 'in_cluster: true', not both")
        return self


class SmokeScript(Strict):
    """A custom check: a command whose exit code is the verdict."""

    name: str | None = None
    command: str
    timeout: Duration = timedelta(minutes=5)


class SmokeSettings(Strict):
    enabled: bool = True
    image: str = "busybox:1.36"
    timeout: Duration = timedelta(seconds=20)
    start_timeout: Duration = timedelta(seconds=120)
    parallelism: int = Field(default=4, ge=1, le=64)
    dns_check: bool = True
    cni_canary: bool = True
    rollback_on_failure: bool = True
    scripts: tuple[SmokeScript, ...] = ()


class RiskRule(Strict):
    """Extra approvals needed when the connectivity diff of a change matches.

    `when` is one of: `opens_ingress_to_labels` (a namespace or workload
    carrying these labels receives new traffic), `opens_cross_namespace`,
    `widens_external_egress`.
    """

    name: str
    when: Literal["opens_ingress_to_labels", "opens_cross_namespace", "widens_external_egress"]
    labels: dict[str, str] = Field(default_factory=dict)
    require_groups: dict[str, int] = Field(default_factory=dict)
    extra_approvals: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _labels_when_needed(self) -> RiskRule:
        if self.when == "opens_ingress_to_labels" and not self.labels:
            raise ValueError("'labels' is required when 'when' is opens_ingress_to_labels")
        return self


class ApprovalRules(Strict):
    """Who must approve before an apply to this environment."""

    required: int = Field(default=1, ge=1)
    members: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    allow_self_approval: bool = False
    expires_after: Duration = timedelta(hours=24)
    risk_rules: tuple[RiskRule, ...] = ()
    break_glass_group: str | None = None


class OverlapRule(Strict):
    """Windows when at least `min_online` members (and these groups) are within hours."""

    min_online: int = Field(default=2, ge=1)
    groups: dict[str, int] = Field(default_factory=dict)
    members: tuple[str, ...] = ()


class ExplicitWindow(Strict):
    """A cron-started window of `duration` in `timezone`, allowing or denying applies."""

    kind: Literal["allow", "deny"]
    schedule: str
    duration: Duration
    timezone: TimezoneName = "UTC"

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, schedule: str) -> str:
        try:
            parse_cron(schedule)
        except ConfigError as exc:
            raise ValueError(exc.message) from None
        return schedule


def _date_text_as_date(value: Any) -> Any:
    # "2026-12-24" (quoted, or from ${VAR}) is a whole day, not midnight.
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return date.fromisoformat(value.strip())
    return value


DateOrDateTime = Annotated[datetime | date, BeforeValidator(_date_text_as_date)]


class Freeze(Strict):
    """No applies from `start` to `end` (dates are whole days in `timezone`)."""

    start: DateOrDateTime
    end: DateOrDateTime
    reason: str
    timezone: TimezoneName = "UTC"

    @model_validator(mode="after")
    def _ordered(self) -> Freeze:
        if _as_datetime(self.end) < _as_datetime(self.start):
            raise ValueError(f"'end' {self.end} is before 'start' {self.start}")
        return self


def _as_datetime(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime(value.year, value.month, value.day)


class HolidayFreezes(Strict):
    countries: tuple[str, ...] = ()
    timezone: TimezoneName = "UTC"


class WindowRules(Strict):
    """When applies may run: (overlap or explicit allow) and not (deny or freeze)."""

    enabled: bool = True
    overlap: OverlapRule | None = None
    explicit: tuple[ExplicitWindow, ...] = ()
    freezes: tuple[Freeze, ...] = ()
    holidays: HolidayFreezes | None = None
    min_duration: Duration = timedelta(minutes=30)


class Environment(Strict):
    """One target of the promotion chain (staging, production, ...)."""

    name: DnsLabel
    cluster: ClusterRef = Field(default_factory=ClusterRef)
    namespaces: tuple[DnsLabel, ...]
    overlay: str
    allowed_kinds: tuple[str, ...] = ("NetworkPolicy", "Namespace")
    prune: bool = True
    state_namespace: DnsLabel = "netpol-rollout"
    smoke: SmokeSettings = Field(default_factory=SmokeSettings)
    approvals: ApprovalRules | None = None
    windows: WindowRules | None = None
    notify: tuple[str, ...] | None = None

    @field_validator("namespaces")
    @classmethod
    def _some_namespaces(cls, namespaces: tuple[str, ...]) -> tuple[str, ...]:
        if not namespaces:
            raise ValueError("list at least one managed namespace")
        if len(set(namespaces)) != len(namespaces):
            raise ValueError("namespaces are listed more than once")
        return namespaces


# --- notifications -------------------------------------------------------------


class SlackSettings(Strict):
    """Slack: a bot token (messages updated in place) or an incoming-webhook URL."""

    bot_token: SecretRef | None = None
    webhook_url: SecretRef | None = None
    channel: str | None = None
    signing_secret: SecretRef | None = None
    api_url: HttpUrl = "https://slack.com/api/"

    @model_validator(mode="after")
    def _one_mode(self) -> SlackSettings:
        if (self.bot_token is None) == (self.webhook_url is None):
            raise ValueError("give exactly one of 'bot_token' (with 'channel') or 'webhook_url'")
        if self.bot_token is not None and not self.channel:
            raise ValueError("'channel' is required with 'bot_token'")
        return self


class WebhookSettings(Strict):
    """A generic JSON webhook, signed with HMAC-SHA256 over timestamp and body."""

    name: DnsLabel
    url: HttpUrl
    secret: SecretRef
    events: tuple[str, ...] = ()


class GitHubSettings(Strict):
    """Commit statuses and one pull-request comment edited in place; also approvals."""

    repository: str
    token: SecretRef
    api_url: HttpUrl = "https://api.github.com"
    webhook_secret: SecretRef | None = None

    @field_validator("repository")
    @classmethod
    def _owner_name(cls, value: str) -> str:
        if not re.match(r"^[\w.-]+/[\w.-]+$", value):
            raise ValueError(f"expected OWNER/NAME, got {value!r}")
        return value


class DeliverySettings(Strict):
    max_attempts: int = Field(default=8, ge=1, le=100)
    base_delay: Duration = timedelta(seconds=2)
    max_delay: Duration = timedelta(minutes=10)
    timeout: Duration = timedelta(seconds=10)


class DigestSettings(Strict):
    enabled: bool = True
    schedule: str = "0 9 1 * *"
    timezone: TimezoneName = "UTC"


class Notifications(Strict):
    slack: SlackSettings | None = None
    webhooks: tuple[WebhookSettings, ...] = ()
    github: GitHubSettings | None = None
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)


# --- the service -----------------------------------------------------------------


class Store(Strict):
    """The state store: `sqlite:///path` (default) or `postgresql://...`."""

    url: str = "sqlite:///netpol-rollout.db"

    @field_validator("url")
    @classmethod
    def _supported(cls, url: str) -> str:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
            shown = f"a {scheme}:// URL" if scheme else "no URL scheme"
            raise ValueError(f"expected sqlite:///PATH or postgresql://..., got {shown}")
        return url


class Server(Strict):
    listen: str = "127.0.0.1:8080"
    public_url: HttpUrl | None = None
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    trusted_user_header: str | None = None
    leader_election: bool = False
    lease_namespace: DnsLabel = "netpol-rollout"
    lease_name: DnsLabel = "netpol-rollout-leader"
    lease_duration: Duration = timedelta(seconds=15)
    lease_cluster: ClusterRef | None = Field(
        default=None,
        description="Where the Lease lives; none: in-cluster. "
        "Env `ROLLOUT_LEASE_KUBECONFIG` (a kubeconfig path) overrides it.",
    )

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected HOST:PORT, got {value!r}")
        return value


class Settings(Strict):
    """The whole configuration file."""

    repository: Repository
    environments: tuple[Environment, ...]
    team: Team = Field(default_factory=Team)
    notifications: Notifications = Field(default_factory=Notifications)
    store: Store = Field(default_factory=Store)
    server: Server = Field(default_factory=Server)

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
