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
from rollout.core.events import EventType
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


def _check_cron(schedule: str) -> str:
    try:
        parse_cron(schedule)
    except ConfigError as exc:
        raise ValueError(exc.message) from None
    return schedule


CronExpression = Annotated[str, AfterValidator(_check_cron)]


def _check_event_name(name: str) -> str:
    if name not in {e.value for e in EventType}:
        known = ", ".join(e.value for e in EventType)
        raise ValueError(f"unknown event {name!r}; known events: {known}")
    return name


EventName = Annotated[str, AfterValidator(_check_event_name)]

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _check_dns_label(name: str) -> str:
    if not _NAME.match(name) or len(name) > 63:
        raise ValueError(f"expected a lowercase DNS label (a-z, 0-9, '-'), got {name!r}")
    return name


DnsLabel = Annotated[str, AfterValidator(_check_dns_label)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class SecretRef(Strict):
    """A secret by reference: exactly one of `env` (variable name) or `file` (path).

    Never written inline: `token: {env: ROLLOUT_GITHUB_TOKEN}` or
    `secret: {file: /etc/netpol-rollout/webhook.secret}`. Read only when
    needed; `rollout config check` warns when one is unavailable and never
    prints a value.
    """

    env: str | None = Field(
        default=None, description="Name of an environment variable holding the secret."
    )
    file: Path | None = Field(
        default=None, description="A file holding the secret (surrounding whitespace removed)."
    )

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
    """HTTPS token or SSH key for a private repository.

    Handed to git through its environment, never written into the URL.

    ```yaml
    credentials:
      token: {env: ROLLOUT_GIT_TOKEN}
    ```
    """

    token: SecretRef | None = Field(
        default=None,
        description="HTTPS access token, sent as HTTP basic auth together with `username` "
        "(a GitHub fine-grained token with read access to contents is enough).",
    )
    ssh_key: SecretRef | None = Field(
        default=None,
        description="SSH private key for `ssh://` and `git@host:path` URLs, used with "
        "`ssh -i`. Only `{file: PATH}` is used; an `{env: ...}` reference is ignored.",
    )
    username: str = Field(
        default="x-access-token",
        description="User name sent with `token`. The default suits GitHub; "
        "set what your git host expects for token access.",
    )


class Repository(Strict):
    """Where the policies live. Give `url` (remote) or `path` (local clone).

    Every new commit on `branch` that changes something under `subdirectory`
    becomes a rollout; other commits are ignored.

    ```yaml
    repository:
      url: https://github.com/example-org/network-policies.git
      branch: main
      subdirectory: k8s/network-policies
      poll_interval: 60s
      credentials:
        token: {env: ROLLOUT_GIT_TOKEN}
    ```
    """

    url: str | None = Field(
        default=None,
        description="Remote git URL: `https://`, `ssh://`, `git://`, `file://` or "
        "`git@host:org/repo.git`; mirrored under `~/.cache/netpol-rollout/repos`. "
        "A password in the URL is refused: use `credentials.token`. Exactly one of "
        "`url` and `path`.",
    )
    path: Path | None = Field(
        default=None,
        description="A local clone instead of `url`, relative to the configuration file's "
        "folder. It is never fetched: its own `branch` is read as it is.",
    )
    branch: str = Field(default="main", description="The branch to follow.")
    subdirectory: str = Field(
        default="k8s/network-policies",
        description="Folder in the repository holding the kustomize base and one overlay "
        "per environment; only commits that change it start rollouts.",
    )
    poll_interval: Duration = Field(
        default=timedelta(seconds=60),
        description="How often to fetch `branch`. A GitHub push webhook (needs "
        "`notifications.github.webhook_secret`) triggers a fetch at once; failed fetches "
        "back off exponentially, up to 10m.",
    )
    credentials: RepositoryCredentials | None = Field(
        default=None,
        description="For a private repository; none: git's own defaults (anonymous "
        "HTTPS, or the service user's SSH setup).",
    )
    smoke_tests_file: str = Field(
        default="smoke-tests.yaml",
        description="The smoke-test spec (docs/smoke-tests.md), relative to `subdirectory`, "
        "read from the commit being rolled out. A revision without it has nothing to test: "
        "the smoke stage passes.",
    )

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
    """One working-hours range; `crosses_midnight` means it ends on the next day.

    Written as text in `hours`, never as a mapping: `"09:00-17:00"`, or
    `"22:00-06:00+1"` for a range that ends on the next day (`"18:00-24:00"`
    ends at midnight). The keys below are what such a text is read into.
    """

    start: time = Field(description="Local start time (`HH:MM` before the dash).")
    end: time = Field(description="Local end time (`HH:MM` after the dash); `24:00` is `00:00`.")
    crosses_midnight: bool = Field(
        default=False, description="True when the range ends on the next day (`+1`, or `24:00`)."
    )


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


# --- environments ------------------------------------------------------------


class ClusterRef(Strict):
    """How to reach an environment's cluster: a kubeconfig (+context) or in-cluster.

    ```yaml
    cluster:
      kubeconfig: ~/.kube/config
      context: staging
      request_timeout: 30s
    ```
    """

    kubeconfig: Path | None = Field(
        default=None,
        description="Path of a kubeconfig file; none: `$KUBECONFIG` or `~/.kube/config`. "
        "Custom smoke scripts get it as `KUBECONFIG`.",
    )
    context: str | None = Field(
        default=None, description="Context in the kubeconfig; none: its current context."
    )
    in_cluster: bool = Field(
        default=False,
        description="Use the pod's service account (netpol-rollout runs inside this cluster); "
        "not together with `kubeconfig`.",
    )
    request_timeout: Duration = Field(
        default=timedelta(seconds=30),
        description="Timeout of each API request; transient failures are retried.",
    )
    max_parallel_requests: int = Field(
        default=8,
        ge=1,
        le=64,
        description="API requests in flight at once while applying (1-64); also the "
        "connection pool size.",
    )

    @model_validator(mode="after")
    def _one_way(self) -> ClusterRef:
        if self.in_cluster and self.kubeconfig is not None:
            raise ValueError("give 'kubeconfig' or 'in_cluster: true', not both")
        return self


class SmokeScript(Strict):
    """A custom check: a command whose exit code is the verdict.

    It runs with `/bin/sh -c` in its own process group, from the root of an
    export of the commit (holding `repository.subdirectory`), with
    `ENVIRONMENT`, `KUBECONFIG`, `ROLLOUT_ID` and `COMMIT_SHA` set.

    ```yaml
    scripts:
      - name: e2e
        command: k8s/network-policies/scripts/smoke-test.sh "$ENVIRONMENT"
        timeout: 5m
    ```
    """

    name: str | None = Field(default=None, description="Name in reports; none: the command itself.")
    command: str = Field(description="Shell command; exit code 0 passes, anything else fails.")
    timeout: Duration = Field(
        default=timedelta(minutes=5),
        description="Fails the check when it runs longer; its process group gets SIGTERM, "
        "then SIGKILL.",
    )


class SmokeSettings(Strict):
    """Checks run after each apply to this environment (docs/smoke-tests.md).

    Probe pods test the expectations in `repository.smoke_tests_file`, plus the
    built-in DNS and CNI checks and custom scripts. A failed check fails the
    stage and the environment is put back on its last good revision.

    ```yaml
    smoke:
      image: busybox:1.36
      timeout: 20s
      parallelism: 4
      dns_check: true
      cni_canary: true
    ```
    """

    enabled: bool = Field(
        default=True, description="`false`: nothing runs and the smoke stage passes at once."
    )
    image: str = Field(
        default="busybox:1.36",
        description="Image of the probe and listener pods; it needs `sh`, `nc`, `wget` and "
        "`nslookup` (busybox has all).",
    )
    timeout: Duration = Field(
        default=timedelta(seconds=20),
        description="Timeout of each connectivity check that sets none in the spec.",
    )
    start_timeout: Duration = Field(
        default=timedelta(seconds=120),
        description="A probe pod not running by then (image pull, scheduling) fails its checks.",
    )
    parallelism: int = Field(
        default=4, ge=1, le=64, description="Probe pods started and checked at once (1-64)."
    )
    dns_check: bool = Field(
        default=True,
        description="Built-in `dns` check: a pod in every managed namespace must resolve "
        "the cluster's API service name. The spec's `disable` can also skip it.",
    )
    cni_canary: bool = Field(
        default=True,
        description="Built-in `cni-canary` check: traffic no policy allows must be blocked, "
        "proving the network plugin enforces NetworkPolicy. Its namespace (the spec's "
        "`canary_namespace`, else the first of `namespaces`) needs a default-deny baseline.",
    )
    rollback_on_failure: bool = Field(
        default=True,
        description="Accepted but not read yet: a failed smoke test always re-applies the "
        "last good revision, whatever this says.",
    )
    scripts: tuple[SmokeScript, ...] = Field(
        default=(), description="Custom checks, run after the probe checks."
    )


class RiskRule(Strict):
    """Extra approvals needed when the connectivity diff of a change matches.

    `when` is one of: `opens_ingress_to_labels` (a namespace or workload
    carrying these labels receives new traffic), `opens_cross_namespace`,
    `widens_external_egress`.

    A rule matches when at least one connection the change newly allows
    meets its condition. The extras of all matching rules add up; for a group
    named by several, the largest count applies.

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
    when: Literal["opens_ingress_to_labels", "opens_cross_namespace", "widens_external_egress"] = (
        Field(
            description="`opens_ingress_to_labels`: new traffic reaches a namespace or pod "
            "carrying all of `labels`; `opens_cross_namespace`: new traffic between two "
            "namespaces; `widens_external_egress`: new egress to addresses outside the cluster."
        )
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

    @model_validator(mode="after")
    def _labels_when_needed(self) -> RiskRule:
        if self.when == "opens_ingress_to_labels" and not self.labels:
            raise ValueError("'labels' is required when 'when' is opens_ingress_to_labels")
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
        description="Let an author of the change (matched by name, `email` or `github`) "
        "approve it.",
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


class OverlapRule(Strict):
    """Windows when at least `min_online` members (and these groups) are within hours.

    A member is online while inside their `hours` (in their own timezone)
    and not on a day off.

    ```yaml
    overlap:
      min_online: 2
      groups: {oncall: 1}
    ```
    """

    min_online: int = Field(
        default=2, ge=1, description="Counted members that must be online at the same time."
    )
    groups: dict[str, int] = Field(
        default_factory=dict,
        description="Group -> how many of the online members must belong to it, "
        "e.g. `{oncall: 1}`.",
    )
    members: tuple[str, ...] = Field(
        default=(), description="Only these members count; empty: the whole team."
    )


class ExplicitWindow(Strict):
    """A cron-started window of `duration` in `timezone`, allowing or denying applies.

    ```yaml
    explicit:
      - kind: deny
        schedule: "0 14 * * fri"
        duration: 10h
        timezone: Europe/Berlin
    ```
    """

    kind: Literal["allow", "deny"] = Field(
        description="`allow`: applies may run during it, as during overlap windows; "
        "`deny`: never during it, whatever else allows."
    )
    schedule: CronExpression = Field(
        description="When the window starts: a 5-field cron expression "
        "(`minute hour day-of-month month day-of-week`), on wall-clock time in `timezone`."
    )
    duration: Duration = Field(description="How long each window lasts from its start.")
    timezone: TimezoneName = Field(default="UTC", description="The timezone of `schedule`.")


def _date_text_as_date(value: Any) -> Any:
    # "2026-12-24" (quoted, or from ${VAR}) is a whole day, not midnight.
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return date.fromisoformat(value.strip())
    return value


DateOrDateTime = Annotated[datetime | date, BeforeValidator(_date_text_as_date)]


class Freeze(Strict):
    """No applies from `start` to `end` (dates are whole days in `timezone`).

    ```yaml
    freezes:
      - start: 2026-12-21
        end: 2027-01-04
        reason: year-end change freeze
        timezone: Europe/Berlin
    ```
    """

    start: DateOrDateTime = Field(
        description="First day (`YYYY-MM-DD`) or instant (`YYYY-MM-DDTHH:MM`, wall time in "
        "`timezone` unless it has an offset)."
    )
    end: DateOrDateTime = Field(
        description="Last day, included; or the instant the freeze ends (excluded). Not "
        "before `start`."
    )
    reason: str = Field(description="Why; shown when an apply waits for the freeze to end.")
    timezone: TimezoneName = Field(
        default="UTC", description="Where the dates and wall times apply."
    )

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
    """Public holidays as whole-day freezes (from the `holidays` package).

    ```yaml
    holidays:
      countries: [US, DE-BY]
      timezone: America/New_York
    ```
    """

    countries: tuple[str, ...] = Field(
        default=(),
        description="ISO country codes, with an optional subdivision: `US`, `DE`, `DE-BY`. "
        "An unknown code is an error when the windows are computed.",
    )
    timezone: TimezoneName = Field(
        default="UTC", description="Where a holiday's day starts and ends."
    )


class WindowRules(Strict):
    """When applies may run: (overlap or explicit allow) and not (deny or freeze).

    With neither `overlap` nor an `allow` window, every time is allowed except
    denies, freezes and holidays. An approved rollout waits for the next usable
    window (docs/windows.md). Only environments after the first are gated.

    ```yaml
    windows:
      overlap: {min_online: 2, groups: {oncall: 1}}
      explicit:
        - {kind: deny, schedule: "0 14 * * fri", duration: 10h, timezone: Europe/Berlin}
      freezes:
        - {start: 2026-12-21, end: 2027-01-04, reason: year-end freeze}
      min_duration: 30m
    ```
    """

    enabled: bool = Field(
        default=True, description="`false`: always open, freezes and holidays included."
    )
    overlap: OverlapRule | None = Field(
        default=None, description="Open while enough of the team is online; none: no such rule."
    )
    explicit: tuple[ExplicitWindow, ...] = Field(
        default=(), description="Scheduled windows that allow or deny applies."
    )
    freezes: tuple[Freeze, ...] = Field(default=(), description="Periods without applies.")
    holidays: HolidayFreezes | None = Field(
        default=None,
        description="Public holidays without applies; none: holidays are ordinary days.",
    )
    min_duration: Duration = Field(
        default=timedelta(minutes=30),
        description="Shorter windows are ignored, and an apply starts only while at least "
        "this much of its window remains.",
    )


class Environment(Strict):
    """One target of the promotion chain (staging, production, ...).

    Listed in promotion order. The first is applied and smoke-tested as soon
    as a commit lands; each later one waits for the previous one to pass, then
    for its own `approvals` and `windows`, and is applied and tested in turn.

    ```yaml
    environments:
      - name: production
        cluster: {in_cluster: true}
        namespaces: [frontend, backend, database]
        overlay: overlays/production
        approvals: {required: 2, groups: [approvers]}
        windows: {overlap: {min_online: 2}}
        notify: [slack, github]
    ```
    """

    name: DnsLabel = Field(
        description="Unique name, used by `--env`, in events and in commit status contexts."
    )
    cluster: ClusterRef = Field(
        default_factory=ClusterRef,
        description="How to reach its cluster; default: the current context of the default "
        "kubeconfig.",
    )
    namespaces: tuple[DnsLabel, ...] = Field(
        description="The managed namespaces: objects rendered for other namespaces are "
        "refused, and pruning never touches anything outside them."
    )
    overlay: str = Field(
        description="The kustomize overlay rendered for this environment, relative to "
        "`repository.subdirectory`."
    )
    allowed_kinds: tuple[str, ...] = Field(
        default=("NetworkPolicy", "Namespace"),
        description="Kinds the overlay may contain; any other kind is refused. Also e.g. "
        "`AdminNetworkPolicy`, `CiliumNetworkPolicy`, `GlobalNetworkPolicy`.",
    )
    prune: bool = Field(
        default=True,
        description="Delete objects netpol-rollout applied here before that are gone from "
        "the overlay. Namespaces are never deleted.",
    )
    state_namespace: DnsLabel = Field(
        default="netpol-rollout",
        description="Namespace of the ConfigMap `netpol-rollout-<name>` that records the "
        "deployed revision in the cluster itself; it must exist.",
    )
    smoke: SmokeSettings = Field(
        default_factory=SmokeSettings, description="Checks run after each apply."
    )
    approvals: ApprovalRules | None = Field(
        default=None,
        description="Who must approve before an apply; none: no approvals needed. "
        "Ignored for the first environment.",
    )
    windows: WindowRules | None = Field(
        default=None,
        description="When applies may run; none: at any time. Ignored by the service for "
        "the first environment.",
    )
    notify: tuple[str, ...] | None = Field(
        default=None,
        description="Channels for this environment's events: `slack`, `github` and webhook "
        "names; none: every configured channel, `[]`: none.",
    )

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
    """Slack: a bot token (messages updated in place) or an incoming-webhook URL.

    ```yaml
    slack:
      bot_token: {env: ROLLOUT_SLACK_BOT_TOKEN}
      channel: "#netpol-rollouts"
      signing_secret: {env: ROLLOUT_SLACK_SIGNING_SECRET}
    ```
    """

    bot_token: SecretRef | None = Field(
        default=None,
        description="Bot token (scope `chat:write`): one message per rollout, updated in "
        "place, with a thread and Approve/Reject buttons. Exactly one of `bot_token` and "
        "`webhook_url`.",
    )
    webhook_url: SecretRef | None = Field(
        default=None,
        description="Incoming-webhook URL (a secret): one message per event, no buttons.",
    )
    channel: str | None = Field(
        default=None,
        description="Channel to post in (`#name` or an id); required with `bot_token`.",
    )
    signing_secret: SecretRef | None = Field(
        default=None,
        description="The Slack app's signing secret; enables slash commands and buttons "
        "(approve, reject from Slack). None: Slack can only receive.",
    )
    api_url: HttpUrl = Field(
        default="https://slack.com/api/",
        description="Slack Web API base URL (bot mode); change only for a proxy or a test server.",
    )
    response_url_prefixes: tuple[HttpUrl, ...] = Field(
        default=("https://hooks.slack.com/",),
        description="Where slash-command and button answers may be posted: a request's "
        "`response_url` must start with one of these, or no answer is sent (so a forged "
        "request cannot make the service call an arbitrary URL).",
    )

    @model_validator(mode="after")
    def _one_mode(self) -> SlackSettings:
        if (self.bot_token is None) == (self.webhook_url is None):
            raise ValueError("give exactly one of 'bot_token' (with 'channel') or 'webhook_url'")
        if self.bot_token is not None and not self.channel:
            raise ValueError("'channel' is required with 'bot_token'")
        return self


class WebhookSettings(Strict):
    """A generic JSON webhook, signed with HMAC-SHA256 over timestamp and body.

    One `POST` per event (docs/notifications.md: event schema, signature).

    ```yaml
    webhooks:
      - name: ops
        url: https://ops.example.com/hooks/netpol
        secret: {file: /etc/netpol-rollout/ops-webhook.secret}
        events: [production.applied, production.failed]
    ```
    """

    name: DnsLabel = Field(
        description="Unique channel name, used in `environments[].notify` (avoid `slack` "
        "and `github`, which name those channels)."
    )
    url: HttpUrl = Field(description="Where events are POSTed.")
    secret: SecretRef = Field(
        description="HMAC-SHA256 key for the `X-Netpol-Rollout-Signature` header."
    )
    events: tuple[EventName, ...] = Field(
        default=(),
        description="Event types to send (e.g. `production.applied`, `smoke.failed`); "
        "empty: every event.",
    )


class GitHubSettings(Strict):
    """Commit statuses and one pull-request comment edited in place; also approvals.

    ```yaml
    github:
      repository: example-org/network-policies
      token: {env: ROLLOUT_GITHUB_TOKEN}
      webhook_secret: {env: ROLLOUT_GITHUB_WEBHOOK_SECRET}
    ```
    """

    repository: str = Field(description="`OWNER/NAME` of the policy repository on GitHub.")
    token: SecretRef = Field(description="Token with `statuses:write` and `pull_requests:write`.")
    api_url: HttpUrl = Field(
        default="https://api.github.com",
        description="GitHub API base URL; GitHub Enterprise: `https://HOST/api/v3`.",
    )
    webhook_secret: SecretRef | None = Field(
        default=None,
        description="Secret of the repository's webhook; enables the push (fetch at once) "
        "and pull-request review (approve) webhooks. None: no webhooks are accepted.",
    )

    @field_validator("repository")
    @classmethod
    def _owner_name(cls, value: str) -> str:
        if not re.match(r"^[\w.-]+/[\w.-]+$", value):
            raise ValueError(f"expected OWNER/NAME, got {value!r}")
        return value


class DeliverySettings(Strict):
    """Retries of failed deliveries, for every channel.

    The wait after failed attempt n is random in `[0, min(max_delay,
    base_delay * 2^(n-1))]`; a `Retry-After` from the server wins.

    ```yaml
    delivery: {max_attempts: 8, base_delay: 2s, max_delay: 10m, timeout: 10s}
    ```
    """

    max_attempts: int = Field(
        default=8,
        ge=1,
        le=100,
        description="Attempts before a delivery is dead-lettered (kept with status `dead`, "
        "shown by `rollout status`).",
    )
    base_delay: Duration = Field(
        default=timedelta(seconds=2), description="Backoff ceiling after the first failure."
    )
    max_delay: Duration = Field(
        default=timedelta(minutes=10), description="The backoff ceiling never grows past this."
    )
    timeout: Duration = Field(default=timedelta(seconds=10), description="Timeout of each request.")


class DigestSettings(Strict):
    """The periodic review digest (`review.digest`) to Slack and webhooks.

    ```yaml
    digest: {enabled: true, schedule: "0 9 1 * *", timezone: Europe/Berlin}
    ```
    """

    enabled: bool = Field(default=True, description="`false`: no digest is sent.")
    schedule: CronExpression = Field(
        default="0 9 1 * *",
        description="When to send it: a 5-field cron expression in `timezone`; the default "
        "is 09:00 on the 1st of each month.",
    )
    timezone: TimezoneName = Field(default="UTC", description="The timezone of `schedule`.")


class Notifications(Strict):
    """Where rollout events go (docs/notifications.md).

    Delivery goes through a transactional outbox: a failing channel never
    blocks a rollout or the other channels.
    """

    slack: SlackSettings | None = Field(default=None, description="None: no Slack.")
    webhooks: tuple[WebhookSettings, ...] = Field(
        default=(), description="Generic JSON webhooks, each a channel of its own."
    )
    github: GitHubSettings | None = Field(
        default=None, description="None: no commit statuses, comments or GitHub approvals."
    )
    delivery: DeliverySettings = Field(
        default_factory=DeliverySettings, description="Retries and timeouts of deliveries."
    )
    digest: DigestSettings = Field(
        default_factory=DigestSettings, description="The periodic review digest."
    )


# --- the service -----------------------------------------------------------------


class Store(Strict):
    """The state store: `sqlite:///path` (default) or `postgresql://...`.

    It holds rollouts, approvals, the audit log and the notification outbox.
    Use PostgreSQL for more than one replica.

    ```yaml
    store:
      url: postgresql://netpol@db.internal/netpol_rollout
    ```
    """

    url: str = Field(
        default="sqlite:///netpol-rollout.db",
        description="SQLAlchemy database URL: `sqlite:///PATH` (relative to the working "
        "directory; `sqlite:////abs/path` for an absolute one) or `postgresql://...`; "
        "give a password with `${VAR}`.",
    )

    @field_validator("url")
    @classmethod
    def _supported(cls, url: str) -> str:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
            shown = f"a {scheme}:// URL" if scheme else "no URL scheme"
            raise ValueError(f"expected sqlite:///PATH or postgresql://..., got {shown}")
        return url


class Server(Strict):
    """`rollout serve`: HTTP (webhooks, Slack, API, dashboard) and leader election.

    Every replica serves HTTP; one leader (the Lease holder, with
    `leader_election`) polls git, drives rollouts and delivers notifications.

    ```yaml
    server:
      listen: 0.0.0.0:8080
      public_url: https://netpol-rollout.example.com
      leader_election: true
    ```
    """

    listen: str = Field(
        default="127.0.0.1:8080",
        description="`HOST:PORT` to serve HTTP on; `rollout serve --listen` overrides it.",
    )
    public_url: HttpUrl | None = Field(
        default=None,
        description="The URL users reach the service at: links in notifications, and the "
        "dashboard's allowed origin and secure cookies. None: no links.",
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Larger request bodies are refused with 413 (at least 1024).",
    )
    trusted_user_header: str | None = Field(
        default=None,
        description="Request header naming the signed-in member (name or email) for the "
        "dashboard. Only behind an authenticating proxy that sets it and strips it from "
        "client requests. None: sign in with an API token.",
    )
    leader_election: bool = Field(
        default=False,
        description="Elect a leader with a Kubernetes Lease; required with more than one "
        "replica. `false`: this replica always leads.",
    )
    lease_namespace: DnsLabel = Field(
        default="netpol-rollout", description="Namespace of the Lease."
    )
    lease_name: DnsLabel = Field(default="netpol-rollout-leader", description="Name of the Lease.")
    lease_duration: Duration = Field(
        default=timedelta(seconds=15),
        description="Lease duration: the leader renews every third of it and steps down "
        "if it cannot renew within two thirds; a new leader takes over after it lapses.",
    )
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
