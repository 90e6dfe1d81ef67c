"""Approval use cases: approve, reject, hold, resume, break-glass.

Every entry point (Slack, GitHub, the HTTP API behind the CLI) verifies who
is asking and hands a `VerifiedIdentity` here; this module applies the pure
rules of :mod:`rollout.core.approvals` to what the store recorded, writes the
audit event and moves the rollout with the store's compare-and-set
transition, so quorum is reached exactly once however many approvals arrive
at the same moment. Refusals raise `ApprovalError` (or `AuthError`, or
`ConflictError` when the rollout's state takes no such decision) and are
audited too; nothing else changes when a request is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from rollout.approval_ports import ApprovalStore, Clock, NotificationsFor, Outcome
from rollout.approval_rules import (
    ACCOUNTS_LOOKBACK,
    GITHUB_ACCOUNTS,
    author_identities,
    cut_flows,
    opened_connections,
    roster_from_team,
    rules_from_config,
)
from rollout.approvals_waves import approve_wave, stop_fleet
from rollout.config.schema import Environment, Settings, Wave
from rollout.core.approvals import (
    ApprovalDecision,
    ApprovalStatus,
    RiskFinding,
    Rules,
    VerifiedIdentity,
    allowed_approvers,
    check_approver,
    evaluate_approvals,
    risk_findings,
    unmatched_author_finding,
)
from rollout.core.events import EventType
from rollout.core.lifecycle import State, predecessors
from rollout.core.waves import progress_of, wave_awaiting_approval, wave_stage
from rollout.errors import ApprovalError, AuthError, ConflictError, RolloutError
from rollout.store.records import ApprovalRecord, Move, RolloutRecord

FLOW_ACKNOWLEDGED = "flow.acknowledged"

# Re-exported: the HTTP routes and the server context import these from here.
__all__ = ["ApprovalStore", "ApprovalsService", "Outcome"]


class ApprovalsService:
    """Approval use cases over a store; one instance per process."""

    def __init__(
        self,
        settings: Settings,
        store: ApprovalStore,
        clock: Clock,
        *,
        notifications_for: NotificationsFor | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.roster = roster_from_team(settings.team)
        self._notifications_for = notifications_for or (lambda _r, _e, _p: [])

    # -- reading -----------------------------------------------------------------------

    def rollout(self, rollout_id: str) -> RolloutRecord:
        record = self.store.get_rollout(rollout_id)
        if record is None:
            raise ApprovalError(f"no rollout {rollout_id!r}; `rollout status` lists them")
        return record

    def environment(self, name: str) -> Environment:
        for env in self.settings.environments:
            if env.name == name:
                return env
        known = ", ".join(e.name for e in self.settings.environments)
        raise ApprovalError(f"no environment {name!r} (known: {known})")

    def risk(self, rollout: RolloutRecord, rules: Rules) -> list[RiskFinding]:
        cut, window = cut_flows(rollout)
        findings = risk_findings(
            rules.risk_rules,
            opened_connections(rollout),
            cut,
            acknowledged=self.acknowledged_flows(rollout),
            window=window,
        )
        strangers = unmatched_author_finding(
            rules, self.roster.strangers(self.author_identities(rollout, committers=False))
        )
        return [*findings, strangers] if strangers else findings

    def author_identities(self, rollout: RolloutRecord, *, committers: bool = True) -> list[str]:
        """Everyone who wrote the rollout's commits, with the GitHub accounts deliveries named."""
        events = self.store.events(kinds=[GITHUB_ACCOUNTS], limit=ACCOUNTS_LOOKBACK)
        return author_identities(
            rollout, committers=committers, accounts=[e.details for e in events]
        )

    def acknowledged_flows(self, rollout: RolloutRecord) -> set[str]:
        """Keys of cut flows a reviewer acknowledged on this rollout and commit (audited)."""
        events = self.store.events(rollout_id=rollout.id, kinds=[FLOW_ACKNOWLEDGED], limit=None)
        return {
            str(e.details.get("flow"))
            for e in events
            if e.details.get("commit_sha") == rollout.commit_sha
        }

    def status(self, rollout: RolloutRecord) -> ApprovalStatus | None:
        """The approval status for the rollout's current environment (None: no rules)."""
        env = self.environment(rollout.environment)
        if env.approvals is None:
            return None
        rules = rules_from_config(env.approvals)
        return evaluate_approvals(
            rules,
            self.roster,
            self.roster.authors(self.author_identities(rollout)),
            self._decisions(rollout),
            self.risk(rollout, rules),
            self.clock(),
            commit_sha=rollout.commit_sha,
        )

    def awaiting_wave(self, rollout: RolloutRecord) -> Wave | None:
        """The wave of a fleet rollout that waits for its further approval now (or None)."""
        if rollout.state != State.PRODUCTION_APPLIED.value:
            return None
        env = self.environment(rollout.environment)
        if not env.is_fleet:
            return None
        rows = self.store.fleet_clusters(rollout.id, env.name)
        planned = wave_awaiting_approval(env.wave_plan(), progress_of(rows), self.clock())
        return env.wave(planned.name) if planned is not None else None

    def wave_status(self, rollout: RolloutRecord, wave: Wave) -> ApprovalStatus:
        """The further approval before `wave` of the rollout's (fleet) environment."""
        assert wave.approvals is not None
        rules = rules_from_config(wave.approvals)
        stage = wave_stage(rollout.environment, wave.name)
        return evaluate_approvals(
            rules,
            self.roster,
            self.roster.authors(self.author_identities(rollout)),
            [_decision(a) for a in self.store.approvals_for(rollout.id, stage)],
            self.risk(rollout, rules),
            self.clock(),
            commit_sha=rollout.commit_sha,
        )

    def _decisions(self, rollout: RolloutRecord) -> list[ApprovalDecision]:
        return [_decision(a) for a in self.store.approvals_for(rollout.id, rollout.environment)]

    # -- deciding ------------------------------------------------------------------------

    def approve(self, who: VerifiedIdentity, rollout_id: str) -> Outcome:
        """Record `who`'s approval; move the rollout to approved when quorum is reached.

        Raises ConflictError (not awaiting approval: already approved, rejected,
        superseded...), ApprovalError (not allowed, self-approval) or AuthError
        (not on the roster); the refusal is audited.
        """
        with self._audited_refusal(who, "approve", rollout_id):
            rollout = self.rollout(rollout_id)
            wave = self.awaiting_wave(rollout)
            if wave is not None:
                return approve_wave(self, who, rollout, wave)
            self._require_awaiting(rollout)
            env = self.environment(rollout.environment)
            if env.approvals is None:
                raise ApprovalError(f"environment {env.name} does not take approvals")
            rules = rules_from_config(env.approvals)
            risk = self.risk(rollout, rules)
            authors = self.roster.authors(self.author_identities(rollout))
            check_approver(rules, self.roster, who.member, authors, risk)
            now = self.clock()
            seen: list[ApprovalStatus] = []

            def quorum(decisions: list[ApprovalRecord]) -> Move | None:
                # Called by the store inside the approval's transaction, the
                # rollout locked: this approval, if it completes quorum, moves it.
                status = evaluate_approvals(
                    rules,
                    self.roster,
                    authors,
                    [_decision(a) for a in decisions],
                    risk,
                    self.clock(),
                    commit_sha=rollout.commit_sha,
                )
                seen.append(status)
                return self._approved_move(who, rollout, status) if status.granted else None

            result = self.store.approve_towards_quorum(
                rollout.id,
                rollout.environment,
                rollout.commit_sha,
                who.member,
                channel=who.channel,
                request_id=who.request_id,
                expires_at=now + rules.expires_after,
                quorum=quorum,
            )
        added, status = result.added, seen[-1]
        if not added:
            # One decision per member and stage (the store's unique key); say so plainly.
            self.audit(who, rollout, "approval.repeated", {})
        done = f"{who.member} approved {rollout.id} ({rollout.environment})"
        if not added:
            done = f"{who.member} had already decided on {rollout.id}"
            if who.member in status.expired:
                # The store renews a decision once its recorded expiry has passed;
                # the rules have since been shortened, so that is still ahead.
                done += (
                    " (that approval no longer counts under the current rules; "
                    f"approve again after {self._recorded_expiry(rollout, who.member)})"
                )
        if not status.granted:
            return Outcome(
                f"{done}; {status.summary()}",
                rollout.id,
                rollout.environment,
                status,
                repeated=not added,
            )
        moved = result.moved
        message = (
            f"{rollout.id} is approved for {rollout.environment} ({status.summary()})"
            if moved is not None
            else f"{done}; another request already moved it on"
        )
        return Outcome(
            message,
            rollout.id,
            rollout.environment,
            status,
            moved is not None,
            repeated=not added,
        )

    def _approved_move(
        self, who: VerifiedIdentity, rollout: RolloutRecord, status: ApprovalStatus
    ) -> Move:
        """awaiting_approval -> approved, named after `who`, with its announcement."""
        details = {"approvers": list(status.approvers), "reasons": list(status.reasons)}
        return Move(
            from_states=(State.AWAITING_APPROVAL.value,),
            to_state=State.APPROVED.value,
            actor=who.member,
            channel=who.channel,
            reason=status.summary(),
            details=details,
            request_id=who.request_id,
            outbox=tuple(
                self._notifications_for(
                    replace(rollout, state=State.APPROVED.value, reason=status.summary()),
                    EventType.APPROVAL_GRANTED.value,
                    {**details, "actor": who.member},
                )
            ),
        )

    def _grant(
        self, who: VerifiedIdentity, rollout: RolloutRecord, status: ApprovalStatus
    ) -> RolloutRecord | None:
        move = self._approved_move(who, rollout, status)
        return self.store.transition(
            rollout.id,
            move.from_states,
            move.to_state,
            actor=move.actor,
            channel=move.channel,
            reason=move.reason,
            details=move.details,
            request_id=move.request_id,
            outbox=move.outbox,
        )

    def acknowledge_flow(
        self, who: VerifiedIdentity, rollout_id: str, flow: str, reason: str
    ) -> Outcome:
        """Accept that the change cuts one observed flow (`CutFlow.key`), with a reason.

        Audited as a `flow.acknowledged` event bound to the rollout and its
        commit; the `breaks_observed_flows` rules stop counting that flow, and
        the rollout is approved if that was all it waited for. Raises
        ApprovalError (no reason, not allowed, not a cut flow), AuthError or
        ConflictError (not awaiting approval); refusals are audited.
        """
        with self._audited_refusal(who, "acknowledge", rollout_id):
            if not reason.strip():
                raise ApprovalError("acknowledging a cut flow needs a reason")
            rollout = self.rollout(rollout_id)
            self._require_awaiting(rollout)
            env = self.environment(rollout.environment)
            if env.approvals is None:
                raise ApprovalError(f"environment {env.name} does not take approvals")
            rules = rules_from_config(env.approvals)
            authors = self.roster.authors(self.author_identities(rollout))
            check_approver(rules, self.roster, who.member, authors, self.risk(rollout, rules))
            cut = [c.key for c in cut_flows(rollout)[0]]
            if flow not in cut:
                raise ApprovalError(
                    f"{flow!r} is not an observed flow this change cuts "
                    f"(cut: {'; '.join(cut) or 'none'})"
                )
            self.audit(who, rollout, FLOW_ACKNOWLEDGED, {"flow": flow, "reason": reason})
        status = self.status(rollout)
        done = f"{who.member} acknowledged that {rollout.id} cuts {flow}: {reason}"
        if status is None or not status.granted:
            summary = f"; {status.summary()}" if status else ""
            return Outcome(done + summary, rollout.id, rollout.environment, status)
        moved = self._grant(who, rollout, status)
        return Outcome(
            f"{done}; {rollout.id} is approved ({status.summary()})",
            rollout.id,
            rollout.environment,
            status,
            moved is not None,
        )

    def reject(self, who: VerifiedIdentity, rollout_id: str, reason: str) -> Outcome:
        """End the rollout as rejected. Any allowed approver (authors included) may reject.

        Raises ApprovalError (no reason, not allowed), AuthError (not on the
        roster) or ConflictError (the rollout is past rejecting: done, rejected,
        superseded...); the refusal is audited and records no decision.
        """
        with self._audited_refusal(who, "reject", rollout_id):
            if not reason.strip():
                raise ApprovalError("a rejection needs a reason")
            rollout = self.rollout(rollout_id)
            env = self.environment(rollout.environment)
            if env.approvals is not None:
                rules = rules_from_config(env.approvals)
                check_approver(rules, self.roster, who.member, (), self.risk(rollout, rules))
            elif self.roster.get(who.member) is None:
                raise AuthError(f"{who.member!r} is not on the team roster")
            if self._waves_run(rollout):
                return stop_fleet(self, who, rollout, reason)
            # Checked before the decision is recorded, so a refused rejection leaves
            # no trace but its audit event; the transition below re-checks atomically.
            self._require_rejectable(rollout)
            self.store.add_approval(
                rollout.id,
                rollout.environment,
                rollout.commit_sha,
                who.member,
                channel=who.channel,
                decision="reject",
                request_id=who.request_id,
                reason=reason,
            )
            details = {"reason": reason}
            moved = self.store.transition(
                rollout.id,
                sorted(s.value for s in predecessors(State.REJECTED)),
                State.REJECTED.value,
                actor=who.member,
                channel=who.channel,
                reason=reason,
                details=details,
                request_id=who.request_id,
                outbox=self._notifications_for(
                    replace(rollout, state=State.REJECTED.value, reason=reason),
                    EventType.ROLLOUT_REJECTED.value,
                    {**details, "actor": who.member},
                ),
            )
            if moved is None:
                current = self.rollout(rollout_id)
                raise ConflictError(f"{rollout.id} cannot be rejected: it is {current.state}")
        return Outcome(f"{who.member} rejected {rollout.id}: {reason}", rollout.id, env.name)

    def rejectable(self, rollout_id: str) -> RolloutRecord:
        """The rollout, if its state still accepts a rejection (a quick check, no audit).

        Lets a channel ask for a reason only when a rejection can still land.
        Raises ApprovalError (no such rollout) or ConflictError.
        """
        rollout = self.rollout(rollout_id)
        self._require_rejectable(rollout)
        return rollout

    def hold(self, who: VerifiedIdentity, environment: str, reason: str | None) -> Outcome:
        """Freeze every apply to `environment` until resumed."""
        return self._set_hold(who, environment, True, reason)

    def resume(self, who: VerifiedIdentity, environment: str) -> Outcome:
        return self._set_hold(who, environment, False, None)

    def _set_hold(
        self, who: VerifiedIdentity, environment: str, held: bool, reason: str | None
    ) -> Outcome:
        kind = "hold" if held else "resume"
        with self._audited_refusal(who, kind, None, environment):
            env = self.environment(environment)
            self._check_operator(who, env)
            self.store.set_hold(
                env.name,
                held,
                who.member,
                reason,
                channel=who.channel,
                request_id=who.request_id,
            )
        verb = "held: no applies until resumed" if held else "resumed"
        return Outcome(f"{env.name} {verb} (by {who.member})", environment=env.name)

    def break_glass(self, who: VerifiedIdentity, rollout_id: str, reason: str) -> Outcome:
        """Override the time window for one rollout; needs the break-glass group and a reason.

        Approvals are still required; only the window is overridden. The event
        is flagged ``break_glass`` in the audit log for the scheduler to honour.
        """
        with self._audited_refusal(who, "break_glass", rollout_id):
            if not reason.strip():
                raise ApprovalError("break-glass needs a reason")
            rollout = self.rollout(rollout_id)
            env = self.environment(rollout.environment)
            group = env.approvals.break_glass_group if env.approvals else None
            if group is None:
                raise ApprovalError(f"environment {env.name} has no break_glass_group")
            member = self.roster.get(who.member)
            if member is None:
                raise AuthError(f"{who.member!r} is not on the team roster")
            if group not in member.groups:
                raise ApprovalError(f"{who.member} is not in the break-glass group {group!r}")
            if rollout.state in {s.value for s in (State.DONE, State.REJECTED, State.SUPERSEDED)}:
                raise ConflictError(f"{rollout.id} is {rollout.state}; nothing to override")
        self.audit(who, rollout, "window.break_glass", {"reason": reason, "break_glass": True})
        return Outcome(
            f"BREAK-GLASS: {who.member} overrode the window for {rollout.id}: {reason}",
            rollout.id,
            env.name,
        )

    # -- helpers -----------------------------------------------------------------------------

    def _require_awaiting(self, rollout: RolloutRecord) -> None:
        if rollout.state == State.AWAITING_APPROVAL.value:
            return
        if rollout.state == State.SUPERSEDED.value:
            newer = f" by {rollout.superseded_by}" if rollout.superseded_by else ""
            raise ConflictError(
                f"{rollout.id} was superseded{newer}; approvals never carry over, "
                "approve the newer rollout"
            )
        if rollout.state == State.APPROVED.value:
            raise ConflictError(
                f"{rollout.id} is not awaiting approval: it is already approved"
                + (f" ({rollout.reason})" if rollout.reason else "")
            )
        raise ConflictError(f"{rollout.id} is not awaiting approval (it is {rollout.state})")

    def _waves_run(self, rollout: RolloutRecord) -> bool:
        """A fleet rollout in its waves: a rejection stops it (approvals_waves.stop_fleet)."""
        fleet = self.environment(rollout.environment).is_fleet
        return fleet and rollout.state == State.PRODUCTION_APPLIED.value

    def _require_rejectable(self, rollout: RolloutRecord) -> None:
        if self._waves_run(rollout):
            return
        if rollout.state not in {s.value for s in predecessors(State.REJECTED)}:
            raise ConflictError(f"{rollout.id} cannot be rejected: it is {rollout.state}")

    def _recorded_expiry(self, rollout: RolloutRecord, member: str) -> str:
        for approval in self.store.approvals_for(rollout.id, rollout.environment):
            if approval.member == member and approval.expires_at is not None:
                return f"{approval.expires_at:%Y-%m-%d %H:%M} UTC"
        return "it lapses"

    def _check_operator(self, who: VerifiedIdentity, env: Environment) -> None:
        """Hold/resume: allowed approvers of the environment, or its break-glass group."""
        member = self.roster.get(who.member)
        if member is None:
            raise AuthError(f"{who.member!r} is not on the team roster")
        if env.approvals is None:
            return
        rules = rules_from_config(env.approvals)
        if member in allowed_approvers(rules, self.roster):
            return
        if rules.break_glass_group and rules.break_glass_group in member.groups:
            return
        raise ApprovalError(f"{who.member} may not hold or resume {env.name}")

    def audit(
        self, who: VerifiedIdentity, rollout: RolloutRecord, kind: str, details: dict[str, Any]
    ) -> None:
        """Record `who`'s action on `rollout` as an audit event (with commit and chat user)."""
        self.store.record_event(
            kind,
            rollout_id=rollout.id,
            environment=rollout.environment,
            actor=who.member,
            channel=who.channel,
            request_id=who.request_id,
            details={**details, "commit_sha": rollout.commit_sha, "channel_user": who.channel_user},
        )

    @contextmanager
    def _audited_refusal(
        self,
        who: VerifiedIdentity,
        action: str,
        rollout_id: str | None,
        environment: str | None = None,
    ) -> Iterator[None]:
        """An ApprovalError raised inside is audited as a refusal, then re-raised."""
        try:
            yield
        except ApprovalError as exc:
            self.record_refusal(who, action, exc, rollout_id, environment)
            raise

    def record_refusal(
        self,
        who: VerifiedIdentity,
        action: str,
        error: RolloutError,
        rollout_id: str | None = None,
        environment: str | None = None,
    ) -> None:
        """Audit a refused request (unknown user, bad rollout, not allowed)."""
        known = rollout_id is not None and self.store.get_rollout(rollout_id) is not None
        self.store.record_event(
            "approval.refused",
            rollout_id=rollout_id if known else None,
            environment=environment,
            actor=who.member,
            channel=who.channel,
            request_id=who.request_id,
            details={
                "action": action,
                "error": error.message,
                "rollout": rollout_id,
                "channel_user": who.channel_user,
            },
        )


def _decision(approval: ApprovalRecord) -> ApprovalDecision:
    return ApprovalDecision(
        member=approval.member,
        decision="reject" if approval.decision == "reject" else "approve",
        at=approval.at,
        commit_sha=approval.commit_sha,
        channel=approval.channel,
    )
