"""The HTTP API behind the CLI: `/api/v1/...`, bearer tokens per member.

A token is looked up by its sha256 in the store; revoked or unknown tokens
and members no longer on the roster are refused (401). Requests from the
`rollout` CLI say so in `X-Rollout-Client: cli` and are audited on the `cli`
channel, others on `api`. `X-Request-Id` is recorded when given.
"""

# No `from __future__ import annotations`: FastAPI must see the dependency
# alias defined inside `api_router` as a real object, not a string.

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException
from pydantic import BaseModel, Field

from rollout.approvals_service import Outcome
from rollout.core.approvals import ApprovalStatus, VerifiedIdentity
from rollout.core.fleet_status import fleet_to_json
from rollout.errors import AuthError
from rollout.findings import findings_from_json, findings_to_json
from rollout.fleet_view import rollout_fleets
from rollout.server.auth import member_for_bearer
from rollout.server.context import ServerContext
from rollout.store.records import OutboxRecord, RolloutRecord, StageEvent


class ReasonBody(BaseModel):
    reason: str = Field(default="", max_length=2000)


class AcknowledgeBody(BaseModel):
    flow: str = Field(max_length=1000, description="`SRC -> DST PORT/PROTO`, as listed")
    reason: str = Field(default="", max_length=2000)


def _rollout_json(rollout: RolloutRecord) -> dict[str, Any]:
    return {
        "id": rollout.id,
        "environment": rollout.environment,
        "commit_sha": rollout.commit_sha,
        "previous_sha": rollout.previous_sha,
        "author": rollout.author,
        "message": rollout.message,
        "state": rollout.state,
        "reason": rollout.reason,
        "superseded_by": rollout.superseded_by,
        "created_at": rollout.created_at.isoformat(),
        "updated_at": rollout.updated_at.isoformat(),
    }


def _status_json(status: ApprovalStatus | None) -> dict[str, Any] | None:
    if status is None:
        return None
    return {
        "granted": status.granted,
        "approvers": list(status.approvers),
        "required": status.required,
        "still_needed": status.still_needed,
        "missing_groups": dict(status.missing_groups),
        "who_can_approve": list(status.who_can_approve),
        "expired": list(status.expired),
        "ignored": list(status.ignored),
        "blocked": list(status.blocked),
        "reasons": list(status.reasons),
        "summary": status.summary(),
    }


def _event_json(event: StageEvent) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "actor": event.actor,
        "channel": event.channel,
        "request_id": event.request_id,
        "environment": event.environment,
        "details": dict(event.details),
        "at": event.at.isoformat(),
    }


def _delivery_json(item: OutboxRecord) -> dict[str, Any]:
    return {
        "id": item.id,
        "rollout_id": item.rollout_id,
        "channel": item.channel,
        "event": item.event,
        "status": item.status,
        "attempts": item.attempts,
        "last_error": item.last_error,
        "created_at": item.created_at.isoformat(),
    }


def _outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "message": outcome.message,
        "rollout_id": outcome.rollout_id,
        "environment": outcome.environment,
        "quorum_reached": outcome.quorum_reached,
        "approval": _status_json(outcome.status),
    }


def api_router(ctx: ServerContext) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["api"])

    def identity(
        authorization: Annotated[str | None, Header()] = None,
        x_rollout_client: Annotated[str | None, Header()] = None,
        x_request_id: Annotated[str | None, Header(max_length=128)] = None,
    ) -> VerifiedIdentity:
        member = member_for_bearer(authorization, ctx.store)
        if ctx.approvals.roster.get(member) is None:
            raise AuthError(f"token owner {member!r} is no longer on the team roster")
        channel = "cli" if x_rollout_client == "cli" else "api"
        request_id = x_request_id or f"{channel}-{uuid.uuid4()}"
        return VerifiedIdentity(member, channel, request_id, channel_user=member)

    Identity = Annotated[VerifiedIdentity, Depends(identity)]

    @router.get("/rollouts", summary="Recent rollouts, newest first")
    def list_rollouts(
        _: Identity, environment: str | None = None, limit: int = 50
    ) -> dict[str, Any]:
        rollouts = ctx.store.list_rollouts(environment, limit=max(1, min(limit, 500)))
        return {"rollouts": [_rollout_json(r) for r in rollouts]}

    @router.get("/rollouts/{rollout_id}", summary="One rollout, its approvals and events")
    def get_rollout(rollout_id: str, _: Identity) -> dict[str, Any]:
        rollout = ctx.store.get_rollout(rollout_id)
        if rollout is None:
            raise HTTPException(404, f"no rollout {rollout_id!r}")
        status = ctx.approvals.status(rollout) if rollout.state == "awaiting_approval" else None
        return {
            "rollout": _rollout_json(rollout),
            "approval": _status_json(status),
            "events": [_event_json(e) for e in ctx.store.events(rollout_id=rollout_id)],
            # What reviewers see in Slack and the dashboard, in their record shapes.
            "diff": rollout.diff,
            "lint": findings_to_json(findings_from_json(rollout.lint)),
            # Fleet environments: each cluster's revision, wave progress, the next window.
            "fleets": [
                fleet_to_json(status)
                for status in rollout_fleets(
                    ctx.settings,
                    rollout.environment,
                    ctx.store.fleet_clusters(rollout_id),
                    ctx.clock(),
                )
            ],
        }

    @router.post("/rollouts/{rollout_id}/approve", summary="Approve as the token's member")
    def approve(rollout_id: str, who: Identity) -> dict[str, Any]:
        return _outcome_json(ctx.approvals.approve(who, rollout_id))

    @router.post(
        "/rollouts/{rollout_id}/acknowledge-flow",
        summary="Accept that the change cuts one observed flow (reason required)",
    )
    def acknowledge_flow(rollout_id: str, body: AcknowledgeBody, who: Identity) -> dict[str, Any]:
        return _outcome_json(
            ctx.approvals.acknowledge_flow(who, rollout_id, body.flow, body.reason)
        )

    @router.post("/rollouts/{rollout_id}/reject", summary="Reject (a reason is required)")
    def reject(rollout_id: str, body: ReasonBody, who: Identity) -> dict[str, Any]:
        return _outcome_json(ctx.approvals.reject(who, rollout_id, body.reason))

    @router.post(
        "/rollouts/{rollout_id}/break-glass",
        summary="Override the time window (break-glass group, reason required)",
    )
    def break_glass(rollout_id: str, body: ReasonBody, who: Identity) -> dict[str, Any]:
        return _outcome_json(ctx.approvals.break_glass(who, rollout_id, body.reason))

    @router.post("/environments/{environment}/hold", summary="Freeze applies")
    def hold(environment: str, body: ReasonBody, who: Identity) -> dict[str, Any]:
        return _outcome_json(ctx.approvals.hold(who, environment, body.reason or None))

    @router.post("/environments/{environment}/resume", summary="Lift a hold")
    def resume(environment: str, who: Identity) -> dict[str, Any]:
        return _outcome_json(ctx.approvals.resume(who, environment))

    @router.get("/deliveries", summary="Notification deliveries (e.g. status=dead)")
    def deliveries(_: Identity, status: str | None = "dead") -> dict[str, Any]:
        return {"deliveries": [_delivery_json(i) for i in ctx.store.outbox_items(status)]}

    return router
