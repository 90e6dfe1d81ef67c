"""Persistent wake-ups: APScheduler 3.x with its job store in the state database.

`JobScheduler` implements `rollout.ports.Scheduler`: one `date` job per
rollout (job id = rollout id), kept in the `apscheduler_jobs` table of the
same database as the state store, so a scheduled production apply survives a
restart or a leader change. APScheduler 3.x cannot share one job store
between running schedulers, so only the leader starts one.

A job only wakes the engine; it never applies anything itself. Jobs run with
`misfire_grace_time=None` and `coalesce=True`: a wake-up missed while no
leader ran fires once when the next scheduler starts, and the engine then
re-checks the window and the hold, and reschedules if the window has gone.

Persistent jobs need a textual reference to a module-level function, hence
the one module-level hook `_targets`, set by the running scheduler.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)

WakeTarget = Callable[[str], None]

_targets: list[WakeTarget] = []
_targets_lock = threading.Lock()


def wake(rollout_id: str) -> None:
    """The job function (referenced as `rollout.scheduler:wake`)."""
    with _targets_lock:
        targets = list(_targets)
    if not targets:
        log.warning("wake-up for %s with no engine listening", rollout_id)
    for target in targets:
        target(rollout_id)


def job_store_url(store_url: str) -> str:
    """The SQLAlchemy URL for the job store: psycopg 3 for PostgreSQL, as the store uses."""
    for prefix in ("postgresql://", "postgresql+psycopg2://"):
        if store_url.startswith(prefix):
            return "postgresql+psycopg://" + store_url[len(prefix) :]
    return store_url


class JobScheduler:
    """Wakes `on_wake(rollout_id)` at the scheduled times; start it only on the leader."""

    def __init__(self, store_url: str, on_wake: WakeTarget) -> None:
        self._on_wake = on_wake
        self._scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(url=job_store_url(store_url))},
            executors={"default": ThreadPoolExecutor(2)},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=UTC,
        )

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        with _targets_lock:
            _targets.append(self._on_wake)
        self._scheduler.start()

    def shutdown(self, wait: bool = True) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
        with _targets_lock:
            if self._on_wake in _targets:
                _targets.remove(self._on_wake)

    def wake_at(self, rollout_id: str, at: datetime) -> None:
        """(Re)schedule the one wake-up of `rollout_id`; idempotent."""
        self._scheduler.add_job(
            "rollout.scheduler:wake",
            trigger="date",
            run_date=at.astimezone(UTC),
            args=[rollout_id],
            id=rollout_id,
            name=f"wake {rollout_id}",
            replace_existing=True,
        )

    def cancel(self, rollout_id: str) -> None:
        with contextlib.suppress(JobLookupError):
            self._scheduler.remove_job(rollout_id)

    def pending(self) -> dict[str, datetime]:
        """Rollout id -> next wake-up, for status pages and tests."""
        return {
            job.id: job.next_run_time
            for job in self._scheduler.get_jobs()
            if job.next_run_time is not None
        }
