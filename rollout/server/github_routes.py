"""GitHub: `/rollout approve|reject REASON` comments, approving reviews, pushes.

One endpoint, `/github/webhook`. Deliveries are verified (X-Hub-Signature-256,
HMAC-SHA256, constant-time) and de-duplicated by X-GitHub-Delivery, so a
redelivery is acknowledged and ignored. The commenter's or reviewer's login
is mapped to a roster member; the rollout is found by commit sha (the pull
request's head, or the commented commit). `push` deliveries are handed to an
injected handler (the git watcher).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import requests
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from rollout.approvals_service import Outcome
from rollout.core.approvals import VerifiedIdentity
from rollout.errors import ApprovalError, AuthError, RolloutError
from rollout.server.auth import verify_github_signature
from rollout.server.context import GitHubIntegration, PullRequestHead, ServerContext
from rollout.store.records import RolloutRecord

log = logging.getLogger(__name__)


def github_pull_request_head(api_url: str, token: str, timeout: float = 10.0) -> PullRequestHead:
    """The default head-sha lookup: GET /repos/{repo}/pulls/{number} with the bot token."""

    def head(repository: str, number: int) -> str | None:
        try:
            response = requests.get(
                f"{api_url.rstrip('/')}/repos/{repository}/pulls/{number}",
                headers={
                    "Authorization": f"Bearer {token}",
                    "Accept": "application/vnd.github+json",
                    "X-GitHub-Api-Version": "2022-11-28",
                },
                timeout=timeout,
            )
        except requests.RequestException as exc:
            log.warning("GitHub pull request lookup failed: %s", type(exc).__name__)
            return None
        if response.status_code != 200:
            log.warning("GitHub pull request lookup answered %s", response.status_code)
            return None
        sha = response.json().get("head", {}).get("sha")
        return str(sha) if sha else None

    return head


def _answer(result: str, *, ok: bool = True, status_code: int = 200) -> JSONResponse:
    return JSONResponse({"ok": ok, "result": result}, status_code=status_code)


def parse_command(text: str) -> tuple[str, str] | None:
    """(`approve`|`reject`, reason) from the first line starting with `/rollout`."""
    for line in text.splitlines():
        words = line.strip().split(maxsplit=2)
        if len(words) >= 2 and words[0] == "/rollout" and words[1] in ("approve", "reject"):
            return words[1], words[2].strip() if len(words) == 3 else ""
    return None


def github_router(ctx: ServerContext) -> APIRouter:
    """`/github/webhook`; needs `ctx.github`."""
    assert ctx.github is not None
    github: GitHubIntegration = ctx.github
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
        if not await run_in_threadpool(ctx.store.seen_request, "github", delivery):
            return _answer("duplicate delivery ignored")
        try:
            payload = json.loads(body)
        except ValueError:
            return _answer("body is not JSON", ok=False, status_code=400)
        if not isinstance(payload, dict):
            return _answer("body is not a JSON object", ok=False, status_code=400)
        event = request.headers.get("x-github-event", "")
        return await run_in_threadpool(handle, event, delivery, payload)

    def handle(event: str, delivery: str, payload: Mapping[str, Any]) -> JSONResponse:
        if event == "ping":
            return _answer("pong")
        if event == "push":
            if github.on_push is None:
                return _answer("push ignored: no git watcher attached")
            github.on_push(payload)
            return _answer("push accepted")
        found = _decision(event, payload)
        if found is None:
            return _answer(f"{event or 'event'} ignored")
        action, reason, sha, login = found
        if sha is None:
            return _answer("cannot tell which commit this pull request is at", ok=False)
        member = ctx.approvals.roster.by_github(login)
        if member is None:
            stranger = VerifiedIdentity(f"github:{login}", "github", delivery, channel_user=login)
            error = AuthError(f"GitHub user {login} is not on the team roster")
            ctx.approvals.record_refusal(stranger, action, error)
            return _answer(f"{login} is not on the team roster; nothing changed", ok=False)
        who = VerifiedIdentity(member.name, "github", delivery, channel_user=login)
        try:
            rollout = _rollout_for(sha)
            outcome: Outcome = (
                ctx.approvals.approve(who, rollout.id)
                if action == "approve"
                else ctx.approvals.reject(who, rollout.id, reason)
            )
        except RolloutError as exc:
            return _answer(f"refused: {exc.message}", ok=False)
        return _answer(outcome.message)

    def _decision(
        event: str, payload: Mapping[str, Any]
    ) -> tuple[str, str, str | None, str] | None:
        """(action, reason, commit sha, login) for a delivery that decides, else None."""
        if event == "pull_request_review":
            review = payload.get("review") or {}
            if payload.get("action") != "submitted" or str(review.get("state")).lower() != (
                "approved"
            ):
                return None
            # The commit reviewed, not the head now: a review of an older commit
            # must not approve a newer one.
            sha = review.get("commit_id") or (payload.get("pull_request") or {}).get(
                "head", {}
            ).get("sha")
            return "approve", "", sha, str((review.get("user") or {}).get("login", ""))
        if event not in ("issue_comment", "commit_comment") or payload.get("action") != "created":
            return None
        comment = payload.get("comment") or {}
        command = parse_command(str(comment.get("body") or ""))
        if command is None:
            return None
        login = str((comment.get("user") or {}).get("login", ""))
        if event == "commit_comment":
            return command[0], command[1], comment.get("commit_id"), login
        issue = payload.get("issue") or {}
        if not issue.get("pull_request"):
            return None
        repository = str((payload.get("repository") or {}).get("full_name", ""))
        head = github.pull_request_head
        sha = head(repository, int(issue["number"])) if head is not None else None
        return command[0], command[1], sha, login

    def _rollout_for(sha: str) -> RolloutRecord:
        rollouts = ctx.store.list_rollouts(commit_sha=sha, limit=10)
        if not rollouts:
            raise ApprovalError(f"no rollout for commit {sha[:12]}")
        waiting = [r for r in rollouts if r.state == "awaiting_approval"]
        return waiting[0] if waiting else rollouts[0]

    return router
