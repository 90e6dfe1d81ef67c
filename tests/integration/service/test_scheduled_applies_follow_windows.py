"""A production apply approved outside a window waits for the next one, in a
persisted job, and lands inside a window exactly once, whatever restarts,
freezes and holds happen in between.

The real window gate (`WindowGateRules` over a real `Settings`), the real
`JobScheduler` and the real SQLite store share one database file; the clusters
are recorded (`RecordingOps`) and time is a `FakeClock`. APScheduler runs on
real time, so the fake clock stands in 2096, far ahead of any real clock this
suite will run on: the jobs never fire on their own. The test reads each
persisted job's time and plays APScheduler's part at that instant
(`Node.fire_due`): a due job is removed and its function,
`rollout.scheduler.wake`, is called, which wakes the node's driver.

The window: dana (Asia/Dubai, 10:00-20:00) and bruno (America/Bogota,
09:00-17:00) on weekdays, `overlap.min_online: 2`, give 14:00-16:00 UTC,
Monday to Friday (neither zone has daylight saving); the same window is also
written as an explicit allow window. `min_duration: 30m`: an apply may start
until 15:30.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rollout.config.schema import Settings
from rollout.engine import RolloutEngine
from rollout.ports import Commit, StageResult
from rollout.scheduler import JobScheduler, wake
from rollout.store import Store, open_store
from rollout.wiring import WindowGateRules
from tests.unit.engine.conftest import Approvals, FakeClock, RecordingOps, announce

pytestmark = pytest.mark.integration

SHA = "c0ffee0000000000000000000000000000000001"
MON_0900 = datetime(2096, 3, 5, 9, 0, tzinfo=UTC)  # a Monday
MON_1400 = MON_0900.replace(hour=14)
TUE_1400 = MON_1400 + timedelta(days=1)
NEXT_MON_1400 = MON_1400 + timedelta(days=7)

ROSTER = [
    {"name": "dana", "timezone": "Asia/Dubai", "hours": {"mon-fri": ["10:00-20:00"]}},
    {"name": "bruno", "timezone": "America/Bogota", "hours": {"mon-fri": ["09:00-17:00"]}},
]
WINDOWS: dict[str, dict[str, Any]] = {
    "overlap": {"overlap": {"min_online": 2}, "min_duration": "30m"},
    "explicit-allow": {
        "explicit": [
            {"kind": "allow", "schedule": "0 14 * * mon-fri", "duration": "2h", "timezone": "UTC"}
        ],
        "min_duration": "30m",
    },
}


def settings_with(windows: dict[str, Any]) -> Settings:
    return Settings.model_validate(
        {
            "repository": {"path": "/tmp/policies"},
            "team": {"members": ROSTER},
            "environments": [
                {"name": "staging", "namespaces": ["apps"], "overlay": "staging"},
                {
                    "name": "production",
                    "namespaces": ["apps"],
                    "overlay": "production",
                    "approvals": {"required": 1},
                    "windows": windows,
                },
            ],
        }
    )


class Node:
    """One run of the service's leader: store, engine, real gate and real scheduler."""

    def __init__(
        self,
        url: str,
        settings: Settings,
        ops: RecordingOps,
        approvals: Approvals,
        clock: FakeClock,
    ) -> None:
        self.clock = clock
        self.woken: list[str] = []
        self.jobs_on_start: dict[str, datetime] = {}
        self.store = open_store(url, clock=clock)
        self.scheduler = JobScheduler(url, self._woken)
        self.engine = RolloutEngine(
            settings,
            self.store,
            ops,
            WindowGateRules(settings),
            approvals,
            self.scheduler,
            announce,
            clock,
        )

    def _woken(self, rollout_id: str) -> None:
        # The service's wake-up only wakes its driver, which drives every rollout.
        self.woken.append(rollout_id)
        self.engine.drive_all()

    def start(self) -> None:
        """As the service starts leading: the scheduler runs missed jobs, the driver drives."""
        self.scheduler.start()
        self.jobs_on_start = self.scheduler.pending()  # read back from the database
        self.fire_due()
        self.engine.drive_all()

    def fire_due(self) -> list[str]:
        """APScheduler's part at `clock()`: each due date job is removed and runs once."""
        due = sorted(rid for rid, at in self.scheduler.pending().items() if at <= self.clock())
        for rollout_id in due:
            self.scheduler.cancel(rollout_id)
            wake(rollout_id)
        return due

    def stop(self) -> None:
        self.scheduler.shutdown()
        self.store.close()


