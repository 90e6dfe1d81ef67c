"""ORM rows to the frozen records callers see (`rollout.store.records`)."""

from __future__ import annotations

from rollout.store.records import (
    ApprovalRecord,
    DeploymentRecord,
    OutboxRecord,
    RolloutRecord,
    StageEvent,
    TokenRecord,
)
from rollout.store.tables import (
    ApiTokenRow,
    ApprovalRow,
    DeploymentRow,
    OutboxRow,
    RolloutRow,
    StageEventRow,
)


def rollout_record(row: RolloutRow) -> RolloutRecord:
    return RolloutRecord(
        id=row.id,
        environment=row.environment,
        commit_sha=row.commit_sha,
        previous_sha=row.previous_sha,
        author=row.author,
        author_email=row.author_email,
        message=row.message,
        state=row.state,
        reason=row.reason,
        superseded_by=row.superseded_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        plan=row.plan,
        diff=row.diff,
        smoke=row.smoke,
        lint=row.lint,
        risk=row.risk,
    )


def event_record(row: StageEventRow) -> StageEvent:
    return StageEvent(
        id=row.id,
        rollout_id=row.rollout_id,
        environment=row.environment,
        kind=row.kind,
        actor=row.actor,
        channel=row.channel,
        request_id=row.request_id,
        details=row.details,
        at=row.at,
    )


def approval_record(row: ApprovalRow) -> ApprovalRecord:
    return ApprovalRecord(
        id=row.id,
        rollout_id=row.rollout_id,
        environment=row.environment,
        commit_sha=row.commit_sha,
        member=row.member,
        channel=row.channel,
        request_id=row.request_id,
        decision=row.decision,
        reason=row.reason,
        at=row.at,
        expires_at=row.expires_at,
    )


def outbox_record(row: OutboxRow) -> OutboxRecord:
    return OutboxRecord(
        id=row.id,
        rollout_id=row.rollout_id,
        channel=row.channel,
        event=row.event,
        idempotency_key=row.idempotency_key,
        payload=row.payload,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        external_ref=row.external_ref,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


def deployment_record(row: DeploymentRow) -> DeploymentRecord:
    return DeploymentRecord(
        id=row.id,
        environment=row.environment,
        commit_sha=row.commit_sha,
        content_hash=row.content_hash,
        rollout_id=row.rollout_id,
        applied_at=row.applied_at,
        status=row.status,
    )


def token_record(row: ApiTokenRow) -> TokenRecord:
    return TokenRecord(
        id=row.id,
        member=row.member,
        token_hash=row.token_hash,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )
