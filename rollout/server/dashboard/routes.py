"""The dashboard's routes: pages, live fragments, sign-in and the four actions.

Pages (all need a signed-in member): `/` rollouts, `/rollouts/{id}`,
`/windows`; `/login`, `/logout`. Live updates: the pages poll
`/ui/fragments/...` (JSON `{"html": ...}`) every few seconds. Actions are
HTML form POSTs that go through :class:`rollout.approvals_service.ApprovalsService`
on the `dashboard` channel, so the rules and the audit trail are the chat's
and the CLI's. Every POST passes the CSRF checks of
:mod:`rollout.server.dashboard.csrf`; refusals are 401 (not signed in) or
403 (cross-site, bad token) pages, never a redirect that would hide them.
"""

# No `from __future__ import annotations`: FastAPI inspects the handlers' annotations.

import uuid
from collections.abc import Callable
from importlib import resources
from typing import cast
from urllib.parse import parse_qs, quote, unquote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from rollout.approvals_service import Outcome
from rollout.core.approvals import VerifiedIdentity
from rollout.errors import RolloutError
from rollout.server.context import ServerContext
from rollout.server.dashboard.csrf import refusal
from rollout.server.dashboard.detail import rollout_html
from rollout.server.dashboard.markup import STATIC_PREFIX, csrf_field, esc, page, zone
from rollout.server.dashboard.progress import Waiting
from rollout.server.dashboard.session import SignIn, Viewer
from rollout.server.dashboard.views import DashboardStore, overview_html
from rollout.server.dashboard.windows_page import windows_html

TZ_COOKIE = "nr_tz"
STATIC_FILES = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
Action = Callable[[VerifiedIdentity, dict[str, str]], Outcome]
"""An action on behalf of a verified member, given the submitted form fields."""


