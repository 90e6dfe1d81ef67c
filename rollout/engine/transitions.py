"""Recording a rollout's transitions: the state, its announcement and its log line.

`Transitions.move` compare-and-sets the state with its outbox rows in one
transaction, so a transition and its notifications commit together or not at
all; a rollout someone else moved first is left as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from rollout.core.lifecycle import State
from rollout.ports import StageResult
from rollout.store import Store
from rollout.store.records import OutboxItem, RolloutRecord

# The engine's one logger: operators and the high-availability e2e tests follow
# the transitions logged as `rollout.engine`.
log = logging.getLogger(__package__)

Announcer = Callable[[RolloutRecord, str, Mapping[str, Any]], list[OutboxItem]]
"""(rollout as it is after the transition, event type, details) -> outbox rows.

Must be deterministic for one (rollout, event): the rows' idempotency keys
make a repeated announcement (after a crash) a no-op."""

TransitionHook = Callable[[RolloutRecord, RolloutRecord], None]
"""Called with (before, after) once a transition committed (metrics)."""

SYSTEM = "netpol-rollout"


@dataclass(frozen=True)
class Progress:
    """What one call of `advance` did."""

    rollout_id: str
    moved: bool
    state: str
    waiting_for: str | None = None


class Transitions:
    """Moves rollouts from state to state in the store, announcing each move."""

    def __init__(
        self, store: Store, announce: Announcer, on_transition: TransitionHook | None = None
    ) -> None:
        self._store = store
        self._announce = announce
        self._on_transition = on_transition

    def fail(
        self, rollout: RolloutRecord, state: State, event: str, result: StageResult
    ) -> Progress:
        """Move `rollout` to the failed `state`, giving the stage's summary as the reason."""
        return self.move(
            rollout, state, event, reason=result.summary, details=stage_details(result)
        )

    def move(
        self,
        rollout: RolloutRecord,
        state: State,
        event: str,
        *,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
        environment: str | None = None,
        superseded_by: str | None = None,
        artifacts: Mapping[str, Any] | None = None,
    ) -> Progress:
        """Move `rollout` to `state` with the announcement of `event` (none if empty)."""
        payload = dict(details or {})
        outbox: list[OutboxItem] = []
        if event:
            # The announcer sees the rollout as it will be once the transition commits.
            preview = _after(rollout, state, reason, environment, superseded_by, artifacts)
            outbox = self._announce(preview, event, payload)
        after = self._store.transition(
            rollout.id,
            [rollout.state],
            state.value,
            actor=SYSTEM,
            channel="system",
            reason=reason,
            details=payload,
            environment=environment,
            superseded_by=superseded_by,
            artifacts=artifacts,
            outbox=outbox,
        )
        if after is None:  # someone else moved it first; nothing to do here
            current = self._store.get_rollout(rollout.id)
            return Progress(rollout.id, False, current.state if current else "unknown")
        log.info(
            "rollout %s: %s -> %s",
            rollout.id,
            rollout.state,
            state.value,
            extra={"rollout_id": rollout.id, "from": rollout.state, "to": state.value},
        )
        if self._on_transition is not None:
            self._on_transition(rollout, after)
        return Progress(rollout.id, True, after.state)


def stage_details(result: StageResult) -> dict[str, Any]:
    """A stage's summary and details, as recorded with a transition."""
    return {"summary": result.summary, **dict(result.details)}


def _after(
    rollout: RolloutRecord,
    state: State,
    reason: str | None,
    environment: str | None,
    superseded_by: str | None,
    artifacts: Mapping[str, Any] | None,
) -> RolloutRecord:
    changes: dict[str, Any] = {"state": state.value, "reason": reason, **dict(artifacts or {})}
    if environment is not None:
        changes["environment"] = environment
    if superseded_by is not None:
        changes["superseded_by"] = superseded_by
    return replace(rollout, **changes)
