"""The scheduler's jobs live in the state database: a restart keeps them, a missed
wake-up fires once on start (the engine then re-checks the window)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rollout.scheduler import JobScheduler

pytestmark = pytest.mark.integration


class Woken:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self.event = threading.Event()

    def __call__(self, rollout_id: str) -> None:
        self.ids.append(rollout_id)
        self.event.set()


def test_job_survives_restart_and_missed_wakeup_fires_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    first_woken = Woken()
    first = JobScheduler(url, first_woken)
    first.start()
    soon = datetime.now(UTC) + timedelta(seconds=1.5)
    first.wake_at("r-1", soon)
    first.wake_at("r-1", soon)  # idempotent: one job per rollout
    first.wake_at("r-2", datetime.now(UTC) + timedelta(hours=5))
    assert set(first.pending()) == {"r-1", "r-2"}
    first.shutdown()  # the process dies before r-1 is due
    assert first_woken.ids == []

    threading.Event().wait(2.0)  # r-1's time passes while nothing runs
    second_woken = Woken()
    second = JobScheduler(url, second_woken)
    second.start()
    try:
        assert second_woken.event.wait(5.0)
        threading.Event().wait(0.5)
        assert second_woken.ids == ["r-1"]  # once, although it was missed
        assert set(second.pending()) == {"r-2"}
        second.cancel("r-2")
        second.cancel("r-unknown")
        assert second.pending() == {}
    finally:
        second.shutdown()
