"""The seams between the engine and the world, as Protocols.

The engine (`rollout/engine/`) drives rollouts only through these; the
real implementations are built in `rollout/wiring.py` (`EnvironmentOps` on
real clusters is `rollout/cluster_ops.py`), and tests may pass their own
(for the clock, ids and randomness, always).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware UTC."""

IdFactory = Callable[[], str]


@dataclass(frozen=True)
class Commit:
    """A commit of the policy repository that changed the policy path."""

    sha: str
    author: str
    author_email: str
    message: str
    committed_at: datetime | None = None
    authors: tuple[str, ...] = ()
    """`Name <email>` of every author and co-author since the previous rollout."""
    committers: tuple[str, ...] = ()
    """Names/emails of every author since the previous rollout (self-approval checks)."""


@dataclass(frozen=True)
class StageResult:
    """The outcome of one stage: a verdict, one line for humans, JSON details."""

    ok: bool
    summary: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChangeAnalysis:
    """What a revision changes in an environment, for reviewers and risk rules."""

    diff: Mapping[str, Any]
    lint: Mapping[str, Any]
    risk: Mapping[str, Any]


class EnvironmentOps(Protocol):
    """What the engine does to one environment's cluster."""

    def validate(self, environment: str, sha: str) -> StageResult:
        """Render, validate and server-side dry-run `sha` for `environment`."""

    def apply(self, environment: str, sha: str, rollout_id: str) -> StageResult:
        """Make the cluster match `sha` (idempotent: unchanged objects are not written)."""

    def deployed_sha(self, environment: str) -> str | None:
        """The revision the cluster itself records as deployed."""

    def rollback(self, environment: str, to_sha: str | None, rollout_id: str) -> StageResult:
        """Apply `to_sha` (or remove everything we manage when None)."""

    def smoke(self, environment: str, sha: str, rollout_id: str) -> StageResult:
        """Run the environment's smoke tests against what is deployed."""

    def analyse(self, environment: str, old_sha: str | None, new_sha: str) -> ChangeAnalysis:
        """The connectivity diff, lint findings and risk findings of a change."""


CommitCheck = Callable[[str], StageResult]
"""A check of a commit before anything is applied (its signature): sha -> verdict.

Its `details` are kept in the rollout's plan (e.g. `{"signature": {...}}`);
a failed verdict ends the rollout `invalid` with its summary as the reason."""


class WindowGate(Protocol):
    """When an environment (or, with `wave`, a wave of its fleet) may be applied to."""

    def usable_now(self, environment: str, now: datetime, *, wave: str | None = None) -> bool: ...

    def next_start(
        self, environment: str, now: datetime, *, wave: str | None = None
    ) -> datetime | None:
        """`now` if usable now, else the next usable start (None: none ahead)."""


class ApprovalCheck(Protocol):
    """Whether a rollout has the approvals an environment needs."""

    def granted(self, rollout_id: str, environment: str, now: datetime) -> tuple[bool, str]:
        """(granted, a sentence saying who is still needed or why granted)."""


class Scheduler(Protocol):
    """Wakes the engine for one rollout at a given time; survives restarts.

    `wake_at` replaces any earlier wake-up of the same rollout (one job per
    rollout); `cancel` of an unknown rollout does nothing.
    """

    def wake_at(self, rollout_id: str, at: datetime) -> None: ...

    def cancel(self, rollout_id: str) -> None: ...


Fence = Callable[[], bool]
"""True while this process may act on clusters (it holds the leader lease)."""
