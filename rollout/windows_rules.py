"""Build the pure :class:`rollout.core.windows.GateRules` from the configuration.

The only place that knows both the config schema and the pure window model,
and the only importer of the `holidays` package: public holidays become
whole-day freezes in the configured timezone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from rollout.config import schema
from rollout.core.cron import first_instant, parse_cron
from rollout.core.windows import (
    CronWindow,
    FreezePeriod,
    GateRules,
    OverlapRequirement,
    Person,
    Shift,
    is_usable,
    next_usable_start,
)
from rollout.errors import ConfigError

__all__ = ["SettingsWindowGate", "gate_rules", "holiday_freezes", "person", "years_between"]


def gate_rules(
    settings: schema.Settings,
    environment: str,
    *,
    years: Iterable[int],
    wave: str | None = None,
) -> GateRules:
    """The window rules of `environment` (or of its fleet's `wave`); public holidays
    are expanded for `years`.

    A wave with its own `windows` follows those, any other the environment's.
    An environment without `windows` (or with `enabled: false`) is always open;
    its roster is still the whole team. Raises ConfigError for an unknown
    environment or holiday country.
    """
    env = settings.environment(environment)
    roster = tuple(person(m) for m in settings.team.members)
    index = settings.environments.index(env)
    config, where = env.windows, f"environments[{index}].windows"
    own = env.wave(wave) if wave is not None else None
    if own is not None and own.windows is not None:
        position = (env.waves or ()).index(own)
        config, where = own.windows, f"environments[{index}].waves[{position}].windows"
    if config is None or not config.enabled:
        return GateRules(roster=roster, enabled=False)
    freezes = tuple(_freeze(f) for f in config.freezes)
    if config.holidays is not None:
        where = f"{where}.holidays"
        freezes += tuple(holiday_freezes(config.holidays, years, where=where))
    overlap = None
    if config.overlap is not None:
        overlap = OverlapRequirement(
            min_online=config.overlap.min_online,
            groups=dict(config.overlap.groups),
            members=frozenset(config.overlap.members) or None,
        )
    explicit = tuple(
        CronWindow(
            kind=w.kind,
            schedule=parse_cron(w.schedule),
            duration=w.duration,
            timezone=ZoneInfo(w.timezone),
        )
        for w in config.explicit
    )
    return GateRules(
        roster=roster,
        overlap=overlap,
        explicit=explicit,
        freezes=freezes,
        min_duration=config.min_duration,
    )


class SettingsWindowGate:
    """:class:`rollout.ports.WindowGate` over the configuration (rules cached per year)."""

    def __init__(self, settings: schema.Settings) -> None:
        self._settings = settings
        self._cache: dict[tuple[str, str | None, int], GateRules] = {}

    def rules(self, environment: str, now: datetime, wave: str | None = None) -> GateRules:
        key = (environment, wave, now.year)
        if key not in self._cache:
            years = range(now.year - 1, now.year + 3)  # holidays for the whole search horizon
            self._cache[key] = gate_rules(self._settings, environment, years=years, wave=wave)
        return self._cache[key]

    def usable_now(self, environment: str, now: datetime, *, wave: str | None = None) -> bool:
        return is_usable(self.rules(environment, now, wave), now)

    def next_start(
        self, environment: str, now: datetime, *, wave: str | None = None
    ) -> datetime | None:
        return next_usable_start(self.rules(environment, now, wave), now)


def person(member: schema.Member) -> Person:
    """The pure view of a team member."""
    return Person(
        name=member.name,
        timezone=ZoneInfo(member.timezone),
        hours={
            day: tuple(Shift(r.start, r.end, r.crosses_midnight) for r in ranges)
            for day, ranges in member.hours.items()
        },
        days_off=frozenset(member.days_off),
        groups=frozenset(member.groups),
    )


def holiday_freezes(
    config: schema.HolidayFreezes, years: Iterable[int], *, where: str = "holidays"
) -> list[FreezePeriod]:
    """Each public holiday of each country (`US`, or `DE-BY` for a subdivision) in
    `years` as a whole-day freeze in `config.timezone`."""
    tz = ZoneInfo(config.timezone)
    wanted = sorted(set(years))
    freezes: list[FreezePeriod] = []
    for i, code in enumerate(config.countries):
        country, _, subdivision = code.partition("-")
        try:
            calendar = holidays.country_holidays(
                country.upper(), subdiv=subdivision.upper() or None, years=wanted
            )
        except NotImplementedError as exc:
            raise ConfigError(
                f"{where}.countries[{i}]: unknown country or subdivision {code!r} "
                "(expected an ISO 3166 code like US, DE or DE-BY)"
            ) from exc
        for day, name in sorted(calendar.items()):
            start, end = _whole_days(day, day, tz)
            freezes.append(FreezePeriod(start, end, f"public holiday in {code}: {name}"))
    return freezes


def holiday_problems(settings: schema.Settings, year: int) -> list[str]:
    """One line per holiday country or subdivision the `holidays` package does not know."""
    problems: list[str] = []
    for index, env in enumerate(settings.environments):
        config = env.windows.holidays if env.windows is not None else None
        if config is None:
            continue
        where = f"environments[{index}].windows.holidays"
        for i, code in enumerate(config.countries):
            try:
                holiday_freezes(
                    schema.HolidayFreezes(countries=(code,), timezone=config.timezone),
                    [year],
                    where=where,
                )
            except ConfigError as exc:
                problems.append(exc.message.replace(".countries[0]", f".countries[{i}]"))
    return problems


def years_between(start: datetime, end: datetime) -> range:
    """The calendar years a computation from `start` to `end` can touch (with margin)."""
    return range(start.year - 1, end.year + 2)


def _freeze(config: schema.Freeze) -> FreezePeriod:
    tz = ZoneInfo(config.timezone)
    if isinstance(config.start, datetime):
        start = _moment(config.start, tz)
    else:
        start = _whole_days(config.start, config.start, tz)[0]
    if isinstance(config.end, datetime):
        end = _moment(config.end, tz)
    else:
        end = _whole_days(config.end, config.end, tz)[1]
    return FreezePeriod(start, end, config.reason)


def _moment(value: datetime, tz: ZoneInfo) -> datetime:
    return value if value.tzinfo is not None else first_instant(value, tz)


def _whole_days(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = first_instant(datetime.combine(first, time()), tz)
    end = first_instant(datetime.combine(last + timedelta(days=1), time()), tz)
    return start, end