@dataclass
class Site:
    """The database file and the clusters, which outlive every node."""

    url: str
    windows: dict[str, Any]
    clock: FakeClock = field(default_factory=FakeClock)
    ops: RecordingOps = field(default_factory=RecordingOps)
    approvals: Approvals = field(default_factory=Approvals)
    node: Node | None = None

    def boot(self, at: datetime, windows: dict[str, Any] | None = None) -> Node:
        """Stop the running node (if any) and start a new one at `at`."""
        self.down()
        self.clock.now = at
        settings = settings_with(windows if windows is not None else self.windows)
        self.node = Node(self.url, settings, self.ops, self.approvals, self.clock)
        self.node.start()
        return self.node

    def down(self) -> None:
        if self.node is not None:
            self.node.stop()
            self.node = None

    @property
    def running(self) -> Node:
        assert self.node is not None
        return self.node

    @property
    def store(self) -> Store:
        return self.running.store

    def state(self, rollout_id: str) -> str:
        record = self.store.get_rollout(rollout_id)
        assert record is not None
        return record.state

    def scheduled_at(self, rollout_id: str) -> Any:
        record = self.store.get_rollout(rollout_id)
        assert record is not None and isinstance(record.plan, dict)
        return record.plan.get("scheduled_at")

    def production_applies(self) -> list[str]:
        return self.ops.applies("production")

    def applied_at(self, rollout_id: str) -> list[datetime]:
        """When the rollout moved to production_applied (the audit log's clock)."""
        return [
            _utc(e.at)
            for e in self.store.events(rollout_id=rollout_id, kinds=["state.changed"])
            if e.details.get("to") == "production_applied"
        ]

    def advance_to(self, at: datetime) -> None:
        """Time passes to `at`: due jobs fire, then the driver's periodic tick."""
        self.clock.now = at
        self.running.fire_due()
        self.running.engine.drive_all()


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@pytest.fixture(params=sorted(WINDOWS))
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    site = Site(f"sqlite:///{tmp_path / 'state.db'}", WINDOWS[request.param])
    try:
        yield site
    finally:
        site.down()


def approve_outside_window(site: Site, at: datetime) -> str:
    """Commit at `at`, pass staging, get approved: the rollout waits for production."""
    node = site.boot(at)
    rollout = node.engine.detect(Commit(SHA, "Bob", "bob@example.com", "open 5432"), None)
    node.engine.drive_all()
    assert site.state(rollout.id) == "awaiting_approval"
    assert site.ops.applies("staging") == [SHA]
    site.approvals.granted_ = True
    node.engine.drive_all()
    return rollout.id


def assert_waits_for(site: Site, rollout_id: str, start: datetime) -> None:
    assert site.state(rollout_id) == "scheduled"
    assert site.running.scheduler.pending() == {rollout_id: start}
    assert site.scheduled_at(rollout_id) == start.isoformat()
    assert site.production_applies() == []


def assert_applied_once(site: Site, rollout_id: str, at: datetime) -> None:
    assert site.production_applies() == [SHA]
    assert site.applied_at(rollout_id) == [at]
    assert site.state(rollout_id) == "done"  # verified in production; nothing after it
    assert site.running.scheduler.pending() == {}


