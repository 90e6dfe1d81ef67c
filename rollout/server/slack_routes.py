"""Slack: the `/rollout` slash command, the Approve/Reject buttons, the Reject modal.

Every request is verified (v0 signature with slack_sdk, 5-minute timestamp
window) and remembered by its signature, so a replay is refused even within
those 5 minutes. Slack wants an answer within 3 seconds: checks and quick
reads answer at once; decisions are acknowledged at once and finished in a
background task that posts the result to the request's `response_url`.
Unknown users get an ephemeral answer and nothing changes.

A rejection needs a reason, which a button cannot carry: in bot-token mode
the Reject button opens a modal (`views.open`, after the click is
acknowledged) asking for one, and its `view_submission` rejects at once, so
a refusal can be shown in the modal itself (`response_action: errors`).
Without a bot token the button answers with the command to type.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError as PydanticValidationError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View
from slack_sdk.webhook import WebhookClient
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from rollout.approvals_service import Outcome
from rollout.core.approvals import VerifiedIdentity
from rollout.core.lifecycle import ACTIVE
from rollout.errors import (
    AuthError,
    InputError,
    NotificationError,
    RolloutError,
    SignatureError,
)
from rollout.notify.render import escape_slack
from rollout.notify.slack import APPROVE_ACTION, REJECT_ACTION
from rollout.server.auth import SlackVerifier
from rollout.server.context import ServerContext, SlackIntegration, ViewOpener
from rollout.server.payloads import SlackInteraction, parse_json, short_reason
from rollout.store.records import RolloutRecord

log = logging.getLogger(__name__)
# slack_sdk's debug lines carry request details; keep them out of our logs.
_sdk_log = logging.getLogger("rollout.server.slack_sdk")
_sdk_log.setLevel(logging.WARNING)

# The buttons are drawn by the Slack notifier; one name for both ends.
APPROVE_ACTION_ID = APPROVE_ACTION
REJECT_ACTION_ID = REJECT_ACTION
"""`action_id`s of the buttons on the rollout message; their `value` is the rollout id."""
REJECT_MODAL_ID = "rollout_reject_modal"
"""`callback_id` of the Reject modal; its `private_metadata` is the rollout id."""
REASON_BLOCK_ID = "reason"
REASON_ACTION_ID = "reason"
"""Where the modal's reason input sits (`view.state.values[block][action].value`)."""
REASON_MAX_CHARS = 2000
MAX_FORM_FIELDS = 100
"""Slack's forms have about 15 fields; more is not Slack."""

HELP = """\
`/rollout status [ID]` rollouts and what they wait for
`/rollout approve ID` approve a rollout
`/rollout reject ID REASON` reject it (ends the rollout)
`/rollout hold ENV [REASON]` freeze all applies to an environment
`/rollout resume ENV` lift the hold
`/rollout windows` the next apply windows
`/rollout help` this text"""


def post_to_response_url(url: str, payload: Mapping[str, Any]) -> None:
    """The default responder: slack_sdk's WebhookClient.

    Its logger is ours, kept at WARNING: slack_sdk logs the request URL at
    DEBUG, and a `response_url` lets whoever holds it post to the channel.
    """
    response = WebhookClient(url, timeout=10, logger=_sdk_log).send_dict(dict(payload))
    if response.status_code >= 300:
        log.warning("Slack response_url answered %s", response.status_code)


def slack_view_opener(api_url: str, token: str, timeout: int = 3) -> ViewOpener:
    """The default modal opener: slack_sdk's `WebClient.views_open` with the bot token.

    Raises NotificationError (secret-free) when Slack refuses (e.g. an expired
    trigger_id) or cannot be reached. No retries: a trigger lives 3 seconds.
    """
    client = WebClient(
        token=token, base_url=api_url, timeout=timeout, logger=_sdk_log, retry_handlers=[]
    )

    def open_view(trigger_id: str, view: Mapping[str, Any]) -> None:
        try:
            client.views_open(trigger_id=trigger_id, view=dict(view))
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            raise NotificationError(
                f"Slack refused views.open: {error or 'unknown error'}"
            ) from exc
        except OSError as exc:  # urllib: unreachable, timed out
            raise NotificationError(f"Slack views.open failed: {type(exc).__name__}") from exc

    return open_view


def reject_modal(rollout: RolloutRecord) -> dict[str, Any]:
    """The Reject modal for `rollout`: one required reason, the rollout id in its metadata."""
    first_line = (rollout.message or "").strip().split("\n", 1)[0]
    subject = escape_slack(first_line[:200])
    view = View(
        type="modal",
        callback_id=REJECT_MODAL_ID,
        private_metadata=rollout.id,
        title=PlainTextObject(text="Reject rollout"),
        submit=PlainTextObject(text="Reject"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=(
                        f"Reject `{rollout.id}` ({rollout.environment}, "
                        f"`{rollout.commit_sha[:8]}`)? This ends the rollout."
                        + (f"\n>{subject}" if subject else "")
                    )
                )
            ),
            InputBlock(
                block_id=REASON_BLOCK_ID,
                label=PlainTextObject(text="Reason"),
                hint=PlainTextObject(text="Recorded in the audit log and shown on the rollout."),
                element=PlainTextInputElement(
                    action_id=REASON_ACTION_ID,
                    multiline=True,
                    max_length=REASON_MAX_CHARS,
                ),
            ),
        ],
    )
    return view.to_dict()  # runs slack_sdk's validation


