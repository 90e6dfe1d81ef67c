"""When the review digest runs: the next cron instant in the digest's time zone
(DST included), a missed instant caught up only after a first digest, and the
pure assembly of its content."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rollout.config.schema import DigestSettings
from rollout.digest_job import (
    DigestRun,
    DigestTimer,
    EnvironmentReview,
    assemble_digest,
    latest_digest_at,
    net_connectivity,
    next_digest_at,
)
from rollout.errors import ConfigError
from rollout.policy import Finding


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


MONTHLY = DigestSettings()  # "0 9 1 * *" UTC


def test_default_is_9am_utc_on_the_first_strictly_after_now() -> None:
    assert next_digest_at(MONTHLY, utc(2026, 2, 15, 12)) == utc(2026, 3, 1, 9)
    assert next_digest_at(MONTHLY, utc(2026, 3, 1, 9)) == utc(2026, 4, 1, 9)
    assert next_digest_at(MONTHLY, utc(2026, 12, 31, 23)) == utc(2027, 1, 1, 9)


def test_wall_time_in_the_configured_zone_follows_dst() -> None:
    berlin = DigestSettings(schedule="0 9 1 * *", timezone="Europe/Berlin")
    assert next_digest_at(berlin, utc(2026, 2, 15)) == utc(2026, 3, 1, 8)  # CET
    assert next_digest_at(berlin, utc(2026, 3, 2)) == utc(2026, 4, 1, 7)  # CEST
    # 02:30 does not exist on 2026-03-29 in Berlin: the first instant after the gap.
    nightly = DigestSettings(schedule="30 2 * * *", timezone="Europe/Berlin")
    assert next_digest_at(nightly, utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 1)


def test_a_rare_schedule_is_found_years_ahead() -> None:
    leap = DigestSettings(schedule="0 9 29 2 *")
    assert next_digest_at(leap, utc(2026, 3, 1)) == utc(2028, 2, 29, 9)


def test_latest_instant_within_the_grace() -> None:
    assert latest_digest_at(MONTHLY, utc(2026, 3, 1, 9)) == utc(2026, 3, 1, 9)
    assert latest_digest_at(MONTHLY, utc(2026, 3, 1, 20)) == utc(2026, 3, 1, 9)
    assert latest_digest_at(MONTHLY, utc(2026, 3, 2, 10)) is None
    assert latest_digest_at(MONTHLY, utc(2026, 3, 1, 8, 59)) is None


class StubJob:
    def __init__(self, last: datetime | None) -> None:
        self.last = last
        self.runs: list[datetime] = []

    def last_period_end(self) -> datetime | None:
        return self.last

    def run(self, end: datetime) -> DigestRun:
        self.runs.append(end)
        self.last = end
        return DigestRun(None, sent=True, new_deliveries=2)


def timer(job: StubJob, now: datetime, **kwargs: Any) -> DigestTimer:
    return DigestTimer(job, MONTHLY, clock=lambda: now, **kwargs)  # type: ignore[arg-type]


def test_due_at_the_instant_and_never_twice() -> None:
    job = StubJob(last=utc(2026, 2, 1, 9))
    now = utc(2026, 3, 1, 9, 0, 2)
    assert timer(job, now).due(now) == utc(2026, 3, 1, 9)
    wait = timer(job, now)._step()
    assert job.runs == [utc(2026, 3, 1, 9)]
    assert timer(job, now).due(now) is None  # sent: a restart does not send again
    assert wait == (utc(2026, 4, 1, 9) - now).total_seconds()  # the loop caps each sleep


def test_a_missed_instant_is_caught_up_within_a_day_after_a_first_digest() -> None:
    late = utc(2026, 3, 1, 15)
    assert timer(StubJob(last=utc(2026, 2, 1, 9)), late).due(late) == utc(2026, 3, 1, 9)
    # A new installation does not start with a late digest of the month before.
    assert timer(StubJob(last=None), late).due(late) is None
    assert timer(StubJob(last=None), utc(2026, 3, 1, 9, 1)).due(utc(2026, 3, 1, 9, 1)) == utc(
        2026, 3, 1, 9
    )
    too_late = utc(2026, 3, 2, 9, 30)
    assert timer(StubJob(last=utc(2026, 2, 1, 9)), too_late).due(too_late) is None


def test_the_timer_thread_sends_once_and_stops() -> None:
    job = StubJob(last=utc(2026, 2, 1, 9))
    running = timer(job, utc(2026, 3, 1, 9), max_sleep=timedelta(milliseconds=10))
    running.start()
    try:
        deadline = time.monotonic() + 5
        while not job.runs and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)  # a few more wake-ups: none may send again
    finally:
        running.stop(timeout=5)
    assert job.runs == [utc(2026, 3, 1, 9)]


def test_the_leader_fence_holds_it_back() -> None:
    job = StubJob(last=utc(2026, 2, 1, 9))
    now = utc(2026, 3, 1, 9)
    timer(job, now, fence=lambda: False)._step()
    assert job.runs == []


def test_an_invalid_schedule_fails_at_startup() -> None:
    with pytest.raises(ConfigError, match="invalid cron expression"):
        DigestTimer(
            StubJob(None),
            DigestSettings.model_construct(schedule="61 * * * *", timezone="UTC", enabled=True),
            clock=lambda: utc(2026, 1, 1),
        )  # type: ignore[arg-type]


def test_net_connectivity_cancels_a_flow_opened_and_closed_again() -> None:
    def conn(port: int) -> dict[str, Any]:
        return {"from": "a/x", "to": "b/y", "port": port, "protocol": "TCP"}

    opened, closed = net_connectivity(
        [
            {"opened": [conn(80), conn(443)], "closed": [conn(22)]},
            None,
            {"opened": [], "closed": [conn(80)]},
        ]
    )
    assert opened == ["a/x -> b/y TCP 443"]
    assert closed == ["a/x -> b/y TCP 22"]


def test_findings_in_only_some_environments_name_them() -> None:
    def no_baseline(ns: str) -> Finding:
        return Finding(f"Namespace/{ns}", "NP001", "warning", "no ingress default-deny")

    ghost = Finding("NetworkPolicy/shop/ghost", "NP005", "warning", "matches no pod")
    digest = assemble_digest(
        utc(2026, 2, 1),
        utc(2026, 3, 1),
        [
            EnvironmentReview("staging", (no_baseline("sandbox"), no_baseline("shop"), ghost)),
            EnvironmentReview("production", (no_baseline("sandbox"),)),
        ],
        rollouts=3,
        rollbacks=1,
    )
    assert digest.namespaces_without_baseline == ("sandbox", "shop (staging)")
    assert digest.policies_selecting_nothing == ("shop/ghost (staging)",)
    assert [(f.object, f.environments) for f in digest.lint_findings] == [
        ("Namespace/sandbox", ()),
        ("Namespace/shop", ("staging",)),
        ("NetworkPolicy/shop/ghost", ("staging",)),
    ]
    assert (digest.rollouts, digest.rollbacks) == (3, 1)


def test_net_connectivity_names_a_whole_port_range() -> None:
    # A stored diff says `ports: 8447-8450`; the digest once showed only `TCP 8447`.
    ranged = {"from": "a/x", "to": "b/y", "port": 8447, "end_port": 8450, "ports": "8447-8450"}
    everything = {"from": "a/x", "to": "b/z", "port": 1, "end_port": 65535, "ports": "all"}
    opened, _ = net_connectivity([{"opened": [ranged | {"protocol": "TCP"}, everything]}])
    assert opened == ["a/x -> b/y TCP 8447-8450", "a/x -> b/z TCP all"]