@pytest.mark.parametrize(
    ("approved", "start"),
    [
        (MON_0900, MON_1400),
        (MON_1400 + timedelta(minutes=91), TUE_1400),  # 29 minutes left: too short
        (MON_0900 + timedelta(days=4, hours=7, minutes=10), NEXT_MON_1400),  # Friday 16:10
    ],
    ids=["before-the-window", "too-little-left", "friday-evening"],
)
def test_approved_outside_a_window_is_applied_at_the_next_start(
    site: Site, approved: datetime, start: datetime
) -> None:
    rollout_id = approve_outside_window(site, approved)
    assert_waits_for(site, rollout_id, start)

    site.advance_to(start - timedelta(seconds=1))  # the driver's tick just before: nothing
    assert_waits_for(site, rollout_id, start)
    assert site.running.woken == []

    site.advance_to(start)
    assert site.running.woken == [rollout_id]
    assert_applied_once(site, rollout_id, start)


def test_restart_before_the_window_keeps_the_job(site: Site) -> None:
    rollout_id = approve_outside_window(site, MON_0900)
    site.down()

    site.boot(MON_0900.replace(hour=12))  # a new process, a new scheduler, the same file
    assert site.running.jobs_on_start == {rollout_id: MON_1400}
    assert_waits_for(site, rollout_id, MON_1400)
    assert site.running.woken == []

    site.advance_to(MON_1400)
    assert site.running.woken == [rollout_id]
    assert_applied_once(site, rollout_id, MON_1400)


@pytest.mark.parametrize(
    "back",
    [
        MON_1400 + timedelta(seconds=1),
        MON_1400.replace(minute=40),
        MON_1400.replace(hour=15, minute=30),
    ],
    ids=["just-after-the-start", "mid-window", "min-duration-left"],
)
def test_restart_inside_the_window_applies_on_start_once(site: Site, back: datetime) -> None:
    rollout_id = approve_outside_window(site, MON_0900)
    site.down()  # down when the window opens: the wake-up is missed

    site.boot(back)
    assert site.running.jobs_on_start == {rollout_id: MON_1400}
    assert site.running.woken == [rollout_id]  # the missed job fired once on start
    assert_applied_once(site, rollout_id, back)

    site.advance_to(back + timedelta(minutes=5))
    assert_applied_once(site, rollout_id, back)


@pytest.mark.parametrize(
    "back",
    [
        MON_1400.replace(hour=15, minute=31),  # 29 minutes left
        MON_1400.replace(hour=18),
        TUE_1400.replace(hour=9),
    ],
    ids=["too-little-left", "same-evening", "next-morning"],
)
def test_restart_after_the_window_reschedules_to_the_next(site: Site, back: datetime) -> None:
    rollout_id = approve_outside_window(site, MON_0900)
    site.down()

    site.boot(back)
    assert site.running.jobs_on_start == {rollout_id: MON_1400}
    assert site.running.woken == [rollout_id]  # the missed job fired, and found no window
    assert_waits_for(site, rollout_id, TUE_1400)  # the job moved

    site.advance_to(TUE_1400 - timedelta(seconds=1))
    assert site.production_applies() == []

    site.advance_to(TUE_1400)
    assert_applied_once(site, rollout_id, TUE_1400)


@pytest.mark.parametrize(
    "back", [MON_0900.replace(hour=11), MON_1400], ids=["before-the-window", "at-the-start"]
)
def test_freeze_added_after_scheduling_moves_the_apply_past_it(site: Site, back: datetime) -> None:
    rollout_id = approve_outside_window(site, MON_0900)
    site.down()

    # The configuration gains a freeze over Monday's window and Tuesday's first hour.
    thaw = TUE_1400.replace(hour=15)
    freeze = {"start": MON_0900.replace(hour=12), "end": thaw, "reason": "incident review"}
    site.boot(back, windows={**site.windows, "freezes": [freeze]})
    assert site.running.jobs_on_start == {rollout_id: MON_1400}
    assert_waits_for(site, rollout_id, thaw)

    for moment in (MON_1400, MON_1400.replace(hour=15), TUE_1400, thaw - timedelta(seconds=1)):
        site.advance_to(moment)
        assert_waits_for(site, rollout_id, thaw)

    site.advance_to(thaw)
    assert_applied_once(site, rollout_id, thaw)


