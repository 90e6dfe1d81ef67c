"""Slack: one message per rollout, updated in place, with details in its thread.

Bot mode (`bot_token` + `channel`, slack_sdk `WebClient`): the first delivered
event of a rollout posts the parent message; its `CHANNEL_ID/ts` becomes the
outbox item's external reference. Later events `chat.update` the parent (the
whole current picture) and post a short line in its thread. Incoming-webhook
mode (`webhook_url`): one message per event, no updates, no buttons.

slack_sdk's own retries are switched off: the outbox retries, so a 429 never
sleeps inside a request, and its loggers are capped at WARNING because their
debug lines contain the webhook URL.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.webhook import WebhookClient

from rollout.config.schema import SlackSettings
from rollout.core.events import EventType, RolloutEvent
from rollout.errors import ConfigError
from rollout.notify.digest import digest_slack_blocks, digest_summary_text
from rollout.notify.render import (
    STATUS,
    approval_pending,
    approvals_text,
    diff_text,
    escape_slack,
    fleet_text,
    lint_text,
    slack_date,
    smoke_text,
    status_line,
    utc_text,
)
from rollout.notify.worker import Delivery, DeliveryError

APPROVE_ACTION = "rollout_approve"
REJECT_ACTION = "rollout_reject"

_PERMANENT = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "missing_scope",
        "no_permission",
        "restricted_action",
    }
)
_PARENT_GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})

_sdk_log = logging.getLogger("rollout.notify.slack_sdk")
_sdk_log.setLevel(logging.WARNING)


# --- Block Kit -------------------------------------------------------------------


def _section(title: str, body: str | None) -> SectionBlock | None:
    if body is None:
        return None
    return SectionBlock(text=MarkdownTextObject(text=f"*{title}*\n{body}"[:3000]))


def rollout_blocks(event: RolloutEvent, *, buttons: bool) -> list[Block]:
    """The parent message: commit, author, diff, smoke, approvals, window, buttons."""
    emoji, _ = STATUS[event.type]
    commit = event.commit
    header = f"NetworkPolicy rollout {commit.short_sha}" if commit else "NetworkPolicy rollout"
    blocks: list[Block] = [HeaderBlock(text=header[:150])]
    summary = f"{emoji} *{escape_slack(status_line(event))}*"
    if commit and commit.title:
        summary += f"\n{escape_slack(commit.title)}"
    fields: list[MarkdownTextObject] = []
    if commit:
        fields.append(MarkdownTextObject(text=f"*Commit*\n`{commit.short_sha}`"))
        fields.append(MarkdownTextObject(text=f"*Author*\n{escape_slack(commit.author)}"))
    if event.environment:
        fields.append(MarkdownTextObject(text=f"*Environment*\n{event.environment}"))
    if event.rollout_id:
        fields.append(MarkdownTextObject(text=f"*Rollout*\n`{event.rollout_id}`"))
    blocks.append(SectionBlock(text=MarkdownTextObject(text=summary[:3000]), fields=fields or None))
    for title, body in (
        ("Connectivity diff", diff_text(event)),
        ("Lint", escape_slack(text) if (text := lint_text(event)) else None),
        ("Smoke tests", smoke_text(event)),
        ("Approvals", approvals_text(event)),
        (
            f"Clusters of {event.environment}",
            fleet_text(event.fleet, when=slack_date, escape=escape_slack) if event.fleet else None,
        ),
        (
            "Next window",
            f"{slack_date(event.next_window.start)} – {slack_date(event.next_window.end)}"
            if event.next_window
            else None,
        ),
        ("Reason", escape_slack(event.reason) if event.reason else None),
    ):
        block = _section(title, body)
        if block is not None:
            blocks.append(block)
    context = f"netpol-rollout · {utc_text(event.occurred_at)}"
    if event.url:
        context += f" · <{event.url}|details>"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=context)]))
    if buttons and approval_pending(event) and event.rollout_id:
        blocks.append(
            ActionsBlock(
                block_id="rollout_approval",
                elements=[
                    ButtonElement(
                        text="Approve",
                        action_id=APPROVE_ACTION,
                        value=event.rollout_id,
                        style="primary",
                    ),
                    ButtonElement(
                        text="Reject",
                        action_id=REJECT_ACTION,
                        value=event.rollout_id,
                        style="danger",
                    ),
                ],
            )
        )
    return blocks


def fallback_text(event: RolloutEvent) -> str:
    """The notification text (shown where blocks are not: push, screen readers)."""
    if event.type is EventType.REVIEW_DIGEST and event.digest is not None:
        return digest_summary_text(event.digest)
    sha = f" {event.commit.short_sha}" if event.commit else ""
    return f"NetworkPolicy rollout{sha}: {status_line(event)}"


def thread_text(event: RolloutEvent) -> str:
    """The thread reply for a stage: what happened, and why when there is a reason."""
    emoji, _ = STATUS[event.type]
    parts = [f"{emoji} {escape_slack(status_line(event))}"]
    for body in (
        diff_text(event) if event.type is EventType.ROLLOUT_VALIDATED else None,
        smoke_text(event)
        if event.type in (EventType.SMOKE_PASSED, EventType.SMOKE_FAILED)
        else None,
        approvals_text(event) if event.approvals and approval_pending(event) else None,
        f"Next window: {slack_date(event.next_window.start)}"
        if event.next_window and event.type is EventType.PRODUCTION_SCHEDULED
        else None,
        escape_slack(event.fleet.progress_text())
        if event.fleet
        and event.type
        in (EventType.WAVE_PASSED, EventType.PRODUCTION_APPLIED, EventType.PRODUCTION_FAILED)
        else None,
        escape_slack(event.reason) if event.reason else None,
    ):
        if body:
            parts.append(body)
    return "\n".join(parts)[:3900]


def _as_dicts(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]


# --- the channel --------------------------------------------------------------------


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return str(value[0] if isinstance(value, list) else value)
    return None


def _retry_after(headers: Mapping[str, Any] | None) -> float | None:
    value = _header(headers, "Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class SlackChannel:
    """Delivers events to Slack; raises DeliveryError (secret-free) on failure."""

    def __init__(self, settings: SlackSettings, *, timeout: float = 10.0) -> None:
        self._settings = settings
        self._timeout = max(1, round(timeout))
        self._secret_values: list[str] = []
        self._client: WebClient | None = None
        self._webhook: WebhookClient | None = None

    def secrets(self) -> Sequence[str]:
        # A missing secret is reported by deliver(); nothing resolved, nothing to scrub.
        with contextlib.suppress(ConfigError):
            self._connect()
        return tuple(self._secret_values)

    def _connect(self) -> None:
        if self._client is not None or self._webhook is not None:
            return
        settings = self._settings
        if settings.bot_token is not None:
            token = settings.bot_token.resolve()
            self._secret_values.append(token)
            self._client = WebClient(
                token=token,
                base_url=settings.api_url,
                timeout=self._timeout,
                logger=_sdk_log,
                retry_handlers=[],
            )
        else:
            assert settings.webhook_url is not None
            url = settings.webhook_url.resolve()
            self._secret_values.append(url)
            self._webhook = WebhookClient(
                url=url, timeout=self._timeout, logger=_sdk_log, retry_handlers=[]
            )

    def deliver(self, delivery: Delivery) -> str | None:
        try:
            self._connect()
            if self._client is not None:
                return self._deliver_bot(self._client, delivery)
            assert self._webhook is not None
            self._deliver_webhook(self._webhook, delivery.event)
            return None
        except DeliveryError:
            raise
        except ConfigError as exc:
            raise DeliveryError(f"Slack is misconfigured: {exc}") from None
        except SlackApiError as exc:
            status = int(getattr(exc.response, "status_code", 0) or 0)
            code = str(exc.response.get("error", "")) if exc.response is not None else ""
            headers = getattr(exc.response, "headers", None)
            raise DeliveryError(
                f"Slack refused the message: HTTP {status} {code or 'error'}",
                retry_after=_retry_after(headers) if status == 429 else None,
                permanent=code in _PERMANENT,
            ) from None
        except Exception as exc:  # network errors, timeouts, unparsable responses
            raise DeliveryError(f"Slack unreachable: {type(exc).__name__}: {exc}") from None

    # bot mode

    def _deliver_bot(self, client: WebClient, delivery: Delivery) -> str | None:
        event = delivery.event
        channel = self._settings.channel
        assert channel is not None
        if event.type is EventType.REVIEW_DIGEST and event.digest is not None:
            client.chat_postMessage(
                channel=channel,
                text=fallback_text(event),
                blocks=_as_dicts(digest_slack_blocks(event.digest)),
            )
            return None
        blocks = _as_dicts(rollout_blocks(event, buttons=True))
        if event.rollout_id is None:  # drift: a standalone message
            client.chat_postMessage(channel=channel, text=fallback_text(event), blocks=blocks)
            return None
        parent = _parse_ref(delivery.external_ref)
        if parent is not None:
            channel_id, ts = parent
            try:
                client.chat_update(
                    channel=channel_id, ts=ts, text=fallback_text(event), blocks=blocks
                )
            except SlackApiError as exc:
                if exc.response is None or exc.response.get("error") not in _PARENT_GONE:
                    raise
                parent = None  # deleted or too old to edit: start a new parent
            else:
                client.chat_postMessage(channel=channel_id, thread_ts=ts, text=thread_text(event))
                return delivery.external_ref
        response = client.chat_postMessage(
            channel=channel, text=fallback_text(event), blocks=blocks
        )
        return f"{response['channel']}/{response['ts']}"

    # incoming-webhook mode

    def _deliver_webhook(self, webhook: WebhookClient, event: RolloutEvent) -> None:
        if event.type is EventType.REVIEW_DIGEST and event.digest is not None:
            blocks = digest_slack_blocks(event.digest)
        else:
            blocks = rollout_blocks(event, buttons=False)
        response = webhook.send(text=fallback_text(event), blocks=blocks)
        if response.status_code != 200:
            raise DeliveryError(
                f"Slack webhook refused the message: HTTP {response.status_code} "
                f"{response.body[:200]}",
                retry_after=_retry_after(response.headers) if response.status_code == 429 else None,
                permanent=response.status_code in (400, 403, 404, 410),
            )


def _parse_ref(ref: str | None) -> tuple[str, str] | None:
    if not ref or "/" not in ref:
        return None
    channel_id, ts = ref.split("/", 1)
    return channel_id, ts