def _ephemeral(text: str, status_code: int = 200) -> JSONResponse:
    return JSONResponse({"response_type": "ephemeral", "text": text}, status_code=status_code)


def _modal_errors(message: str) -> JSONResponse:
    """Keeps the modal open with `message` under the reason field."""
    return JSONResponse({"response_action": "errors", "errors": {REASON_BLOCK_ID: message[:2000]}})


def slack_router(ctx: ServerContext) -> APIRouter:
    """`/slack/commands` and `/slack/interactions`; needs `ctx.slack`."""
    assert ctx.slack is not None
    slack: SlackIntegration = ctx.slack
    verifier = SlackVerifier(slack.signing_secret, ctx.clock)
    router = APIRouter(prefix="/slack", tags=["slack"])

    async def verified_form(request: Request) -> dict[str, str]:
        body = await request.body()
        signature = request.headers.get("x-slack-signature")
        verifier.verify(body, request.headers.get("x-slack-request-timestamp"), signature)
        assert signature is not None
        if not await run_in_threadpool(ctx.store.seen_request, "slack", signature):
            raise SignatureError("replayed request: this signature was already used")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("request body is not UTF-8") from None
        try:
            form = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
        except ValueError:
            raise InputError(f"more than {MAX_FORM_FIELDS} form fields") from None
        return {key: values[0] for key, values in form.items()}

    def identify(user_id: str, request_id: str) -> VerifiedIdentity | None:
        member = ctx.approvals.roster.by_slack_id(user_id)
        if member is None:
            return None
        return VerifiedIdentity(member.name, "slack", request_id, channel_user=user_id)

    async def unknown(user_id: str, request_id: str, action: str) -> JSONResponse:
        """Audit the attempt, change nothing, and tell the user why."""
        stranger = VerifiedIdentity(f"slack:{user_id}", "slack", request_id, channel_user=user_id)
        error = AuthError(f"Slack user {user_id} is not on the team roster")
        await run_in_threadpool(ctx.approvals.record_refusal, stranger, action, error)
        return _ephemeral(
            f"Sorry, Slack user {user_id} is not on the netpol-rollout team roster, "
            "so nothing was changed. Ask an admin to add your slack_id to the config."
        )

    def later(
        response_url: str, work: Callable[[], Outcome], ack: str = "Working on it…"
    ) -> JSONResponse:
        """Acknowledge now; run `work` after the response and post its result."""
        if not slack.allows_response_url(response_url):
            return _ephemeral("refused: response_url is not a Slack URL", 400)

        def finish() -> None:
            try:
                outcome = work()
                payload = {"response_type": "in_channel", "text": outcome.message}
            except RolloutError as exc:
                payload = {"response_type": "ephemeral", "text": f"Refused: {exc.message}"}
            except Exception:
                log.exception("Slack request failed")
                payload = {"response_type": "ephemeral", "text": "Internal error; see logs."}
            try:
                slack.respond(response_url, payload)
            except Exception:
                log.exception("posting to Slack's response_url failed")

        return JSONResponse(
            {"response_type": "ephemeral", "text": ack}, background=BackgroundTask(finish)
        )

    @router.post("/commands", summary="The /rollout slash command")
    async def command(request: Request) -> JSONResponse:
        form = await verified_form(request)
        user_id = form.get("user_id", "")
        request_id = form.get("trigger_id") or request.headers["x-slack-signature"]
        words = form.get("text", "").split()
        who = identify(user_id, request_id)
        if who is None:
            return await unknown(user_id, request_id, " ".join(words[:1]) or "help")
        verb, args = (words[0].lower(), words[1:]) if words else ("help", [])
        response_url = form.get("response_url", "")
        service = ctx.approvals
        if verb == "approve" and len(args) == 1:
            return later(response_url, lambda: service.approve(who, args[0]))
        if verb == "reject" and len(args) >= 2:
            reason = " ".join(args[1:])
            return later(response_url, lambda: service.reject(who, args[0], reason))
        if verb == "hold" and len(args) >= 1:
            why = " ".join(args[1:]) or None
            return later(response_url, lambda: service.hold(who, args[0], why))
        if verb == "resume" and len(args) == 1:
            return later(response_url, lambda: service.resume(who, args[0]))
        if verb == "status" and len(args) <= 1:
            try:
                text = await run_in_threadpool(status_text, ctx, args[0] if args else None)
            except RolloutError as exc:
                text = exc.message
            return _ephemeral(text)
        if verb == "windows" and not args:
            text = slack.windows_text() if slack.windows_text else "Windows are not available yet."
            return _ephemeral(text)
        if verb == "reject" and len(args) == 1:
            return _ephemeral(f"A rejection needs a reason: `/rollout reject {args[0]} REASON`")
        return _ephemeral(HELP)

    @router.post(
        "/interactions", summary="Approve/Reject buttons on the rollout message; the Reject modal"
    )
    async def interaction(request: Request) -> Response:
        form = await verified_form(request)
        if "payload" not in form:
            return _ephemeral("unsupported interaction: no payload", 400)
        try:
            payload = parse_json(SlackInteraction, form["payload"])
        except PydanticValidationError as exc:
            return _ephemeral(f"unsupported interaction: {short_reason(exc)}", 400)
        user_id = payload.user.id
        request_id = payload.trigger_id or request.headers["x-slack-signature"]
        if payload.type == "view_submission":
            return await reject_submission(payload, user_id, request_id)
        if not payload.actions:
            return _ephemeral("unsupported interaction: no actions", 400)
        action = payload.actions[0]
        action_id, rollout_id = action.action_id, action.value
        who = identify(user_id, request_id)
        if who is None:
            return await unknown(user_id, request_id, action_id)
        response_url = payload.response_url
        if action_id == APPROVE_ACTION_ID:
            return later(response_url, lambda: ctx.approvals.approve(who, rollout_id))
        if action_id == REJECT_ACTION_ID:
            return await reject_clicked(rollout_id, payload.trigger_id or "", response_url)
        return _ephemeral("unsupported action", 400)

    async def reject_clicked(rollout_id: str, trigger_id: str, response_url: str) -> Response:
        """Open the Reject modal (bot-token mode), else say which command to type."""
        typed = f"To reject, say why: `/rollout reject {rollout_id} REASON`. Nothing was changed."
        opener = slack.open_view
        if opener is None or not trigger_id:
            # A rejection must carry a reason, which a button cannot give.
            return _ephemeral(typed)
        try:
            rollout = await run_in_threadpool(ctx.approvals.rejectable, rollout_id)
        except RolloutError as exc:
            return _ephemeral(f"Refused: {exc.message}")
        view = reject_modal(rollout)

        def open_modal() -> None:
            try:
                opener(trigger_id, view)
                return
            except RolloutError as exc:
                log.warning("Reject modal not opened: %s", exc.message)
            except Exception:
                log.exception("opening the Reject modal failed")
            # No modal: say which command to type instead, where Slack allows.
            if slack.allows_response_url(response_url):
                try:
                    slack.respond(response_url, {"response_type": "ephemeral", "text": typed})
                except Exception:
                    log.exception("posting to Slack's response_url failed")

        # Acknowledge first (Slack's 3 seconds), then open: the trigger_id stays
        # valid for 3 seconds after the click.
        return Response(status_code=200, background=BackgroundTask(open_modal))

    async def reject_submission(
        payload: SlackInteraction, user_id: str, request_id: str
    ) -> Response:
        """The Reject modal's submission: reject now; a refusal keeps the modal open."""
        view = payload.view
        if view is None or view.callback_id != REJECT_MODAL_ID:
            return _ephemeral("unsupported view", 400)
        rollout_id = view.private_metadata
        field = view.state.values.get(REASON_BLOCK_ID, {}).get(REASON_ACTION_ID)
        if not rollout_id or field is None:
            return _ephemeral("unsupported view submission", 400)
        reason = field.value or ""
        who = identify(user_id, request_id)
        if who is None:
            await unknown(user_id, request_id, "reject")
            return _modal_errors(
                f"Slack user {user_id} is not on the netpol-rollout team roster; "
                "nothing was changed."
            )
        try:
            await run_in_threadpool(ctx.approvals.reject, who, rollout_id, reason)
        except RolloutError as exc:
            return _modal_errors(f"Refused: {exc.message}")
        return Response(status_code=200)  # an empty 200 closes the modal

    return router


def status_text(ctx: ServerContext, rollout_id: str | None) -> str:
    """One line per active rollout (or the one asked for), with what it waits for."""
    service = ctx.approvals
    if rollout_id is not None:
        rollouts = [service.rollout(rollout_id)]
    else:
        rollouts = ctx.store.list_rollouts(states=[s.value for s in ACTIVE], limit=20)
    if not rollouts:
        return "No active rollouts."
    lines = []
    for rollout in rollouts:
        line = f"`{rollout.id}` {rollout.commit_sha[:8]} {rollout.environment}: {rollout.state}"
        status = service.status(rollout) if rollout.state == "awaiting_approval" else None
        if status is not None:
            line += f" ({status.summary()})"
            line += "".join(f"\n    {reason}" for reason in status.reasons[1:])
        lines.append(line)
    held = [
        f"{env.name} is HELD by {hold.actor}" + (f": {hold.reason}" if hold.reason else "")
        for env in ctx.settings.environments
        if (hold := ctx.store.hold_of(env.name)) is not None and hold.held
    ]
    return "\n".join(lines + held)
