"""`environments[].windows`: overlap windows, explicit windows, freezes, holidays."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import Field, model_validator

from rollout.config.schema.types import (
    CronExpression,
    DateOrDateTime,
    Duration,
    Strict,
    TimezoneName,
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
