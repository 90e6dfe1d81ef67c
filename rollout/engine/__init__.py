"""The orchestrator: carries each rollout through its states, one step at a time.

Every step is "do the idempotent effect, then compare-and-set the state with
its notifications in one transaction". A crash between the two repeats the
effect on restart (server-side apply of an unchanged revision writes
nothing; smoke tests run again; outbox rows are de-duplicated by their
idempotency key), so `kill -9` at any point converges.

`rollout.environment` is where the rollout is: the first (staging)
environment until it is verified there, then the gated environment it is
waiting for, being applied to or verified in. Approvals are recorded against
that environment (see `rollout.approvals_service`).

The engine builds no adapters: the store, the environment operations, the
window gate, the approval check, the scheduler and the announcer (which turns
an event into outbox rows) are given to it.

The package: `orchestrator` drives rollouts (detection, the driving loop, one
step per state); `transitions` records each move with its announcement;
`deployments` keeps the deployment ledger and rolls environments back;
`fleet` runs a fleet environment's apply wave by wave (docs/fleets.md) and
`fleet_report` says which cluster runs which revision.
"""

from rollout.engine.deployments import ROLLBACK_SKIPPED
from rollout.engine.orchestrator import BREAK_GLASS, MAX_LISTED, RolloutEngine
from rollout.engine.transitions import SYSTEM, Announcer, Progress, TransitionHook

__all__ = [
    "BREAK_GLASS",
    "MAX_LISTED",
    "ROLLBACK_SKIPPED",
    "SYSTEM",
    "Announcer",
    "Progress",
    "RolloutEngine",
    "TransitionHook",
]
