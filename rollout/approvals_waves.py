"""A further approval before a fleet's wave (`waves[].approvals`, docs/fleets.md).

The environment's approval counts once for the whole rollout; a wave with
its own `approvals` waits, when it is about to start, for those too. They
are recorded as approvals of the stage `env/wave`, through the same channels
(Slack, GitHub, API, CLI): `approve` of a rollout whose fleet waits for such
a wave approves that wave. Reaching quorum moves nothing: the engine sees
the approval on its next step (or wake-up) and starts the wave, inside its
window.
"""

from __future__ import annotations

from typing import Any, Protocol

from rollout.approval_ports import ApprovalStore, Clock, Outcome
from rollout.approval_rules import rules_from_config
from rollout.config.schema import Wave
from rollout.core.approvals import (
    ApprovalStatus,
    RiskFinding,
    Roster,
    Rules,
    VerifiedIdentity,
    check_approver,
)
from rollout.core.waves import STOP_REQUESTED, wave_stage
from rollout.store.records import RolloutRecord

WAVE_APPROVED = "fleet.wave.approved"


class WaveApprover(Protocol):
    """What of the approvals service a wave approval uses."""

    store: ApprovalStore
    roster: Roster
    clock: Clock

    def risk(self, rollout: RolloutRecord, rules: Rules) -> list[RiskFinding]: ...

    def author_identities(
        self, rollout: RolloutRecord, *, committers: bool = True
    ) -> list[str]: ...

    def wave_status(self, rollout: RolloutRecord, wave: Wave) -> ApprovalStatus: ...

    def audit(
        self, who: VerifiedIdentity, rollout: RolloutRecord, kind: str, details: dict[str, Any]
    ) -> None: ...


def approve_wave(
    service: WaveApprover, who: VerifiedIdentity, rollout: RolloutRecord, wave: Wave
) -> Outcome:
    """Record `who`'s approval of `wave`; say whether the wave may now start.

    Raises ApprovalError (not allowed by the wave's rules, self-approval) like
    any approval."""
    assert wave.approvals is not None
    rules = rules_from_config(wave.approvals)
    authors = service.roster.authors(service.author_identities(rollout))
    check_approver(rules, service.roster, who.member, authors, service.risk(rollout, rules))
    stage = wave_stage(rollout.environment, wave.name)
    result = service.store.approve_towards_quorum(
        rollout.id,
        stage,
        rollout.commit_sha,
        who.member,
        channel=who.channel,
        request_id=who.request_id,
        expires_at=service.clock() + rules.expires_after,
        quorum=lambda _decisions: None,  # nothing moves: the engine starts the wave
    )
    status = service.wave_status(rollout, wave)
    details: dict[str, Any] = {"wave": wave.name, "commit_sha": rollout.commit_sha}
    if status.granted and not _already_announced(service.store, rollout, wave):
        service.store.record_event(
            WAVE_APPROVED,
            actor=who.member,
            channel=who.channel,
            rollout_id=rollout.id,
            environment=rollout.environment,
            request_id=who.request_id,
            details={**details, "approvers": list(status.approvers)},
        )
    done = f"{who.member} approved wave {wave.name} of {rollout.id} ({rollout.environment})"
    if not result.added:
        done = f"{who.member} had already decided on wave {wave.name} of {rollout.id}"
    if status.granted:
        message = f"{done}; wave {wave.name} may start ({status.summary()})"
    else:
        message = f"{done}; {status.summary()}"
    return Outcome(
        message, rollout.id, stage, status, quorum_reached=False, repeated=not result.added
    )


def _already_announced(store: ApprovalStore, rollout: RolloutRecord, wave: Wave) -> bool:
    events = store.events(rollout_id=rollout.id, kinds=[WAVE_APPROVED], limit=None)
    return any(e.details.get("wave") == wave.name for e in events)


def stop_fleet(
    service: WaveApprover, who: VerifiedIdentity, rollout: RolloutRecord, reason: str
) -> Outcome:
    """Stop a fleet rollout whose waves run (`reject` mid-way): recorded once; the
    engine halts it at its next step and rolls back every cluster it reached."""
    earlier = service.store.events(rollout_id=rollout.id, kinds=[STOP_REQUESTED], limit=1)
    if earlier:
        return Outcome(
            f"{rollout.id} is already being stopped ({earlier[0].actor}: "
            f"{earlier[0].details.get('reason')})",
            rollout.id,
            rollout.environment,
            repeated=True,
        )
    service.audit(who, rollout, STOP_REQUESTED, {"reason": reason})
    return Outcome(
        f"{who.member} stopped {rollout.id}: no further cluster of {rollout.environment} "
        f"starts, and those it reached are rolled back ({reason})",
        rollout.id,
        rollout.environment,
    )
