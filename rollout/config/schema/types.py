"""The value types of `rollout.yaml`: durations, timezones, URLs, DNS labels,
cron expressions, event names, weekly hours, dates, and secret references.

Each is a plain type with a validator whose message says what was expected;
the configuration reference names them by their validator (hack/gen-config-docs.py).
"""

from __future__ import annotations

import math
import os
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from rollout.core.cron import parse_cron
from rollout.core.events import EventType
from rollout.errors import ConfigError

_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
# Ten years: longer is a typo, and adding it to a date must stay within datetime's range.
MAX_DURATION_SECONDS = 3660 * 86400


def parse_duration(value: Any, *, zero: bool = False) -> timedelta:
    """`90`, `90s`, `5m`, `1h30m`, `7d` -> timedelta; negative or (unless `zero`) zero is
    refused."""
    wanted = "zero or a positive duration" if zero else "a positive duration"
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError(f"expected a duration like 60s, 5m or 24h, got {value!r}")
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("-") and _DURATION_PART.sub("", text[1:]) == "" and text[1:]:
            raise ValueError(f"must be {wanted}, got {value!r}")
        if not text or _DURATION_PART.sub("", text) != "":
            raise ValueError(f"expected a duration like 60s, 5m or 24h, got {value!r}")
        parts = _DURATION_PART.findall(text)
        if any(len(n) > 12 for n, _ in parts):
            raise ValueError(f"must be at most 3660d (ten years), got {value!r}")
        seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)
    else:
        raise ValueError(f"expected a duration like 60s, 5m or 24h, got {value!r}")
    if not math.isfinite(seconds) or seconds > MAX_DURATION_SECONDS:
        raise ValueError(f"must be at most 3660d (ten years), got {value!r}")
    if seconds < 0 or (seconds == 0 and not zero):
        raise ValueError(f"must be {wanted}, got {value!r}")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
# A duration where `0s` means "not at all".
DurationOrZero = Annotated[timedelta, BeforeValidator(lambda v: parse_duration(v, zero=True))]


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA timezone {name!r} (e.g. Europe/Berlin)") from exc
    # Abbreviations and legacy names (CET, EST, EST5EDT, GMT, Japan) exist in
    # tzdata but are ambiguous or wrong (EST never observes daylight saving):
    # only region names (Area/Location) and UTC are accepted.
    if name != "UTC" and "/" not in name:
        raise ValueError(
            f"timezone {name!r} is an abbreviation or legacy name; give a region name "
            "like Europe/Berlin or America/New_York (or UTC)"
        )
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


def _date_text_as_date(value: Any) -> Any:
    # "2026-12-24" (quoted, or from ${VAR}) is a whole day, not midnight.
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return date.fromisoformat(value.strip())
    return value


DateOrDateTime = Annotated[datetime | date, BeforeValidator(_date_text_as_date)]
