"""Timezones are IANA region names, as docs/configuration.md promises: `CET`,
`EST` and friends are refused (ambiguous, and `EST` never observes daylight
saving, so "New York hours" written as EST would be an hour off half the year);
`UTC` and region names pass."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from rollout.config.schema.types import TimezoneName

ZONE = TypeAdapter(TimezoneName)


@pytest.mark.parametrize("name", ["CET", "EST", "MST", "EST5EDT", "GMT", "Japan"])
def test_abbreviations_and_legacy_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="region name like Europe/Berlin"):
        ZONE.validate_python(name)


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "America/New_York", "Etc/UTC"])
def test_region_names_and_utc_pass(name: str) -> None:
    assert ZONE.validate_python(name) == name
