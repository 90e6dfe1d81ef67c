"""Config -> rules (freezes, holidays, errors) and the `windows` / `gate` commands."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from rollout.cli.main import cli
from rollout.cli.windows_cmd import Clock
from rollout.config import load_config
from rollout.core.windows import is_usable, next_usable_start
from rollout.errors import ConfigError
from rollout.windows_rules import SettingsWindowGate, gate_rules

CONFIG = """
repository: {path: .}
team:
  members:
    - {name: alice, timezone: Europe/Berlin, hours: {mon-fri: "09:00-17:00"}, groups: [approvers]}
    - {name: bob, timezone: America/New_York, hours: {mon-fri: "09:00-17:00"}, groups: [oncall]}
    - {name: chen, timezone: Asia/Kolkata, hours: {mon-fri: "22:00-06:00+1"}}
environments:
  - {name: staging, namespaces: [a], overlay: s}
  - name: production
    namespaces: [a]
    overlay: p
    windows:
      overlap: {min_online: 2, groups: {approvers: 1}}
      explicit:
        - {kind: deny, schedule: "SCHEDULE", duration: 1h, timezone: UTC}
      freezes:
        - {start: "2026-03-12", end: "2026-03-12", reason: release freeze, timezone: Europe/Berlin}
      holidays: {countries: [US], timezone: America/New_York}
"""


def write(tmp_path: Path, schedule: str = "0 15 * * fri", text: str = CONFIG) -> Path:
    path = tmp_path / "rollout.yaml"
    path.write_text(text.replace("SCHEDULE", schedule))
    return path


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_invalid_cron_is_a_precise_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "61 * * * *"))
    assert (
        "environments[1].windows.explicit[0].schedule: invalid cron expression "
        "'61 * * * *': minute 61 out of range 0-59"
    ) in str(caught.value)


def test_overlap_must_name_known_members_and_groups(tmp_path: Path) -> None:
    text = CONFIG.replace("groups: {approvers: 1}}", "groups: {approver: 1}, members: [zed]}")
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text=text))
    assert "environments[1].windows.overlap.members[0]: no team member 'zed'" in str(caught.value)
    assert "environments[1].windows.overlap.groups.approver: no member is in group" in str(
        caught.value
    )


def test_date_freezes_are_whole_local_days_and_holidays_freeze(tmp_path: Path) -> None:
    settings = load_config(write(tmp_path))
    rules = gate_rules(settings, "production", years=[2026])
    release = [f for f in rules.freezes if f.reason == "release freeze"]
    assert (release[0].start, release[0].end) == (utc(2026, 3, 11, 23), utc(2026, 3, 12, 23))
    assert not is_usable(rules, utc(2026, 3, 12, 14))
    # US Independence Day is observed on Friday 2026-07-03 (July 4th is a Saturday).
    july = [f.reason for f in rules.freezes if f.start.month == 7 and f.start.day in (3, 4)]
    assert any("Independence Day" in reason for reason in july)
    assert not is_usable(rules, utc(2026, 7, 3, 14))


def test_unknown_holiday_country_names_the_field(tmp_path: Path) -> None:
    settings = load_config(
        write(tmp_path, text=CONFIG.replace("countries: [US]", "countries: [XX]"))
    )
    with pytest.raises(ConfigError, match=r"environments\[1\]\.windows\.holidays\.countries\[0\]"):
        gate_rules(settings, "production", years=[2026])


def test_environment_without_windows_is_always_open(tmp_path: Path) -> None:
    settings = load_config(write(tmp_path))
    gate = SettingsWindowGate(settings)
    assert gate.usable_now("staging", utc(2026, 3, 14, 3))
    assert gate.next_start("production", utc(2026, 3, 9, 10)) == utc(2026, 3, 9, 13)
    assert next_usable_start(gate.rules("production", utc(2026, 3, 9)), utc(2026, 3, 9, 13)) == utc(
        2026, 3, 9, 13
    )


def test_windows_json_is_exact_and_reproducible(tmp_path: Path) -> None:
    args = ["windows", "-c", str(write(tmp_path)), "--env", "production"]
    result = CliRunner().invoke(
        cli, [*args, "--from", "2026-03-09T00:00:00Z", "--days", "4", "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "windows": [
            {
                "start": f"2026-03-{d}T13:00:00Z",
                "end": f"2026-03-{d}T16:00:00Z",
                "online": ["alice", "bob"],
            }
            for d in ("09", "10", "11")  # the 12th is frozen
        ]
    }


def test_windows_table_shows_viewer_zone_utc_and_a_timeline(tmp_path: Path) -> None:
    args = ["windows", "-c", str(write(tmp_path)), "--from", "2026-03-09T00:00Z", "--days", "1"]
    result = CliRunner().invoke(cli, [*args, "--tz", "Asia/Kolkata"])
    assert result.exit_code == 0, result.output
    assert "Mon 09 Mar 18:30 – 21:30 IST" in result.output
    assert "Mon 09 Mar 13:00 – 16:00" in result.output
    lines = result.output.splitlines()
    assert any(line.startswith("usable") and "██████" in line for line in lines)
    assert any(line.startswith("chen") for line in lines)


def test_gate_open_closed_and_json(tmp_path: Path) -> None:
    config = str(write(tmp_path))
    runner = CliRunner()
    opened = runner.invoke(
        cli, ["gate", "-c", config, "--env", "production", "--at", "2026-03-09T14:00Z"]
    )
    assert opened.exit_code == 0 and "open now" in opened.output
    closed = runner.invoke(
        cli,
        ["gate", "-c", config, "--env", "production", "--at", "2026-03-09T10:00Z", "-o", "json"],
    )
    assert closed.exit_code == 7
    answer = json.loads(closed.stdout)
    assert answer["open"] is False and answer["opens_at"] == "2026-03-09T13:00:00Z"
    assert answer["reasons"] == ["1 of the required 2 members online (alice)"]
    assert "next window opens at 2026-03-09T13:00:00Z, in 3h00m" in closed.stderr


def test_gate_wait_sleeps_until_the_window_opens(tmp_path: Path) -> None:
    now = [utc(2026, 3, 9, 12, 59, 30)]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += timedelta(seconds=seconds)

    clock = Clock(now=lambda: now[0], sleep=sleep)
    args = ["gate", "-c", str(write(tmp_path)), "--env", "production", "--wait"]
    result = CliRunner().invoke(cli, args, obj=clock)
    assert result.exit_code == 0, result.output
    assert now[0] == utc(2026, 3, 9, 13) and slept == [30.0]
    assert "waiting until 2026-03-09T13:00:00Z" in result.stderr
    too_far = CliRunner().invoke(
        cli, [*args, "--max-wait", "10s"], obj=Clock(now=lambda: utc(2026, 3, 9, 10))
    )
    assert too_far.exit_code == 7 and "beyond --max-wait" in too_far.stderr


def test_timeline_draws_deny_windows_and_freezes(tmp_path: Path) -> None:
    # The deny window fires Fridays 15:00-16:00 UTC; 12 March is frozen in Berlin.
    config = str(write(tmp_path))
    args = ["windows", "-c", config, "--from", "2026-03-12T00:00Z", "--days", "2", "--tz", "UTC"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    deny = [line for line in lines if line.startswith("deny window")]
    assert len(deny) == 2  # one per local day shown
    friday = deny[1].removeprefix("deny window").strip()
    assert friday == "·" * 30 + "××" + "·" * 16  # 15:00-16:00 UTC: cells 30 and 31
    freeze = [line for line in lines if line.startswith("freeze")]
    assert freeze and "×" in freeze[0]
