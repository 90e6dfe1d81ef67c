"""The app factory: one FastAPI app from settings, a store and the services.

    app = create_app(settings, store, clock=clock)
    app = create_app(settings, store, clock=clock, on_push=watcher.on_push, routers=[more])

Routers live in their own modules and are built from a `ServerContext`;
later services add theirs through `routers=` (or `app.include_router`) and
reach the context at `app.state.context`. Errors a caller can cause become
JSON `{"error": message}` with a fitting status, never a traceback: 401 for
an unknown identity or a bad signature, 403 for a refused permission, 409
when the rollout's state takes no such decision (`ConflictError`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from rollout import __version__
from rollout.approvals_service import ApprovalsService
from rollout.config.schema import Settings
from rollout.errors import (
    ApprovalError,
    AuthError,
    ConfigError,
    ConflictError,
    RolloutError,
    StoreError,
)
from rollout.server.api_routes import api_router
from rollout.server.context import (
    Clock,
    GitHubIntegration,
    PushHandler,
    ServerContext,
    ServerStore,
    SlackIntegration,
)
from rollout.server.github_api import github_comment_poster, github_pull_request_head
from rollout.server.github_routes import github_router
from rollout.server.limits import BodySizeLimit
from rollout.server.slack_routes import post_to_response_url, slack_router, slack_view_opener

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: Settings,
    store: ServerStore,
    *,
    clock: Clock = utc_now,
    approvals: ApprovalsService | None = None,
    slack: SlackIntegration | None = None,
    github: GitHubIntegration | None = None,
    on_push: PushHandler | None = None,
    routers: Iterable[Callable[[ServerContext], APIRouter]] = (),
    extras: Mapping[str, Any] | None = None,
) -> FastAPI:
    """Build the HTTP app.

    `slack`/`github` default to what the configuration gives (their secrets
    resolved now, so a missing secret fails at start-up with ConfigError);
    a channel without a secret has no routes. Given ones lacking a Slack
    `open_view` or a GitHub `reply` get them from the configuration too
    (bot-token mode; a GitHub token). `on_push` receives verified GitHub push
    events of the configured integration. `routers` are factories called with
    the shared context, mounted after the built-in ones.
    """
    context = ServerContext(
        settings=settings,
        store=store,
        approvals=approvals or ApprovalsService(settings, store, clock),
        clock=clock,
        slack=_with_view_opener(slack, settings) if slack else _slack_from(settings),
        github=_with_reply(github, settings) if github else _github_from(settings, on_push),
        extras=dict(extras or {}),
    )
    app = FastAPI(
        title="netpol-rollout",
        version=__version__,
        description="GitOps rollouts of Kubernetes NetworkPolicies: approvals and status.",
    )
    app.state.context = context
    app.add_middleware(BodySizeLimit, max_body_bytes=settings.server.max_body_bytes)
    app.add_exception_handler(RolloutError, _rollout_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)

    @app.get("/healthz", tags=["service"], summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(api_router(context))
    if context.slack is not None:
        app.include_router(slack_router(context))
    if context.github is not None:
        app.include_router(github_router(context))
    for factory in routers:
        app.include_router(factory(context))
    return app


def _slack_from(settings: Settings) -> SlackIntegration | None:
    slack = settings.notifications.slack
    if slack is None or slack.signing_secret is None:
        return None
    return _with_view_opener(
        SlackIntegration(
            signing_secret=slack.signing_secret.resolve(),
            respond=post_to_response_url,
            response_url_prefixes=slack.response_url_prefixes,
        ),
        settings,
    )


def _with_view_opener(integration: SlackIntegration, settings: Settings) -> SlackIntegration:
    """Bot-token mode can open the Reject modal (`views.open`); webhook mode cannot."""
    slack = settings.notifications.slack
    if integration.open_view is not None or slack is None or slack.bot_token is None:
        return integration
    opener = slack_view_opener(slack.api_url, slack.bot_token.resolve())
    return replace(integration, open_view=opener)


def _github_from(settings: Settings, on_push: PushHandler | None) -> GitHubIntegration | None:
    github = settings.notifications.github
    if github is None or github.webhook_secret is None:
        return None
    return _with_reply(
        GitHubIntegration(
            webhook_secret=github.webhook_secret.resolve(),
            repository=github.repository,
            on_push=on_push,
            pull_request_head=github_pull_request_head(github.api_url, github.token.resolve()),
        ),
        settings,
    )


def _with_reply(integration: GitHubIntegration, settings: Settings) -> GitHubIntegration:
    """Decisions are answered with a comment through the configured token and API."""
    github = settings.notifications.github
    if github is not None and integration.repository is None:
        integration = replace(integration, repository=github.repository)
    if integration.reply is not None or github is None:
        return integration
    poster = github_comment_poster(github.api_url, github.token.resolve())
    return replace(integration, reply=poster)


def _status_for(exc: RolloutError) -> int:
    if isinstance(exc, AuthError):  # SignatureError included
        return 401
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, ApprovalError):
        return 403
    if isinstance(exc, StoreError):
        return 503
    if isinstance(exc, ConfigError):
        return 500
    return 400


async def _rollout_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RolloutError)
    if isinstance(exc, StoreError):
        # Its message names the store (host, database): for the operator, not the caller.
        log.warning("%s %s: %s", request.method, request.url.path, exc.message)
        return JSONResponse(
            {"error": "the state store is unavailable; see the service's logs"}, status_code=503
        )
    return JSONResponse({"error": exc.message}, status_code=_status_for(exc))


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Where and what, never the input: it may be NaN (not JSON) or a secret."""
    return [
        {
            "loc": [part if isinstance(part, int) else str(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()[:20]
    ]


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """422 for a request that does not fit the API: always valid JSON."""
    assert isinstance(exc, RequestValidationError)
    detail = _validation_errors(exc)
    first = detail[0] if detail else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"])
    message = f"{where}: {first['msg']}" if where else str(first["msg"])
    return JSONResponse({"error": message[:200], "detail": detail}, status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own refusals (404, 405, an unparsable body) in our `{"error": ...}` shape."""
    assert isinstance(exc, HTTPException)
    text = exc.detail if isinstance(exc.detail, str) else "request refused"
    return JSONResponse(
        {"error": text, "detail": text}, status_code=exc.status_code, headers=exc.headers
    )


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug: logged by the server with its traceback; the caller learns nothing internal."""
    return JSONResponse({"error": "internal error; see the service's logs"}, status_code=500)
