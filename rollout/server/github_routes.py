"""GitHub: `/rollout approve|reject REASON` comments, approving reviews, pushes.

One endpoint, `/github/webhook`. Deliveries are verified (X-Hub-Signature-256,
HMAC-SHA256, constant-time) and de-duplicated by X-GitHub-Delivery, so a
redelivery is acknowledged and ignored. The commenter's or reviewer's login
is mapped to a roster member; the rollout is found by commit sha (the pull
request's head, or the commented commit). `push` deliveries are handed to an
injected handler (the git watcher).

The outcome of a decision is also posted back as a comment on the pull
request or commit (when the integration has a `reply` poster), after the
webhook has been answered: a `/rollout` comment always gets one; an approving
review only when it was taken as an approval (a reviewer on the roster, a
rollout for the reviewed commit), so ordinary code review stays quiet.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError as PydanticValidationError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from rollout.approval_rules import GITHUB_ACCOUNTS
from rollout.approvals_service import Outcome
from rollout.core.approvals import ApprovalStatus, VerifiedIdentity
from rollout.errors import ApprovalError, AuthError, RolloutError
from rollout.server.auth import verify_github_signature
from rollout.server.context import (
    CommentTarget,
    GitHubIntegration,
    ServerContext,
)
from rollout.server.github_accounts import pull_request_accounts, push_accounts
from rollout.server.payloads import (
    EVENTS,
    CommitComment,
    IssueComment,
    Ping,
    PullRequestChange,
    PullRequestReview,
    Push,
    parse_json,
    short_reason,
)
from rollout.store.records import RolloutRecord

log = logging.getLogger(__name__)

_SHA = re.compile(r"[0-9a-f]{7,40}")
MAX_DELIVERY_ID = 128


def _answer(
    result: str,
    *,
    ok: bool = True,
    status_code: int = 200,
    background: BackgroundTask | None = None,
) -> JSONResponse:
    return JSONResponse(
        {"ok": ok, "result": result}, status_code=status_code, background=background
    )


def still_needed_text(status: ApprovalStatus) -> str:
    """`1 from security`, `2`, or `2 (1 from security)`: what quorum still lacks."""
    groups = ", ".join(f"{n} from {g}" for g, n in sorted(status.missing_groups.items()))
    if not groups:
        return str(status.still_needed)
    if status.still_needed == sum(status.missing_groups.values()):
        return groups
    return f"{status.still_needed} ({groups})"


def reply_text(login: str, outcome: Outcome | None, refusal: str | None = None) -> str:
    """The reply comment, on one line (so it can never read as a `/rollout` command)."""
    if outcome is None:
        text = f"refused: {refusal}; nothing changed"
    else:
        status = outcome.status
        where = f"`{outcome.rollout_id}` ({outcome.environment})"
        if status is None or outcome.repeated or not status.approvers:
            text = outcome.message
        elif status.granted:
            text = f"{where} is {status.summary()} ({len(status.approvers)}/{status.required})" + (
                "" if outcome.quorum_reached else "; another request had already moved it on"
            )
        else:
            text = (
                f"approved by {', '.join(status.approvers)} "
                f"({len(status.approvers)}/{status.required}) for {where}; "
                f"still needed: {still_needed_text(status)}"
            )
    return " ".join(f"@{login} {text}".split())


@dataclass(frozen=True)
class _Decision:
    """What a delivery asks for, and where its reply goes."""

    action: str
    reason: str
    sha: str | None
    login: str
    reply_to: CommentTarget | None
    asked: bool
    """A `/rollout` comment (always answered), not a review (answered only if it counted)."""
    signed_id: str
    """What the signature covers and names once: `comment:<id>` or `review:<id>`."""
    written_at: datetime | None = None
    """When a pull-request comment was written; None when the sha is bound otherwise."""
    named_sha: str | None = None
    """The commit the comment names (`/rollout approve SHA`), if it names one."""


def parse_command(text: str) -> tuple[str, str] | None:
    """(`approve`|`reject`, rest) from the first line starting with `/rollout`.

    For `approve` the rest may name the commit approved (`/rollout approve 1a2b3c4`).
    """
    for line in text.splitlines():
        words = line.strip().split(maxsplit=2)
        if len(words) >= 2 and words[0] == "/rollout" and words[1] in ("approve", "reject"):
            return words[1], words[2].strip() if len(words) == 3 else ""
    return None


def named_commit(rest: str) -> str | None:
    """The sha an approve comment names, if its first word is one."""
    first = rest.split(maxsplit=1)[0].lower() if rest.strip() else ""
    return first if _SHA.fullmatch(first) else None


def github_router(ctx: ServerContext) -> APIRouter:
    """`/github/webhook`; needs `ctx.github`."""
    assert ctx.github is not None
    github: GitHubIntegration = ctx.github
    configured = github.repository or (
        ctx.settings.notifications.github.repository
        if ctx.settings.notifications.github is not None
        else None
    )
    router = APIRouter(prefix="/github", tags=["github"])

    @router.post("/webhook", summary="GitHub webhook deliveries")
    async def webhook(request: Request) -> JSONResponse:
        body = await request.body()
        verify_github_signature(
            github.webhook_secret, body, request.headers.get("x-hub-signature-256")
        )
        delivery = request.headers.get("x-github-delivery")
        if not delivery:
            return _answer("missing X-GitHub-Delivery", ok=False, status_code=400)
        if len(delivery) > MAX_DELIVERY_ID:
            return _answer("X-GitHub-Delivery is too long", ok=False, status_code=400)
        event = request.headers.get("x-github-event", "")
        model = EVENTS.get(event)
        if model is None:
            return _answer(f"{event or 'event'} ignored")
        try:
            payload = parse_json(model, body)
        except PydanticValidationError as exc:
            return _answer(f"malformed {event}: {short_reason(exc)}", ok=False, status_code=400)
        if isinstance(payload, Ping):
            return _answer("pong")
        named = payload.repository.full_name if payload.repository is not None else None
        if configured is None or named != configured:
            await run_in_threadpool(ignore_elsewhere, event, delivery, named)
            return _answer(
                f"{event} ignored: not the configured repository", ok=False, status_code=202
            )
        if not await run_in_threadpool(ctx.store.seen_request, "github", delivery):
            return _answer("duplicate delivery ignored")
        return await run_in_threadpool(handle, event, delivery, payload, body)

    def ignore_elsewhere(event: str, delivery: str, named: str | None) -> None:
        """Audit a signed delivery for another repository; nothing else happens."""
        ctx.store.record_event(
            "github.ignored",
            actor="github",
            channel="github",
            request_id=delivery,
            details={
                "event": event,
                "repository": (named or "")[:200] or None,
                "expected": configured,
                "why": "not the configured repository",
            },
        )

    def remember_accounts(delivery: str, commits: dict[str, dict[str, list[str]]]) -> None:
        """Which GitHub accounts wrote or pushed which commits (for matching authors)."""
        if commits:
            ctx.store.record_event(
                GITHUB_ACCOUNTS,
                actor="github",
                channel="github",
                request_id=delivery,
                details={"commits": commits},
            )

    def handle(event: str, delivery: str, payload: object, body: bytes) -> JSONResponse:
        if isinstance(payload, PullRequestChange):
            remember_accounts(delivery, pull_request_accounts(payload))
            return _answer(f"{event} noted")
        if isinstance(payload, Push):
            remember_accounts(delivery, push_accounts(payload))
            if github.on_push is None:
                return _answer("push ignored: no git watcher attached")
            github.on_push(json.loads(body))
            return _answer("push accepted")
        found = _decision(payload)
        if found is None:
            return _answer(f"{event or 'event'} ignored")
        login = found.login

        def refused(text: str, *, answer: str | None = None, reply: bool = True) -> JSONResponse:
            background = replying(found, reply_text(login, None, text)) if reply else None
            return _answer(answer or f"refused: {text}", ok=False, background=background)

        if not ctx.store.seen_request("github-signed", found.signed_id):
            # A signed body re-sent under a new delivery id: it decided once already.
            return _answer(f"{found.signed_id} was already acted on; ignored")
        if found.sha is None:
            why = "cannot tell which commit this pull request is at"
            return refused(why, answer=why, reply=found.asked)
        member = ctx.approvals.roster.by_github(login)
        if member is None:
            stranger = VerifiedIdentity(f"github:{login}", "github", delivery, channel_user=login)
            error = AuthError(f"GitHub user {login} is not on the team roster")
            ctx.approvals.record_refusal(stranger, found.action, error)
            why = f"{login} is not on the team roster"
            return refused(why, answer=f"{why}; nothing changed", reply=found.asked)
        who = VerifiedIdentity(member.name, "github", delivery, channel_user=login)
        try:
            rollout = _rollout_for(found.sha)
            if found.action == "approve":
                _check_bound(found, rollout)
        except RolloutError as exc:
            if isinstance(exc, ApprovalError) and found.written_at is not None:
                ctx.approvals.record_refusal(who, found.action, exc)
            return refused(exc.message, reply=found.asked)
        try:
            outcome: Outcome = (
                ctx.approvals.approve(who, rollout.id)
                if found.action == "approve"
                else ctx.approvals.reject(who, rollout.id, found.reason)
            )
        except RolloutError as exc:
            return refused(exc.message)
        return _answer(outcome.message, background=replying(found, reply_text(login, outcome)))

    def _check_bound(found: _Decision, rollout: RolloutRecord) -> None:
        """A pull-request comment approves the commit that was head when it was written.

        The head is looked up when the delivery arrives; a comment written before
        that commit's rollout was detected saw an older commit, unless it names
        this one. Raises ApprovalError (audited by the caller) otherwise.
        """
        if found.named_sha is not None:
            if not rollout.commit_sha.startswith(found.named_sha):
                raise ApprovalError(
                    f"the comment approves {found.named_sha}, but the pull request is now at "
                    f"{rollout.commit_sha[:12]}; approve that commit with a new comment"
                )
            return
        if found.written_at is None:
            return  # a review or a commit comment: bound to its commit by GitHub
        if found.written_at < rollout.created_at:
            raise ApprovalError(
                f"the comment was written before {rollout.commit_sha[:12]} became the pull "
                f"request's head; approve it with a new comment "
                f"(`/rollout approve {rollout.commit_sha[:12]}`)"
            )

    def replying(found: _Decision, body: str) -> BackgroundTask | None:
        """Post `body` as a reply after the webhook is answered (never blocks it)."""
        poster, target = github.reply, found.reply_to
        if poster is None or target is None:
            return None

        def send() -> None:
            try:
                poster(target, body)
            except RolloutError as exc:
                log.warning("GitHub reply not posted: %s", exc.message)
            except Exception:
                log.exception("GitHub reply failed")

        return BackgroundTask(send)

    def _decision(payload: object) -> _Decision | None:
        """What a delivery that decides asks for, else None (the repository is ours)."""
        assert configured is not None
        if isinstance(payload, PullRequestReview):
            review, pull = payload.review, payload.pull_request
            if payload.action != "submitted" or review.state.lower() != "approved":
                return None
            # The commit reviewed, not the head now: a review of an older commit
            # must not approve a newer one.
            sha = review.commit_id or (pull.head.sha if pull.head is not None else None)
            target = CommentTarget(configured, issue=pull.number)
            return _Decision(
                "approve", "", sha, review.user.login, target, False, f"review:{review.id}"
            )
        if not isinstance(payload, IssueComment | CommitComment) or payload.action != "created":
            return None
        comment = payload.comment
        command = parse_command(comment.body or "")
        if command is None:
            return None
        action, rest = command
        login, signed = comment.user.login, f"comment:{comment.id}"
        if isinstance(payload, CommitComment):
            sha = comment.commit_id
            on_commit = CommentTarget(configured, commit_sha=sha) if sha else None
            return _Decision(action, rest, sha, login, on_commit, True, signed)
        if payload.issue.pull_request is None:
            return None
        number = payload.issue.number
        head = github.pull_request_head
        sha = head(configured, number) if head is not None else None
        target = CommentTarget(configured, issue=number)
        written = comment.created_at
        if written is not None and written.tzinfo is None:
            written = written.replace(tzinfo=UTC)
        named = named_commit(rest) if action == "approve" else None
        if action == "approve" and written is None and named is None:
            # Nothing binds the comment to a commit: ask for the sha.
            sha = None
        return _Decision(action, rest, sha, login, target, True, signed, written, named)

    def _rollout_for(sha: str) -> RolloutRecord:
        rollouts = ctx.store.list_rollouts(commit_sha=sha, limit=10)
        if not rollouts:
            raise ApprovalError(f"no rollout for commit {sha[:12]}")
        waiting = [r for r in rollouts if r.state == "awaiting_approval"]
        return waiting[0] if waiting else rollouts[0]

    return router
