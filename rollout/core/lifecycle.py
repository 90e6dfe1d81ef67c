"""The rollout state machine: which transitions are legal, and nothing else.

A rollout is one commit's journey through the promotion chain. The first
environment plays the staging role (applied and verified automatically);
every later one waits for approvals and a window, then is applied and
verified. With more than two environments the rollout goes back to
``awaiting_approval`` for the next one after ``production_verified``.

    detected -> validated -> staging_applied -> staging_verified
      -> awaiting_approval -> approved -> scheduled -> production_applied
      -> production_verified -> done

Failure states end a rollout: ``invalid`` (render/validation failed),
``staging_failed`` (apply or smoke tests failed; staging rolled back),
``rejected``, ``superseded`` (a newer commit took its place before it
reached production), ``production_failed`` (production rolled back).
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    DETECTED = "detected"
    VALIDATED = "validated"
    STAGING_APPLIED = "staging_applied"
    STAGING_VERIFIED = "staging_verified"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    PRODUCTION_APPLIED = "production_applied"
    PRODUCTION_VERIFIED = "production_verified"
    DONE = "done"
    INVALID = "invalid"
    STAGING_FAILED = "staging_failed"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    PRODUCTION_FAILED = "production_failed"


TERMINAL: frozenset[State] = frozenset(
    {
        State.DONE,
        State.INVALID,
        State.STAGING_FAILED,
        State.REJECTED,
        State.SUPERSEDED,
        State.PRODUCTION_FAILED,
    }
)

# States in which a newer commit may still take the rollout's place: nothing
# has been written to a gated (production) environment yet.
SUPERSEDABLE: frozenset[State] = frozenset(
    {
        State.DETECTED,
        State.VALIDATED,
        State.STAGING_APPLIED,
        State.STAGING_VERIFIED,
        State.AWAITING_APPROVAL,
        State.APPROVED,
        State.SCHEDULED,
    }
)

# States that hold an environment: one rollout at a time per environment.
ACTIVE: frozenset[State] = frozenset(State) - TERMINAL

_NEXT: dict[State, frozenset[State]] = {
    State.DETECTED: frozenset({State.VALIDATED, State.INVALID}),
    State.VALIDATED: frozenset({State.STAGING_APPLIED, State.STAGING_FAILED}),
    State.STAGING_APPLIED: frozenset({State.STAGING_VERIFIED, State.STAGING_FAILED}),
    State.STAGING_VERIFIED: frozenset({State.AWAITING_APPROVAL, State.APPROVED, State.DONE}),
    State.AWAITING_APPROVAL: frozenset({State.APPROVED}),
    State.APPROVED: frozenset({State.SCHEDULED, State.PRODUCTION_APPLIED, State.PRODUCTION_FAILED}),
    State.SCHEDULED: frozenset(
        {State.PRODUCTION_APPLIED, State.SCHEDULED, State.PRODUCTION_FAILED}
    ),
    State.PRODUCTION_APPLIED: frozenset({State.PRODUCTION_VERIFIED, State.PRODUCTION_FAILED}),
    State.PRODUCTION_VERIFIED: frozenset({State.DONE, State.AWAITING_APPROVAL, State.APPROVED}),
}


def allowed_next(state: State) -> frozenset[State]:
    """The states a rollout in `state` may move to (rejected/superseded included)."""
    forward = _NEXT.get(state, frozenset())
    extra: set[State] = set()
    if state in SUPERSEDABLE:
        extra.add(State.SUPERSEDED)
    if state in (State.AWAITING_APPROVAL, State.APPROVED, State.SCHEDULED):
        extra.add(State.REJECTED)
    return forward | extra


def can_transition(current: State, target: State) -> bool:
    return target in allowed_next(current)


def predecessors(target: State) -> frozenset[State]:
    """Every state from which `target` may be reached in one step (for compare-and-set)."""
    return frozenset(s for s in State if target in allowed_next(s))


def is_terminal(state: State) -> bool:
    return state in TERMINAL