def _safe_next(target: str | None) -> str:
    """A local path to go back to; anything else (another site, `//host`) becomes `/`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def dashboard_router(ctx: ServerContext) -> APIRouter:
    """The dashboard: include with `create_app(..., routers=[dashboard_router])`.

    The session key comes from `ctx.extras["dashboard_session_key"]` (bytes,
    at least 32) when given; otherwise a random key per process.
    """
    router = APIRouter(include_in_schema=False)
    store = cast(DashboardStore, ctx.store)  # the real Store has every method used here
    key = ctx.extras.get("dashboard_session_key")
    signin = SignIn(
        ctx.settings,
        ctx.store,
        ctx.approvals.roster,
        ctx.clock,
        key=key if isinstance(key, bytes) else None,
    )
    waiting = Waiting(ctx)
    public_url = str(ctx.settings.server.public_url) if ctx.settings.server.public_url else None

    def finish(request: Request, viewer: Viewer, response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers[name] = value
        if viewer.fresh:
            signin.write(response, request, viewer.session)
        return response

    def render(
        request: Request, viewer: Viewer, title: str, body: str, *, status: int = 200, **kw: str
    ) -> Response:
        flash = viewer.session.flash
        if flash is not None:  # shown once
            s = viewer.session
            kept = signin.new_session(
                csrf=s.csrf, member=s.member, token_hash=s.token_hash, expires=s.expires
            )
            viewer = Viewer(kept, viewer.member, viewer.via, True)
        html = page(
            title,
            body,
            member=viewer.member,
            csrf=viewer.session.csrf,
            flash=flash,
            tz=zone_of(request),
            active=kw.get("active", ""),
            live_url=kw.get("live_url"),
            own_sign_in=not signin.header,
        )
        return finish(request, viewer, HTMLResponse(html, status_code=status))

    def zone_of(request: Request) -> ZoneInfo:
        # The script writes the cookie URI-encoded ("Europe%2FBerlin").
        return zone(request.query_params.get("tz") or unquote(request.cookies.get(TZ_COOKIE, "")))

    def refused(request: Request, viewer: Viewer, status: int, message: str) -> Response:
        body = f'<p class="flash flash-error" role="alert">{esc(message)}</p>'
        if status == 401 and viewer.via != "header" and not signin.header:
            body += '<p><a href="/login">Sign in</a> with your API token.</p>'
        return render(
            request, viewer, "Refused" if status == 403 else "Not signed in", body, status=status
        )

    def signed_in(request: Request) -> tuple[Viewer, Response | None]:
        viewer = signin.viewer(request)
        if viewer.member is not None:
            return viewer, None
        if signin.header:
            return viewer, refused(
                request, viewer, 401, "your sign-in proxy did not name a member of the team roster"
            )
        if request.headers.get("sec-fetch-site") == "cross-site" and request.method == "GET":
            # A link followed from chat: the SameSite=Strict cookie was withheld. Reload
            # from our own page so the browser sends it (no loop: that load is same-site).
            html = '<!doctype html><meta http-equiv="refresh" content="0"><title>…</title>'
            return viewer, finish(request, viewer, HTMLResponse(html))
        target = quote(str(request.url.path), safe="/")
        return viewer, finish(request, viewer, RedirectResponse(f"/login?next={target}", 303))

    # --- static --------------------------------------------------------------------

    @router.get(STATIC_PREFIX + "/{name}")
    def static(name: str) -> Response:
        media = STATIC_FILES.get(name)
        if media is None:
            return Response("not found", 404, media_type="text/plain")
        data = resources.files("rollout.server.dashboard").joinpath("static", name).read_bytes()
        return Response(
            data,
            media_type=media,
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    # --- pages ---------------------------------------------------------------------

    @router.get("/", response_class=HTMLResponse)
    def rollouts_page(request: Request) -> Response:
        viewer, stop = signed_in(request)
        if stop is not None:
            return stop
        overview = overview_html(ctx, store, waiting, zone_of(request))
        body = f'<div id="live">{overview}</div>'
        return render(
            request, viewer, "Rollouts", body, active="rollouts", live_url="/ui/fragments/rollouts"
        )

    @router.get("/ui/fragments/rollouts")
    def rollouts_fragment(request: Request) -> Response:
        viewer = signin.viewer(request)
        if viewer.member is None:
            return finish(request, viewer, JSONResponse({"error": "not signed in"}, 401))
        html = overview_html(ctx, store, waiting, zone_of(request))
        return finish(request, viewer, JSONResponse({"html": html}))

    @router.get("/rollouts/{rollout_id}", response_class=HTMLResponse)
    def rollout_page(rollout_id: str, request: Request) -> Response:
        viewer, stop = signed_in(request)
        if stop is not None:
            return stop
        rollout = ctx.store.get_rollout(rollout_id)
        if rollout is None:
            return render(
                request,
                viewer,
                "Not found",
                f"<p>No rollout <code>{esc(rollout_id)}</code>.</p>",
                status=404,
            )
        tz = zone_of(request)
        body = (
            f'<div id="live">'
            f"{rollout_html(ctx, waiting, rollout, tz, viewer.member, viewer.session.csrf)}</div>"
        )
        return render(
            request,
            viewer,
            f"Rollout {rollout.id}",
            body,
            live_url=f"/ui/fragments/rollouts/{quote(rollout.id)}",
        )

    @router.get("/ui/fragments/rollouts/{rollout_id}")
    def rollout_fragment(rollout_id: str, request: Request) -> Response:
        viewer = signin.viewer(request)
        if viewer.member is None:
            return finish(request, viewer, JSONResponse({"error": "not signed in"}, 401))
        rollout = ctx.store.get_rollout(rollout_id)
        if rollout is None:
            return finish(request, viewer, JSONResponse({"error": "no such rollout"}, 404))
        html = rollout_html(
            ctx, waiting, rollout, zone_of(request), viewer.member, viewer.session.csrf
        )
        return finish(request, viewer, JSONResponse({"html": html}))

    @router.get("/windows", response_class=HTMLResponse)
    def windows_page(request: Request, env: str | None = None) -> Response:
        viewer, stop = signed_in(request)
        if stop is not None:
            return stop
        body = windows_html(ctx, waiting, env, zone_of(request))
        return render(request, viewer, "Windows", body, active="windows")

    # --- sign-in ---------------------------------------------------------------------

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/") -> Response:
        viewer = signin.viewer(request)
        if signin.header:
            body = "<p>Sign-in is handled by the authenticating proxy in front of this service.</p>"
            return render(request, viewer, "Sign in", body)
        body = (
            f'<form method="post" action="/login" class="login">{csrf_field(viewer.session.csrf)}'
            f'<input type="hidden" name="next" value="{esc(_safe_next(next))}">'
            '<label for="token">Your API token</label>'
            '<input type="password" id="token" name="token" autocomplete="off" required '
            'spellcheck="false">'
            '<p class="hint">Create one with <code>rollout token create</code>. The token is '
            "checked and then forgotten; the session lasts 12 hours.</p>"
            '<button type="submit">Sign in</button></form>'
        )
        return render(request, viewer, "Sign in", body)

    async def form(request: Request) -> dict[str, str]:
        if not (request.headers.get("content-type") or "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return {}
        raw = (await request.body()).decode("utf-8", errors="replace")
        return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}

    @router.post("/login")
    async def login(request: Request) -> Response:
        viewer = signin.viewer(request)
        fields = await form(request)
        why = refusal(request, viewer.session, fields.get("csrf_token"), public_url)
        if why is not None:
            return refused(request, viewer, 403, why)
        if signin.header:
            return refused(request, viewer, 403, "sign-in is handled by the proxy")
        try:
            session = await run_in_threadpool(signin.sign_in, fields.get("token", ""))
        except RolloutError as exc:
            error = signin.new_session(flash=("error", exc.message))
            viewer = Viewer(error, None, "none", True)
            target = f"/login?next={quote(_safe_next(fields.get('next')), safe='/')}"
            return finish(request, viewer, RedirectResponse(target, 303))
        viewer = Viewer(session, session.member, "token", True)
        return finish(request, viewer, RedirectResponse(_safe_next(fields.get("next")), 303))

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        viewer = signin.viewer(request)
        fields = await form(request)
        why = refusal(request, viewer.session, fields.get("csrf_token"), public_url)
        if why is not None:
            return refused(request, viewer, 403, why)
        viewer = Viewer(signin.new_session(flash=("ok", "Signed out.")), None, "none", True)
        return finish(request, viewer, RedirectResponse("/login", 303))

    # --- actions -------------------------------------------------------------------------

    async def act(request: Request, back: str, action: Action) -> Response:
        viewer = signin.viewer(request)
        fields = await form(request)
        if viewer.member is None:
            return refused(request, viewer, 401, "sign in before approving, rejecting or holding")
        why = refusal(request, viewer.session, fields.get("csrf_token"), public_url)
        if why is not None:
            return refused(request, viewer, 403, why)
        who = VerifiedIdentity(
            viewer.member, "dashboard", f"dashboard-{uuid.uuid4()}", channel_user=viewer.member
        )
        try:
            outcome = await run_in_threadpool(action, who, fields)
            flash = ("ok", outcome.message)
        except RolloutError as exc:
            flash = ("error", exc.message)
        s = viewer.session
        session = signin.new_session(
            csrf=s.csrf, member=s.member, token_hash=s.token_hash, flash=flash, expires=s.expires
        )
        after = Viewer(session, viewer.member, viewer.via, True)
        return finish(request, after, RedirectResponse(_safe_next(back), 303))

    @router.post("/rollouts/{rollout_id}/approve")
    async def approve(rollout_id: str, request: Request) -> Response:
        return await act(
            request,
            f"/rollouts/{quote(rollout_id)}",
            lambda who, _f: ctx.approvals.approve(who, rollout_id),
        )

    @router.post("/rollouts/{rollout_id}/reject")
    async def reject(rollout_id: str, request: Request) -> Response:
        return await act(
            request,
            f"/rollouts/{quote(rollout_id)}",
            lambda who, f: ctx.approvals.reject(who, rollout_id, f.get("reason", "")[:2000]),
        )

    @router.post("/environments/{environment}/hold")
    async def hold(environment: str, request: Request) -> Response:
        back = request.headers.get("referer", "/")
        return await act(
            request,
            _local_path(back),
            lambda who, f: ctx.approvals.hold(who, environment, f.get("reason", "")[:2000] or None),
        )

    @router.post("/environments/{environment}/resume")
    async def resume(environment: str, request: Request) -> Response:
        back = request.headers.get("referer", "/")
        return await act(
            request, _local_path(back), lambda who, _f: ctx.approvals.resume(who, environment)
        )

    return router


def _local_path(url: str) -> str:
    parts = urlsplit(url)
    return _safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))