def test_hold_during_the_window_waits_for_resume_while_it_is_open(site: Site) -> None:
    rollout_id = approve_outside_window(site, MON_0900)
    site.clock.now = MON_1400 - timedelta(minutes=1)
    site.store.set_hold("production", True, "alice", "incident 42")

    site.advance_to(MON_1400)
    assert site.running.woken == [rollout_id]
    assert site.production_applies() == []
    assert site.state(rollout_id) == "scheduled"

    site.advance_to(MON_1400.replace(minute=20))  # still held: the tick does nothing
    assert site.production_applies() == []

    resumed = MON_1400.replace(minute=30)
    site.clock.now = resumed
    site.store.set_hold("production", False, "alice")
    site.advance_to(resumed)
    assert_applied_once(site, rollout_id, resumed)


def test_hold_until_the_window_is_too_short_reschedules(site: Site) -> None:
    rollout_id = approve_outside_window(site, MON_0900)
    site.clock.now = MON_1400 - timedelta(minutes=1)
    site.store.set_hold("production", True, "alice", "incident 42")
    site.advance_to(MON_1400)
    assert site.production_applies() == []

    resumed = MON_1400.replace(hour=15, minute=45)
    site.clock.now = resumed
    site.store.set_hold("production", False, "alice")
    site.advance_to(resumed)
    assert_waits_for(site, rollout_id, TUE_1400)

    site.advance_to(TUE_1400)
    assert_applied_once(site, rollout_id, TUE_1400)


def test_driver_tick_reaching_the_window_first_cancels_the_job(site: Site) -> None:
    rollout_id = approve_outside_window(site, MON_0900)
    assert_waits_for(site, rollout_id, MON_1400)
    site.clock.now = MON_1400
    site.running.engine.drive_all()  # the periodic tick runs before the job fires
    assert site.running.woken == []
    assert_applied_once(site, rollout_id, MON_1400)  # and the job is gone
    assert site.running.fire_due() == []


def test_wakes_and_restarts_after_the_apply_never_apply_again(site: Site) -> None:
    rollout_id = approve_outside_window(site, MON_0900)
    assert_waits_for(site, rollout_id, MON_1400)
    site.advance_to(MON_1400)
    assert site.running.woken == [rollout_id]
    assert_applied_once(site, rollout_id, MON_1400)

    wake(rollout_id)  # a late duplicate wake-up
    wake(rollout_id)
    site.advance_to(MON_1400.replace(minute=1))
    site.boot(MON_1400.replace(minute=2))  # restarted right after the apply
    site.advance_to(TUE_1400)
    assert_applied_once(site, rollout_id, MON_1400)


@dataclass
class CrashAfterProductionApply(RecordingOps):
    """The process dies after the apply reached the cluster, before it was recorded."""

    crashed: bool = False

    def apply(self, environment: str, sha: str, rollout_id: str) -> StageResult:
        result = super().apply(environment, sha, rollout_id)
        if environment == "production" and not self.crashed:
            self.crashed = True
            raise Crash
        return result


class Crash(BaseException):
    """The process dying: not an error the engine retries (it retries `Exception`s)."""


@pytest.mark.parametrize(
    "back", [MON_1400.replace(minute=1), TUE_1400.replace(hour=9)], ids=["in-window", "outside"]
)
def test_apply_interrupted_before_it_was_recorded_is_not_repeated(
    site: Site, back: datetime
) -> None:
    site.ops = CrashAfterProductionApply()
    rollout_id = approve_outside_window(site, MON_0900)
    assert_waits_for(site, rollout_id, MON_1400)
    with pytest.raises(Crash):
        site.advance_to(MON_1400)
    assert site.state(rollout_id) == "scheduled"
    site.down()

    site.boot(back)
    assert site.production_applies() == [SHA]  # recorded, not applied again
    assert site.applied_at(rollout_id) == [back]
    assert site.state(rollout_id) == "done"
    assert site.running.scheduler.pending() == {}
