"""A step that raises is retried with backoff, then the rollout is parked, visibly.

The engine's steps report what a commit gets wrong as a failed `StageResult`;
an exception is something else: a bug, a broken environment, or an
infrastructure outage. An outage (`ClusterError`, `GitError`, `StoreError`)
is retried for as long as it lasts, with capped exponential backoff. Anything
else is retried `PARK_AFTER` times, then the rollout is moved to the failure
state of the step it was in, with the error as the reason, and announced
(`rollout.engine.orchestrator` decides which state and event). The first
error of a series is logged with its traceback, later ones in one line, so a
wedged step never fills the log every tick.

State is per engine (in memory): a restarted service gives a parked-to-be
step a fresh series, which is what an operator who fixed the cause wants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rollout.core.lifecycle import State
from rollout.engine.transitions import Progress
from rollout.errors import ClusterError, GitError, StoreError
from rollout.store.records import RolloutRecord

PARK_AFTER = 5
FIRST_DELAY = timedelta(seconds=10)
MAX_DELAY = timedelta(minutes=10)
TRANSIENT: tuple[type[Exception], ...] = (ClusterError, GitError, StoreError)


def describe(exc: BaseException) -> str:
    """`ValueError: message` (the message cut to 300 characters)."""
    message = str(exc).strip().replace("\n", " ")
    if len(message) > 300:
        message = message[:297] + "..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


@dataclass
class Series:
    """Consecutive failures of one rollout's step in one state."""

    state: str
    attempts: int
    retry_at: datetime
    error: str
    transient: bool


class StepRetries:
    """Failure series per rollout: when to try again, and when to give up."""

    def __init__(self, *, park_after: int = PARK_AFTER) -> None:
        self._park_after = park_after
        self._series: dict[str, Series] = {}

    def waiting(self, rollout_id: str, state: str, now: datetime) -> Series | None:
        """The series that makes this step wait until its retry time, if any."""
        series = self._series.get(rollout_id)
        if series is None or series.state != state:
            self._series.pop(rollout_id, None)
            return None
        return series if now < series.retry_at else None

    def failed(self, rollout_id: str, state: str, exc: Exception, now: datetime) -> Series:
        """Record one more failure; the returned series says whether to park."""
        previous = self._series.get(rollout_id)
        attempts = previous.attempts + 1 if previous and previous.state == state else 1
        delay = min(FIRST_DELAY * (2 ** (attempts - 1)), MAX_DELAY)
        series = Series(state, attempts, now + delay, describe(exc), isinstance(exc, TRANSIENT))
        self._series[rollout_id] = series
        return series

    def should_park(self, series: Series) -> bool:
        return not series.transient and series.attempts >= self._park_after

    def succeeded(self, rollout_id: str) -> None:
        self._series.pop(rollout_id, None)


# Where a rollout whose step keeps raising is parked, and how that is announced.
# Steps that write nothing (approvals, analysis) are retried but never parked.
PARKED: dict[State, tuple[State, str]] = {
    State.DETECTED: (State.INVALID, "rollout.validated"),
    State.VALIDATED: (State.STAGING_FAILED, "staging.rolled_back"),
    State.STAGING_APPLIED: (State.STAGING_FAILED, "staging.rolled_back"),
    State.APPROVED: (State.PRODUCTION_FAILED, "production.failed"),
    State.SCHEDULED: (State.PRODUCTION_FAILED, "production.failed"),
    State.PRODUCTION_APPLIED: (State.PRODUCTION_FAILED, "production.failed"),
}


def retrying(rollout: RolloutRecord, series: Series) -> Progress:
    """Progress of a step that waits for its next attempt."""
    why = f"retrying at {series.retry_at.isoformat()} after {series.error}"
    return Progress(rollout.id, False, rollout.state, why)
